// AdminHttpServer serves wasikvd's operator endpoints over plain HTTP/1.1 on
// --admin-listen (loopback by default):
//   GET /metrics  every metric, in the Prometheus text format
//   GET /healthz  200 while the process runs (liveness: a draining server is
//                 still alive)
//   GET /readyz   200 while the server takes calls, 503 once it is starting
//                 to shut down (readiness: take it out of rotation)
// HEAD works on each; other methods are 405, other paths 404.
//
// Built on Boost.Beast, on one Asio thread of its own, so a slow scraper
// never holds a gRPC or store thread. Network input is untrusted: request
// headers are capped at 8 KiB and bodies refused, every connection has a
// deadline for each request and reply, and connections beyond a cap are
// closed at once.
//
// Thread safety: Start and Stop from one thread; address() from any. The
// handlers run on the server's thread and must not block for long.
#ifndef WASIKV_SERVER_ADMIN_ADMIN_HTTP_SERVER_H_
#define WASIKV_SERVER_ADMIN_ADMIN_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"

namespace wasikv {

class AdminHttpServer {
 public:
  struct Handlers {
    std::function<std::string()> metrics;  // the /metrics body
    std::function<bool()> ready;           // /readyz
  };

  // Binds `listen` (HOST:PORT; port 0 picks one) and serves on a new thread.
  static absl::StatusOr<std::unique_ptr<AdminHttpServer>> Start(const std::string& listen,
                                                                Handlers handlers);
  AdminHttpServer(const AdminHttpServer&) = delete;
  AdminHttpServer& operator=(const AdminHttpServer&) = delete;
  // Stops serving (Stop()).
  ~AdminHttpServer();

  // The bound address, with the real port.
  const std::string& address() const { return address_; }

  // Closes the listener and every connection and joins the thread.
  void Stop();

 private:
  class Connection;
  explicit AdminHttpServer(Handlers handlers);
  void Accept();

  const Handlers handlers_;
  // Connections count themselves out as io_ destroys the handlers it still
  // holds, so this outlives io_.
  int open_connections_ = 0;  // on the io thread only
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::string address_;
  std::thread thread_;
};

}  // namespace wasikv

#endif  // WASIKV_SERVER_ADMIN_ADMIN_HTTP_SERVER_H_
