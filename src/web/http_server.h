#pragma once
// lvsd's HTTP listener (global_defs `http_listen`, lvsd --http-listen): cpp-httplib's server on
// its own accept thread with a pool of kThreads request threads (never a data-plane worker),
// answering every request through web::respond(). Requests read the Director, which is
// internally synchronized. Limits: headers up to cpp-httplib's 8 KiB (more: 400 or closed),
// 2 s read/write and keep-alive timeouts (a waiting connection holds a pool thread), at most 5
// requests per kept-alive connection, no request body beyond 64 KiB (writes take at most 4 KiB,
// web/write_api.h). Every write attempt is logged at info with the peer address.

#include <memory>
#include <thread>

#include "core/endpoint.h"
#include "core/result.h"
#include "web/routes.h"

namespace httplib {
class Server;
}

namespace lvs::web {

class HttpServer {
 public:
  static constexpr std::size_t kThreads = 2;

  // Binds `listen` (an error names the address and why) and starts serving.
  static core::Result<std::unique_ptr<HttpServer>> start(const core::Endpoint& listen,
                                                         Sources sources);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops accepting, finishes the requests in flight, joins the threads (idempotent).
  void stop();
  const core::Endpoint& address() const { return listen_; }

 private:
  HttpServer(const core::Endpoint& listen, Sources sources);

  core::Endpoint listen_;
  Sources sources_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_{};
};

}  // namespace lvs::web
