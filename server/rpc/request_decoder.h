// Request decoding done by wasikv instead of gRPC's generated path.
//
// When gRPC's callback layer cannot parse a request (a proto3 `string` field
// holding invalid UTF-8, bytes that are not protobuf at all) it answers
// UNIMPLEMENTED with an empty message, which a client reads as "this server
// lacks the method". The services therefore take the request bytes (see
// DecodingService) and parse them here, so such a request is
// INVALID_ARGUMENT with a message naming the field at fault:
//   "entries[2].key: not valid UTF-8 (at byte 3 of the field)"
//
// The parse itself is the one gRPC would have run; the diagnosis walks the
// wire format only after a parse failed, so the hot path costs nothing more.
#ifndef WASIKV_SERVER_RPC_REQUEST_DECODER_H_
#define WASIKV_SERVER_RPC_REQUEST_DECODER_H_

#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace wasikv {

// Parses `raw` into `request`; INVALID_ARGUMENT naming the field if it does
// not parse. `raw` is read, not consumed.
absl::Status DecodeRequest(const grpc::ByteBuffer& raw, google::protobuf::Message* request);

// Why `bytes` does not parse as a `type`: INVALID_ARGUMENT naming the first
// string field that is not UTF-8 or the first malformed field (its path,
// like "entries[2].key", or "field 7" for one `type` does not declare), or
// naming the request as a whole when no single field is at fault. OK if
// nothing wrong is found. Exposed for tests and the fuzzer.
absl::Status DiagnoseUndecodable(const google::protobuf::Descriptor& type, std::string_view bytes);

}  // namespace wasikv

#endif  // WASIKV_SERVER_RPC_REQUEST_DECODER_H_
