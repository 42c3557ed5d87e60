#pragma once
// lvsd's HTTP listener (global_defs `http_listen`, lvsd --http-listen): cpp-httplib's server on
// its own accept thread with a pool of kThreads request threads (never a data-plane worker),
// answering every request through web::respond(). Requests read the Director, which is
// internally synchronized. Limits: headers up to cpp-httplib's 8 KiB (more: 400 or closed),
// 2 s read/write and keep-alive timeouts (a waiting connection holds a pool thread), at most 5
// requests per kept-alive connection, no request body beyond 64 KiB (writes take at most 4 KiB,
// web/write_api.h). It also runs the status page's Sampler (web/history.h, its own thread): every
// `history.interval` it records the listing for GET /api/v1/history.

#include <memory>
#include <thread>

#include "core/endpoint.h"
#include "core/result.h"
#include "web/history.h"
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
                                                         Sources sources,
                                                         HistoryOptions history = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops the sampler and accepting, finishes the requests in flight, joins the threads
  // (idempotent).
  void stop();
  const core::Endpoint& address() const { return listen_; }

 private:
  HttpServer(const core::Endpoint& listen, Sources sources, HistoryOptions history);

  core::Endpoint listen_;
  std::unique_ptr<HistoryLog> history_;
  std::unique_ptr<Sampler> sampler_{};
  Sources sources_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_{};
};

}  // namespace lvs::web
