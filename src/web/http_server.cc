#include "web/http_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <httplib.h>

#include "core/log.h"

namespace lvs::web {

namespace {

constexpr std::size_t kMaxBody = std::size_t{64} * 1024;

}  // namespace

HttpServer::HttpServer(const core::Endpoint& listen, Sources sources, HistoryOptions history)
    : listen_(listen),
      history_(std::make_unique<HistoryLog>(history)),
      sources_(std::move(sources)),
      server_(std::make_unique<httplib::Server>()) {
  if (!sources_.history) sources_.history = [log = history_.get()] { return log->json(); };
}

HttpServer::~HttpServer() { stop(); }

core::Result<std::unique_ptr<HttpServer>> HttpServer::start(const core::Endpoint& listen,
                                                            Sources sources,
                                                            HistoryOptions history) {
  std::unique_ptr<HttpServer> s(new HttpServer(listen, std::move(sources), history));
  httplib::Server& srv = *s->server_;
  srv.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  srv.set_payload_max_length(kMaxBody);
  // A connection holds a pool thread while it waits: idle or slow clients let go of it soon.
  srv.set_read_timeout(2, 0);
  srv.set_write_timeout(2, 0);
  srv.set_keep_alive_timeout(2);
  const auto handle = [self = s.get()](const httplib::Request& req, httplib::Response& res) {
    const std::string authorization = req.get_header_value("Authorization");
    const std::string content_type = req.get_header_value("Content-Type");
    const HttpResponse r = respond(HttpRequest{.method = req.method,
                                               .path = req.path,
                                               .authorization = authorization,
                                               .content_type = content_type,
                                               .body = req.body},
                                   self->sources_);
    if (!r.audit.empty()) {
      core::log().info("http: write from {}:{}: {}", req.remote_addr, req.remote_port, r.audit);
    }
    res.status = r.status;
    if (!r.allow.empty()) res.set_header("Allow", r.allow);
    for (const auto& [name, value] : r.headers) res.set_header(name, value);
    if (!r.www_authenticate.empty()) res.set_header("WWW-Authenticate", r.www_authenticate);
    res.set_content(r.body, r.content_type.c_str());
  };
  const std::string any = ".*";
  srv.Get(any, handle);
  srv.Post(any, handle);
  srv.Put(any, handle);
  srv.Patch(any, handle);
  srv.Delete(any, handle);
  srv.Options(any, handle);
  errno = 0;
  if (!srv.bind_to_port(listen.addr.to_string(), listen.port)) {
    const int err = errno;
    return core::fail(err != 0 ? err : EADDRNOTAVAIL,
                      fmt::format("http_listen {}: cannot listen: {}", listen.to_string(),
                                  err != 0 ? std::strerror(err) : "bind failed"));
  }
  s->thread_ = std::thread([srv_ptr = s->server_.get()] { srv_ptr->listen_after_bind(); });
  if (s->sources_.listing) {
    s->sampler_ =
        std::make_unique<Sampler>(*s->history_, s->sources_.listing, history.interval, unix_now_ms);
  }
  core::log().info("lvsd: HTTP (status page /, /metrics, /api/v1/services) on {}",
                   listen.to_string());
  return s;
}

void HttpServer::stop() {
  if (sampler_) sampler_->stop();
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace lvs::web
