#include "server/rpc/request_decoder.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "server/common/str_cat.h"

namespace wasikv {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

// protobuf's own default nesting limit.
constexpr int kMaxDepth = 100;

struct Fault {
  std::string path;
  std::string what;
};

std::string FieldPath(std::string_view parent, const FieldDescriptor* field, int number,
                      int occurrence) {
  std::string path(parent);
  if (!path.empty()) path += '.';
  if (field == nullptr) return StrCat(path, "field ", number);
  path += field->name();
  if (field->is_repeated()) path += StrCat("[", occurrence, "]");
  return path;
}

// The first fault in one message's wire format, walked as protobuf's parser
// walks it; nested messages are walked in turn.
std::optional<Fault> FindFault(const Descriptor& type, std::string_view bytes,
                               std::string_view parent, int depth) {
  if (depth > kMaxDepth) return Fault{std::string(parent), "nested too deeply"};
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  std::map<int, int> occurrences;
  while (true) {
    const int offset = in.CurrentPosition();
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (static_cast<size_t>(in.CurrentPosition()) == bytes.size()) return std::nullopt;
      return Fault{std::string(parent), StrCat("malformed field tag at byte ", offset)};
    }
    const int wire_type = WireFormatLite::GetTagWireType(tag);
    if (wire_type > WireFormatLite::WIRETYPE_FIXED32) {
      return Fault{std::string(parent), StrCat("wire type ", wire_type, " at byte ", offset)};
    }
    if (wire_type == WireFormatLite::WIRETYPE_END_GROUP) {
      return Fault{std::string(parent), StrCat("end of a group never started, at byte ", offset)};
    }
    const int number = WireFormatLite::GetTagFieldNumber(tag);
    if (number == 0) {
      return Fault{std::string(parent), StrCat("field number 0 at byte ", offset)};
    }
    const FieldDescriptor* field = type.FindFieldByNumber(number);
    const std::string path = FieldPath(parent, field, number, occurrences[number]++);
    if (wire_type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      if (!WireFormatLite::SkipField(&in, tag)) return Fault{path, "truncated or malformed"};
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return Fault{path, "truncated length"};
    const size_t start = static_cast<size_t>(in.CurrentPosition());
    if (length > bytes.size() - start) {
      return Fault{path, StrCat("length ", length, " runs past the end of the request")};
    }
    const std::string_view value = bytes.substr(start, length);
    in.Skip(static_cast<int>(length));
    // A declared field sent with another wire type is an unknown field to
    // protobuf, and so it is here: only the declared type is checked.
    if (field == nullptr) continue;
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      // The very check protobuf's parser applies to proto3 strings.
      const int valid = google::protobuf::internal::UTF8SpnStructurallyValid(value);
      if (static_cast<size_t>(valid) != value.size()) {
        return Fault{path, StrCat("not valid UTF-8 (at byte ", valid, " of ", value.size(),
                                  "); keys, bucket names, prefixes and cursors are UTF-8 text")};
      }
    } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
      if (auto fault = FindFault(*field->message_type(), value, path, depth + 1)) return fault;
    }
  }
}

}  // namespace

absl::Status DiagnoseUndecodable(const Descriptor& type, std::string_view bytes) {
  std::optional<Fault> fault = FindFault(type, bytes, "", 0);
  if (!fault) return absl::OkStatus();
  if (fault->path.empty()) {
    return absl::InvalidArgumentError(
        StrCat("request: not a valid ", type.full_name(), " (", fault->what, ")"));
  }
  return absl::InvalidArgumentError(StrCat(fault->path, ": ", fault->what));
}

absl::Status DecodeRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* request) {
  // ProtoBufferReader only reads the buffer, but takes it by pointer to
  // non-const (as in gRPC's own deserializer); a copy would cost a refcount
  // round on every slice of every request.
  grpc::ProtoBufferReader reader(const_cast<grpc::ByteBuffer*>(&raw));
  if (reader.status().ok() && request->ParseFromZeroCopyStream(&reader)) {
    return absl::OkStatus();
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (raw.Dump(&slices).ok()) {
    for (const grpc::Slice& slice : slices) {
      bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
    }
  }
  absl::Status diagnosis = DiagnoseUndecodable(*request->GetDescriptor(), bytes);
  if (!diagnosis.ok()) return diagnosis;
  return absl::InvalidArgumentError(
      StrCat("request: not a valid ", request->GetDescriptor()->full_name()));
}

}  // namespace wasikv
