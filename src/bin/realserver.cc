#include "bin/realserver.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "core/fd.h"
#include "dp/proxy/net.h"

namespace lvs::bin {

namespace {

using core::fail;
using core::Result;

constexpr std::size_t kMaxHead = 16384;       // a longer request head gets 431
constexpr std::size_t kMaxPending = 1048576;  // stop reading while this much output waits
constexpr std::size_t kReadChunk = 16384;
constexpr int kBacklog = 512;
constexpr int kMaxEvents = 64;

Result<void> errno_failure(std::string what) {
  const int err = errno;
  return fail(err, fmt::format("{}: {}", what, std::strerror(err)));
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when the comma-separated header value lists `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// A socket bound to `ep` without SO_REUSEPORT: a port someone else holds is an error here, so
// two demos can never share a realserver port silently.
Result<core::Fd> bind_socket(dp::proxy::SockType type, const core::Endpoint& ep) {
  const bool stream = type == dp::proxy::SockType::kStream;
  const char* proto = stream ? "TCP" : "UDP";
  core::Fd fd(::socket(dp::proxy::family_of(ep),
                       (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) {
    auto r = errno_failure(fmt::format("cannot create a {} socket for {}", proto, ep.to_string()));
    return core::Unexpected{r.error()};
  }
  const int one = 1;
  if (stream) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (!ep.addr.is_v4()) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  const auto sa = dp::proxy::to_sockaddr(ep);
  if (::bind(fd.get(), sa.get(), sa.len) != 0) {
    auto r = errno_failure(fmt::format("cannot bind {} {}", proto, ep.to_string()));
    return core::Unexpected{r.error()};
  }
  if (stream && ::listen(fd.get(), kBacklog) != 0) {
    auto r = errno_failure(fmt::format("cannot listen on TCP {}", ep.to_string()));
    return core::Unexpected{r.error()};
  }
  return fd;
}

// One accepted TCP connection.
struct Conn {
  core::Fd fd{};
  std::string in{};                // HTTP: bytes not parsed yet
  std::string out{};               // bytes not written yet
  std::size_t body_left = 0;       // HTTP: request body bytes still to skip
  bool close_after_flush = false;  // HTTP: the last answer said "Connection: close"
  bool peer_done = false;          // the client sent FIN
  std::uint32_t events = 0;        // what epoll watches for it now
};

class Server {
 public:
  explicit Server(const RealserverConfig& cfg) : cfg_(cfg) {}

  Result<void> open(std::FILE* ready_out);
  Result<void> run();

 private:
  Result<void> watch(int fd, std::uint32_t events, int op);
  void accept_all();
  void serve_udp();
  // NAME, or "NAME peer=ADDR:PORT" with --report-peer.
  std::string answer_name(const dp::proxy::SockAddr& peer) const {
    if (!cfg_.report_peer) return cfg_.name;
    return fmt::format("{} peer={}", cfg_.name, dp::proxy::from_sockaddr(peer.storage).to_string());
  }
  // Reads, answers and writes for one connection; false when it was closed.
  bool on_conn(Conn& c, std::uint32_t events);
  bool read_some(Conn& c);
  void answer_http(Conn& c);
  void respond(Conn& c, std::string_view status, bool keep_alive, bool head_only,
               std::string_view body);
  bool flush(Conn& c);

  const RealserverConfig& cfg_;
  core::Fd epoll_{};
  core::Fd signals_{};
  core::Fd tcp_{};
  core::Fd udp_{};
  std::unordered_map<int, Conn> conns_{};
  std::vector<char> buf_ = std::vector<char>(65536);
};

Result<void> Server::watch(int fd, std::uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) return errno_failure("epoll_ctl");
  return {};
}

Result<void> Server::open(std::FILE* ready_out) {
  epoll_ = core::Fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) return errno_failure("epoll_create1");
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  signals_ = core::Fd(::signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals_) return errno_failure("signalfd");
  if (auto r = watch(signals_.get(), EPOLLIN, EPOLL_CTL_ADD); !r) return r;

  std::string ready = "ready";
  if (cfg_.tcp) {
    auto fd = bind_socket(dp::proxy::SockType::kStream, *cfg_.tcp);
    if (!fd) return core::Unexpected{fd.error()};
    tcp_ = std::move(*fd);
    auto ep = dp::proxy::local_endpoint(tcp_.get());
    if (!ep) return core::Unexpected{ep.error()};
    ready += fmt::format(" tcp={}", ep->to_string());
    if (auto r = watch(tcp_.get(), EPOLLIN, EPOLL_CTL_ADD); !r) return r;
  }
  if (cfg_.udp) {
    auto fd = bind_socket(dp::proxy::SockType::kDatagram, *cfg_.udp);
    if (!fd) return core::Unexpected{fd.error()};
    udp_ = std::move(*fd);
    auto ep = dp::proxy::local_endpoint(udp_.get());
    if (!ep) return core::Unexpected{ep.error()};
    ready += fmt::format(" udp={}", ep->to_string());
    if (auto r = watch(udp_.get(), EPOLLIN, EPOLL_CTL_ADD); !r) return r;
  }
  std::fprintf(ready_out, "%s\n", ready.c_str());
  std::fflush(ready_out);
  return {};
}

Result<void> Server::run() {
  std::array<epoll_event, kMaxEvents> events{};
  for (;;) {
    const int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_failure("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const auto& ev = events[static_cast<std::size_t>(i)];
      const int fd = ev.data.fd;
      if (fd == signals_.get()) return {};
      if (fd == tcp_.get()) {
        accept_all();
      } else if (fd == udp_.get()) {
        serve_udp();
      } else if (auto it = conns_.find(fd); it != conns_.end()) {
        if (!on_conn(it->second, ev.events)) conns_.erase(it);
      }
    }
  }
}

void Server::accept_all() {
  for (;;) {
    dp::proxy::SockAddr peer;
    peer.len = sizeof(peer.storage);
    core::Fd fd(::accept4(tcp_.get(), peer.get(), &peer.len, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;  // EAGAIN, or a connection that died in the queue: nothing to do
    const int key = fd.get();
    Conn c{.fd = std::move(fd)};
    if (cfg_.tcp_protocol == TcpProtocol::kEcho) c.out = answer_name(peer) + "\n";
    auto [it, inserted] = conns_.emplace(key, std::move(c));
    if (!inserted) continue;  // impossible: the kernel reuses a number only after close
    it->second.events = EPOLLIN | EPOLLRDHUP;
    if (!watch(key, it->second.events, EPOLL_CTL_ADD)) {
      conns_.erase(it);
      continue;
    }
    if (!on_conn(it->second, 0)) conns_.erase(it);
  }
}

void Server::serve_udp() {
  for (;;) {
    dp::proxy::SockAddr peer;
    peer.len = sizeof(peer.storage);
    const ssize_t n = ::recvfrom(udp_.get(), buf_.data(), buf_.size(), 0, peer.get(), &peer.len);
    if (n < 0) return;  // EAGAIN; other errors concern one peer only
    std::string reply = answer_name(peer) + ": ";
    reply.append(buf_.data(), static_cast<std::size_t>(n));
    // Best effort like any UDP server: a full socket buffer drops the answer.
    ::sendto(udp_.get(), reply.data(), reply.size(), MSG_DONTWAIT, peer.get(), peer.len);
  }
}

bool Server::read_some(Conn& c) {
  while (!c.peer_done && c.out.size() < kMaxPending && c.in.size() <= kMaxHead) {
    const ssize_t n = ::read(c.fd.get(), buf_.data(), kReadChunk);
    if (n > 0) {
      auto& into = cfg_.tcp_protocol == TcpProtocol::kEcho ? c.out : c.in;
      into.append(buf_.data(), static_cast<std::size_t>(n));
      if (cfg_.tcp_protocol == TcpProtocol::kHttp) answer_http(c);
      if (c.close_after_flush) return true;
    } else if (n == 0) {
      c.peer_done = true;
    } else {
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
  }
  return true;
}

void Server::respond(Conn& c, std::string_view status, bool keep_alive, bool head_only,
                     std::string_view body) {
  c.out += fmt::format(
      "HTTP/1.1 {}\r\nServer: lvs-realserver\r\nContent-Type: text/plain\r\n"
      "Content-Length: {}\r\nConnection: {}\r\n\r\n",
      status, body.size(), keep_alive ? "keep-alive" : "close");
  if (!head_only) c.out += body;
  if (!keep_alive) c.close_after_flush = true;
}

void Server::answer_http(Conn& c) {
  while (!c.close_after_flush && !c.in.empty()) {
    if (c.body_left > 0) {
      const std::size_t skip = std::min(c.body_left, c.in.size());
      c.in.erase(0, skip);
      c.body_left -= skip;
      continue;
    }
    const HttpHead head = parse_http_head(c.in);
    if (head.parse == HttpParse::kIncomplete) {
      if (c.in.size() > kMaxHead) {
        respond(c, "431 Request Header Fields Too Large", false, false, "request head too long\n");
      }
      return;
    }
    if (head.parse == HttpParse::kBad) {
      respond(c, "400 Bad Request", false, false, "not an HTTP/1.x request\n");
      return;
    }
    c.in.erase(0, head.length);
    if (head.chunked) {
      respond(c, "501 Not Implemented", false, false, "chunked request bodies are not supported\n");
      return;
    }
    c.body_left = head.content_length;
    respond(c, "200 OK", head.keep_alive, head.head_only, cfg_.name + "\n");
  }
}

bool Server::flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.out.erase(0, static_cast<std::size_t>(n));
  }
  return true;
}

bool Server::on_conn(Conn& c, std::uint32_t events) {
  if ((events & EPOLLERR) != 0) return false;
  if (!read_some(c) || !flush(c)) return false;
  const bool done_reading = c.peer_done || c.close_after_flush;
  if (done_reading && c.out.empty()) return false;               // everything answered: close
  if ((events & EPOLLHUP) != 0 && !c.out.empty()) return false;  // nobody left to write to
  std::uint32_t want = 0;
  if (!done_reading && c.out.size() < kMaxPending && c.in.size() <= kMaxHead) {
    want |= EPOLLIN | EPOLLRDHUP;
  }
  if (!c.out.empty()) want |= EPOLLOUT;
  if (want != c.events) {
    if (!watch(c.fd.get(), want, EPOLL_CTL_MOD)) return false;
    c.events = want;
  }
  return true;
}

}  // namespace

HttpHead parse_http_head(std::string_view in) {
  HttpHead head;
  std::size_t pos = 0;
  // RFC 9112 2.2: ignore empty lines before the request line.
  while (pos < in.size() && (in[pos] == '\r' || in[pos] == '\n')) ++pos;
  bool first = true;
  bool version_1_1 = false;
  std::optional<bool> connection;  // what a Connection header asked for
  for (;;) {
    const auto nl = in.find('\n', pos);
    if (nl == std::string_view::npos) return head;  // kIncomplete
    std::string_view line = in.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (first) {
      first = false;
      const auto sp1 = line.find(' ');
      const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp1 == 0 || sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        head.parse = HttpParse::kBad;
        return head;
      }
      const std::string_view method = line.substr(0, sp1);
      const std::string_view version = line.substr(sp2 + 1);
      if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        head.parse = HttpParse::kBad;
        return head;
      }
      version_1_1 = version == "HTTP/1.1";
      head.head_only = method == "HEAD";
      continue;
    }
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      head.parse = HttpParse::kBad;
      return head;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "connection")) {
      if (has_token(value, "close")) {
        connection = false;
      } else if (has_token(value, "keep-alive")) {
        connection = true;
      }
    } else if (iequals(name, "content-length")) {
      std::size_t n = 0;
      const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc{} || ptr != value.data() + value.size()) {
        head.parse = HttpParse::kBad;
        return head;
      }
      head.content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      head.chunked = has_token(value, "chunked");
    }
  }
  head.parse = HttpParse::kComplete;
  head.length = pos;
  head.keep_alive = connection.value_or(version_1_1);
  return head;
}

Result<void> serve_realserver(const RealserverConfig& cfg, std::FILE* ready_out) {
  Server server(cfg);
  if (auto r = server.open(ready_out); !r) return r;
  return server.run();
}

Result<void> query_udp(const RealserverConfig& cfg, std::FILE* out) {
  const auto sa = dp::proxy::to_sockaddr(cfg.target);
  const std::string target = cfg.target.to_string();
  std::vector<char> buf(65536);
  for (std::uint32_t i = 1; i <= cfg.count; ++i) {
    // A new socket per datagram: a new source port, so a director sees a new flow each time.
    core::Fd fd(::socket(dp::proxy::family_of(cfg.target), SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_failure("cannot create a UDP socket");
    if (::connect(fd.get(), sa.get(), sa.len) != 0) {
      return errno_failure(fmt::format("cannot address {}", target));
    }
    if (::send(fd.get(), cfg.message.data(), cfg.message.size(), 0) < 0) {
      return errno_failure(fmt::format("cannot send to {}", target));
    }
    pollfd p{.fd = fd.get(), .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, static_cast<int>(cfg.wait.count()));
    if (ready < 0) return errno_failure("poll");
    if (ready == 0) {
      return fail(ETIMEDOUT, fmt::format("no reply from {} within {}ms (datagram {} of {})", target,
                                         cfg.wait.count(), i, cfg.count));
    }
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == ECONNREFUSED) {
        return fail(ECONNREFUSED,
                    fmt::format("{} refused the datagram: nothing listens there", target));
      }
      return errno_failure(fmt::format("cannot receive from {}", target));
    }
    std::string_view reply(buf.data(), static_cast<std::size_t>(n));
    if (reply.ends_with('\n')) reply.remove_suffix(1);
    std::fprintf(out, "%.*s\n", static_cast<int>(reply.size()), reply.data());
  }
  std::fflush(out);
  return {};
}

}  // namespace lvs::bin
