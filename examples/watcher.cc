// watcher: prints every change to a bucket, or to the keys under a prefix,
// until Ctrl-C.
//
//   watcher [--endpoint HOST:PORT] [--from REVISION] BUCKET [PREFIX]
//
// Restart the server while it runs: the subscription reconnects by itself
// and resumes right after the last revision it delivered, so nothing is
// missed or printed twice.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <string>

#include "example_args.h"
#include "wasikv/client.h"

constexpr char kUsage[] =
    "usage: watcher [--endpoint HOST:PORT] [--from REVISION] BUCKET [PREFIX]\n"
    "Prints the changes to BUCKET (keys starting with PREFIX) until Ctrl-C.\n";

// A signal handler may only do async-signal-safe things: set a flag that the
// main loop checks.
volatile std::sig_atomic_t stop_requested = 0;
extern "C" void RequestStop(int) { stop_requested = 1; }

void Print(const wasikv::WatchEvent& event) {
  std::cout << "revision " << event.revision << ": ";
  switch (event.type) {
    case wasikv::WatchEvent::Type::kSet:
      std::cout << "set " << event.key << " = " << event.value << "\n";
      break;
    case wasikv::WatchEvent::Type::kDelete:
      std::cout << "delete " << event.key << "\n";
      break;
    case wasikv::WatchEvent::Type::kBucketDeleted:
      std::cout << "bucket deleted\n";
      break;
  }
}

int main(int argc, char** argv) {
  auto args = wasikv_examples::ParseArgs(argc, argv, kUsage);
  if (!args || args->positional.empty() || args->positional.size() > 2) {
    if (args) std::cerr << kUsage;
    return 2;
  }
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);

  wasikv::ClientOptions options;
  options.endpoint = args->endpoint;
  auto client = wasikv::Client::Create(options);
  if (!client.ok()) {
    std::cerr << "watcher: " << client.status() << "\n";
    return 1;
  }

  wasikv::WatchOptions watch;
  watch.bucket = args->positional[0];
  watch.prefix = args->positional.size() > 1 ? args->positional[1] : "";
  // 0 starts with the changes after the subscription; an older revision
  // replays history first (as far as the server's change log reaches).
  const auto from = wasikv_examples::ParseNumber<uint64_t>(args->Flag("from", "0"));
  if (!from) {
    std::cerr << "watcher: --from must be a revision number\n" << kUsage;
    return 2;
  }
  watch.start_revision = *from;

  // Without a WatchHandler, the subscription buffers batches for Next().
  auto subscription = (*client)->Watch(watch);
  if (!subscription.ok()) {
    std::cerr << "watcher: " << subscription.status() << "\n";
    return 1;
  }
  std::cerr << "watching " << watch.bucket << (watch.prefix.empty() ? "" : "/" + watch.prefix)
            << " on " << args->endpoint << "; Ctrl-C to stop\n";

  while (!stop_requested) {
    // A short timeout keeps Ctrl-C responsive; nullopt just means "nothing
    // new yet". The server being down is not an error here: the
    // subscription keeps reconnecting with backoff.
    auto next = (*subscription)->Next(std::chrono::milliseconds(200));
    if (!next.ok()) {
      // The end, for good. OUT_OF_RANGE means the change log no longer holds
      // the revision to resume from: list the keys again, then watch from
      // the listing's revision + 1.
      std::cerr << "watcher: subscription ended: " << next.status() << "\n";
      return 1;
    }
    if (!next->has_value()) continue;
    for (const wasikv::WatchEvent& event : (*next)->events) Print(event);
    std::cout.flush();  // so a pipe reader sees each batch at once
  }
  // Everything up to revision() has been printed: that is where to resume.
  const uint64_t revision = (*subscription)->revision();
  (*subscription)->Cancel();
  std::cerr << "stopped; resume with --from " << revision + 1 << "\n";
  return 0;
}
