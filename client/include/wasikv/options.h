// Options of a wasikv::Client: where to connect, how to authenticate, and
// how long and how often to try.
#ifndef WASIKV_OPTIONS_H_
#define WASIKV_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace wasikv {

// Retries of calls that are safe to repeat (reads, Set, Delete, batches,
// bucket reads and deletes) after UNAVAILABLE or RESOURCE_EXHAUSTED from an
// overloaded server. Increment, CompareAndSwap and CreateBucket are never
// retried: a lost reply would make a retry apply twice or fail confusingly.
// Backoff is exponential and jittered (a random wait between half and all
// of the current backoff, so clients that failed together spread out), and
// every attempt shares the call's one deadline.
struct RetryPolicy {
  int max_attempts = 5;  // 1 disables retries
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  double backoff_multiplier = 2.0;
};

// Transport security, for a wasikvd run with --tls-cert-file (TLS) and
// --tls-client-ca-file (mutual TLS). With use_tls=false the channel is
// plaintext (the local default) and the other fields must be empty. The PEM
// fields hold PEM text, not file paths: Client::Create refuses a field
// without its PEM marker with INVALID_ARGUMENT naming it.
struct TlsOptions {
  bool use_tls = false;
  // PEM roots to verify the server; empty uses the system's roots.
  std::string root_certs_pem;
  // PEM client certificate chain and private key, for mutual TLS; both or
  // neither.
  std::string client_cert_chain_pem;
  std::string client_private_key_pem;
  // Name to verify in the server certificate, if not the endpoint's host
  // (e.g. dialling an IP whose certificate names only kv.internal).
  std::string server_name_override;
};

struct ClientOptions {
  // "host:port", or any gRPC target ("dns:///kv.example:50051").
  std::string endpoint = "127.0.0.1:50051";
  TlsOptions tls;
  // Sent as "authorization: Bearer <token>" on every call, if not empty.
  std::string bearer_token;
  // Deadline of a call that does not set its own.
  std::chrono::milliseconds default_deadline{10000};
  RetryPolicy retry;
  // HTTP/2 keepalive pings, so dead connections (and watches on them) are
  // noticed: ping after this long idle, give up after the timeout.
  std::chrono::milliseconds keepalive_time{30000};
  std::chrono::milliseconds keepalive_timeout{10000};
  // Largest message the client sends or receives.
  int max_message_bytes = 64 << 20;
};

// Per-call overrides.
struct CallOptions {
  // 0: ClientOptions::default_deadline.
  std::chrono::milliseconds deadline{0};
  // Override retries for this call (still never for non-idempotent calls).
  bool no_retry = false;
};

}  // namespace wasikv

#endif  // WASIKV_OPTIONS_H_
