// batch_import: loads key<TAB>value lines into a bucket with SetMany.
//
//   batch_import [--endpoint HOST:PORT] BUCKET [FILE]    (no FILE or "-": stdin)
//
// Each SetMany commits all its keys at one revision, or none of them. The
// import as a whole is not atomic: when it fails, the batches printed before
// are committed and the rest are not, so it is safe to run it again.
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "example_args.h"
#include "wasikv/client.h"

constexpr char kUsage[] =
    "usage: batch_import [--endpoint HOST:PORT] BUCKET [FILE]\n"
    "Reads key<TAB>value lines from FILE (default: stdin) and writes them in batches.\n";

// The server takes up to 1024 entries and 16 MiB per batch (by default);
// staying well under both keeps every batch valid.
constexpr size_t kBatchEntries = 500;
constexpr size_t kBatchBytes = 8 << 20;

int main(int argc, char** argv) {
  auto args = wasikv_examples::ParseArgs(argc, argv, kUsage);
  if (!args || args->positional.empty() || args->positional.size() > 2) {
    if (args) std::cerr << kUsage;
    return 2;
  }
  const std::string path = args->positional.size() > 1 ? args->positional[1] : "-";
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) {
      std::cerr << "batch_import: cannot open " << path << "\n";
      return 1;
    }
  }
  std::istream& in = path == "-" ? std::cin : file;

  wasikv::ClientOptions options;
  options.endpoint = args->endpoint;
  auto client = wasikv::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "batch_import: " << client.status() << "\n";
    return 1;
  }
  wasikv::Bucket bucket = (*client)->bucket(args->positional[0]);

  std::vector<wasikv::KeyValue> batch;
  size_t batch_bytes = 0;
  int batches = 0;
  uint64_t imported = 0;
  // Sends the pending batch. SetMany may be retried by the client after a
  // transient failure: writing the same values twice is harmless.
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    auto revision = bucket.SetMany(batch);
    if (!revision.ok()) {
      // INVALID_ARGUMENT names the offending field and limit, e.g. a key
      // longer than the server allows.
      std::cerr << "batch_import: batch " << batches + 1 << ": " << revision.status() << "\n";
      return false;
    }
    ++batches;
    imported += batch.size();
    std::cout << "batch " << batches << ": " << batch.size() << " keys at revision " << *revision
              << "\n";
    batch.clear();
    batch_bytes = 0;
    return true;
  };

  std::string line;
  for (uint64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      std::cerr << "batch_import: line " << number << " has no tab; " << imported
                << " keys were imported before it\n";
      return 1;
    }
    if (batch.size() == kBatchEntries || batch_bytes + line.size() > kBatchBytes) {
      if (!flush()) return 1;
    }
    batch_bytes += line.size();
    batch.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  if (!flush()) return 1;
  std::cout << "imported " << imported << " keys in " << batches << " batches\n";
  return 0;
}
