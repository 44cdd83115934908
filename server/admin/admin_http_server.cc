#include "server/admin/admin_http_server.h"

#include <chrono>
#include <optional>

#include "boost/asio/post.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "server/common/str_cat.h"
#include "server/common/thread_name.h"

namespace wasikv {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// A request must arrive, and a reply leave, within this.
constexpr auto kIoTimeout = std::chrono::seconds(10);
constexpr size_t kMaxHeaderBytes = 8 << 10;
// Scrapers and probes need a handful; more is a misbehaving client.
constexpr int kMaxConnections = 64;

// HOST:PORT or [V6HOST]:PORT.
absl::StatusOr<tcp::endpoint> ParseEndpoint(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError(
        StrCat("--admin-listen: '", listen, "' is not HOST:PORT (e.g. 127.0.0.1:50052), or off"));
  }
  std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(host, port, tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    return absl::InvalidArgumentError(StrCat("--admin-listen: cannot resolve '", listen,
                                             "': ", ec ? ec.message() : "no address"));
  }
  return results.begin()->endpoint();
}

}  // namespace

// One client connection: reads requests and answers them in turn until the
// client closes, breaks the protocol or times out.
class AdminHttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(AdminHttpServer* server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    ++server_->open_connections_;
  }
  ~Connection() { --server_->open_connections_; }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(0);
    stream_.expires_after(kIoTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->Answer();
                     });
  }

 private:
  void Answer() {
    const http::request<http::empty_body>& request = parser_->get();
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request.version());
    response->keep_alive(request.keep_alive());
    response->set(http::field::server, "wasikvd");
    response->set(http::field::content_type, "text/plain; charset=utf-8");
    const std::string_view target(request.target().data(), request.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response->result(http::status::method_not_allowed);
      response->set(http::field::allow, "GET, HEAD");
      response->body() = "only GET and HEAD\n";
    } else if (path == "/metrics") {
      response->result(http::status::ok);
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response->body() = server_->handlers_.metrics();
    } else if (path == "/healthz") {
      response->result(http::status::ok);
      response->body() = "ok\n";
    } else if (path == "/readyz") {
      const bool ready = server_->handlers_.ready();
      response->result(ready ? http::status::ok : http::status::service_unavailable);
      response->body() = ready ? "ready\n" : "not ready: shutting down\n";
    } else {
      response->result(http::status::not_found);
      response->body() = "not found; try /metrics, /healthz or /readyz\n";
    }
    response->prepare_payload();
    // HEAD keeps the Content-Length of the GET it stands for.
    if (request.method() == http::verb::head) response->body().clear();
    stream_.expires_after(kIoTimeout);
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec || !response->keep_alive()) {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                          return;
                        }
                        self->Read();
                      });
  }

  AdminHttpServer* const server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kMaxHeaderBytes};
  std::optional<http::request_parser<http::empty_body>> parser_;
};

AdminHttpServer::AdminHttpServer(Handlers handlers) : handlers_(std::move(handlers)) {}

absl::StatusOr<std::unique_ptr<AdminHttpServer>> AdminHttpServer::Start(const std::string& listen,
                                                                        Handlers handlers) {
  absl::StatusOr<tcp::endpoint> endpoint = ParseEndpoint(listen);
  if (!endpoint.ok()) return endpoint.status();
  std::unique_ptr<AdminHttpServer> server(new AdminHttpServer(std::move(handlers)));
  boost::system::error_code ec;
  tcp::acceptor& acceptor = server->acceptor_;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        StrCat("cannot listen on admin address '", listen, "': ", ec.message(),
               " (--admin-listen=HOST:PORT picks another; off disables)"));
  }
  const tcp::endpoint bound = acceptor.local_endpoint();
  const std::string host = bound.address().is_v6() ? StrCat("[", bound.address().to_string(), "]")
                                                   : bound.address().to_string();
  server->address_ = StrCat(host, ":", bound.port());
  server->Accept();
  server->thread_ = std::thread([raw = server.get()] {
    SetCurrentThreadName("wasikv-admin");
    raw->io_.run();
  });
  return server;
}

AdminHttpServer::~AdminHttpServer() { Stop(); }

void AdminHttpServer::Accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed by Stop()
    if (open_connections_ < kMaxConnections) {
      std::make_shared<Connection>(this, std::move(socket))->Read();
    }  // else the socket closes here
    Accept();
  });
}

void AdminHttpServer::Stop() {
  if (!thread_.joinable()) return;
  // Stopping the loop drops every pending handler and with it each
  // connection, whose socket closes.
  boost::asio::post(io_, [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    io_.stop();
  });
  thread_.join();
}

}  // namespace wasikv
