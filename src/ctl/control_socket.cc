#include "ctl/control_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/log.h"

namespace lvs::ctl {

namespace {

using Clock = std::chrono::steady_clock;

void put_u32(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v >> 24 & 0xFFU));
  out.push_back(static_cast<char>(v >> 16 & 0xFFU));
  out.push_back(static_cast<char>(v >> 8 & 0xFFU));
  out.push_back(static_cast<char>(v & 0xFFU));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  out.append(bytes);
}

std::string frame(const std::string& body) {
  std::string out(kFrameMagic);
  put_u32(out, static_cast<std::uint32_t>(body.size()));
  return out + body;
}

// Reads the body front to back; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view body) : rest_(body) {}
  bool u32(std::uint32_t& v) {
    if (rest_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i)
      v = v << 8 | static_cast<std::uint8_t>(rest_[static_cast<std::size_t>(i)]);
    rest_.remove_prefix(4);
    return true;
  }
  bool bytes(std::string& out) {
    std::uint32_t n = 0;
    if (!u32(n) || rest_.size() < n) return false;
    out.assign(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }
  bool done() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

core::Unexpected malformed(std::string_view what) {
  return core::fail(EPROTO, fmt::format("malformed message: {}", what));
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long>(left.count(), 60'000));
}

// Waits until `fd` is ready for `events`, the deadline passes (ETIMEDOUT) or `stop` becomes
// readable (ECANCELED).
core::Result<void> wait_for(int fd, short events, Clock::time_point deadline, int stop) {
  for (int round = 0; round < 1'000'000; ++round) {
    pollfd fds[2] = {{.fd = fd, .events = events, .revents = 0},
                     {.fd = stop, .events = POLLIN, .revents = 0}};
    const int ms = remaining_ms(deadline);
    const int n = ::poll(fds, stop >= 0 ? 2 : 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return core::fail(errno, fmt::format("poll: {}", std::strerror(errno)));
    if (stop >= 0 && fds[1].revents != 0) return core::fail(ECANCELED, "stopping");
    if (fds[0].revents != 0) return {};
    if (ms == 0) return core::fail(ETIMEDOUT, "timed out");
  }
  return core::fail(ETIMEDOUT, "timed out");
}

core::Result<std::string> read_exact(int fd, std::size_t n, Clock::time_point deadline, int stop) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, out.data() + got, n - got, MSG_DONTWAIT);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) return core::fail(ECONNRESET, "the peer closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return core::fail(errno, fmt::format("recv: {}", std::strerror(errno)));
    }
    if (auto w = wait_for(fd, POLLIN, deadline, stop); !w) return core::Unexpected{w.error()};
  }
  return out;
}

core::Result<void> write_all(int fd, std::string_view data, Clock::time_point deadline, int stop) {
  while (!data.empty()) {
    const ssize_t r = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r > 0) {
      data.remove_prefix(static_cast<std::size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return core::fail(errno, fmt::format("send: {}", std::strerror(errno)));
    }
    if (auto w = wait_for(fd, POLLOUT, deadline, stop); !w) return w;
  }
  return {};
}

core::Result<sockaddr_un> unix_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
    return core::fail(ENAMETOOLONG, fmt::format("control socket path '{}' must have 1..{} bytes",
                                                path, sizeof(sa.sun_path) - 1));
  }
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

core::Result<core::Fd> connect_unix(const std::string& path) {
  auto sa = unix_address(path);
  if (!sa) return core::Unexpected{sa.error()};
  core::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return core::fail(errno, fmt::format("socket: {}", std::strerror(errno)));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    return core::fail(errno, std::strerror(errno));
  }
  return fd;
}

Reply error_reply(std::string_view what) {
  return Reply{.exit_code = 1, .err = fmt::format("lvsd: {}\n", what)};
}

}  // namespace

std::string encode_request(const Request& req) {
  std::string body;
  put_u32(body, static_cast<std::uint32_t>(req.argv.size()));
  for (const auto& w : req.argv) put_bytes(body, w);
  put_bytes(body, req.input);
  return frame(body);
}

std::string encode_reply(const Reply& reply) {
  std::string body;
  put_u32(body, static_cast<std::uint32_t>(reply.exit_code));
  put_bytes(body, reply.out);
  put_bytes(body, reply.err);
  return frame(body);
}

core::Result<std::size_t> decode_header(std::string_view header, std::size_t limit) {
  if (header.size() != kFrameHeader || header.substr(0, 4) != kFrameMagic) {
    return malformed("the frame does not start with \"LVS1\"");
  }
  Reader r(header.substr(4));
  std::uint32_t n = 0;
  if (!r.u32(n)) return malformed("short header");
  if (n > limit) {
    return core::fail(EMSGSIZE,
                      fmt::format("message of {} bytes exceeds the limit of {} bytes", n, limit));
  }
  return std::size_t{n};
}

core::Result<Request> decode_request(std::string_view body) {
  Reader r(body);
  std::uint32_t argc = 0;
  if (!r.u32(argc)) return malformed("no argument count");
  if (argc == 0 || argc > kMaxArgs) {
    return malformed(fmt::format("argument count {} is not in 1..{}", argc, kMaxArgs));
  }
  Request req;
  req.argv.resize(argc);
  for (auto& w : req.argv) {
    if (!r.bytes(w)) return malformed("an argument runs past the end");
  }
  if (!r.bytes(req.input)) return malformed("the input runs past the end");
  if (!r.done()) return malformed("bytes after the input");
  return req;
}

core::Result<Reply> decode_reply(std::string_view body) {
  Reader r(body);
  std::uint32_t code = 0;
  Reply reply;
  if (!r.u32(code) || code > 255) return malformed("bad exit code");
  reply.exit_code = static_cast<int>(code);
  if (!r.bytes(reply.out) || !r.bytes(reply.err) || !r.done()) {
    return malformed("bad output fields");
  }
  return reply;
}

std::string control_socket_path(std::string_view flag) {
  if (!flag.empty()) return std::string(flag);
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read once at startup
  if (const char* env = std::getenv("LVSD_SOCKET"); env != nullptr && *env != '\0') return env;
  return std::string(kDefaultSocketPath);
}

ControlServer::ControlServer(std::string path, Handler handler,
                             std::chrono::milliseconds io_timeout)
    : path_(std::move(path)), handler_(std::move(handler)), io_timeout_(io_timeout) {}

core::Result<std::unique_ptr<ControlServer>> ControlServer::start(
    const std::string& path, Handler handler, std::chrono::milliseconds io_timeout) {
  auto sa = unix_address(path);
  if (!sa) return core::Unexpected{sa.error()};
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return core::fail(errno, fmt::format("cannot create the control socket directory {}: {}",
                                           dir.string(), std::strerror(errno)));
    }
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return core::fail(EEXIST, fmt::format("{} exists and is not a socket", path));
    }
    if (connect_unix(path)) {
      return core::fail(EADDRINUSE, fmt::format("another lvsd is listening on {}", path));
    }
    ::unlink(path.c_str());  // stale: its daemon is gone
  }
  std::unique_ptr<ControlServer> s(new ControlServer(path, std::move(handler), io_timeout));
  s->listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s->listener_) return core::fail(errno, fmt::format("socket: {}", std::strerror(errno)));
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::bind(s->listener_.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof(*sa)) != 0) {
    return core::fail(
        errno, fmt::format("cannot bind the control socket {}: {}", path, std::strerror(errno)));
  }
  // Mode 0600 before listen(): nobody can connect in between.
  if (::chmod(path.c_str(), 0600) != 0 || ::listen(s->listener_.get(), 16) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return core::fail(e, fmt::format("control socket {}: {}", path, std::strerror(e)));
  }
  int p[2] = {-1, -1};
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::unlink(path.c_str());
    return core::fail(errno, fmt::format("pipe: {}", std::strerror(errno)));
  }
  s->stop_r_.reset(p[0]);
  s->stop_w_.reset(p[1]);
  s->thread_ = std::thread([raw = s.get()] { raw->run(); });
  return s;
}

ControlServer::~ControlServer() { stop(); }

void ControlServer::stop() {
  if (!thread_.joinable()) return;
  const char c = 'x';
  [[maybe_unused]] const ssize_t n = ::write(stop_w_.get(), &c, 1);
  thread_.join();
  ::unlink(path_.c_str());
}

void ControlServer::run() {
  for (;;) {
    pollfd fds[2] = {{.fd = listener_.get(), .events = POLLIN, .revents = 0},
                     {.fd = stop_r_.get(), .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      core::log().error("control socket: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    core::Fd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (client) serve(std::move(client));
  }
}

void ControlServer::serve(core::Fd client) {
  const auto deadline = Clock::now() + io_timeout_;
  const int stop = stop_r_.get();
  const auto send = [&](const Reply& r) {
    if (auto w = write_all(client.get(), encode_reply(r), Clock::now() + io_timeout_, stop); !w) {
      core::log().warn("control socket: dropped a client: {}", w.error().message);
    }
  };
  auto header = read_exact(client.get(), kFrameHeader, deadline, stop);
  if (!header) {
    core::log().warn("control socket: dropped a client: {}", header.error().message);
    return;
  }
  auto size = decode_header(*header, kMaxRequest);
  if (!size) return send(error_reply(size.error().message));
  auto body = read_exact(client.get(), *size, deadline, stop);
  if (!body) {
    core::log().warn("control socket: dropped a client: {}", body.error().message);
    return;
  }
  auto req = decode_request(*body);
  if (!req) return send(error_reply(req.error().message));
  send(handler_(*req));
}

core::Result<Reply> call_control(const std::string& path, const Request& req,
                                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto fd = connect_unix(path);
  if (!fd) return core::Unexpected{fd.error()};
  const std::string out = encode_request(req);
  if (auto w = write_all(fd->get(), out, deadline, -1); !w) return core::Unexpected{w.error()};
  auto header = read_exact(fd->get(), kFrameHeader, deadline, -1);
  if (!header) return core::Unexpected{header.error()};
  auto size = decode_header(*header, kMaxReply);
  if (!size) return core::Unexpected{size.error()};
  auto body = read_exact(fd->get(), *size, deadline, -1);
  if (!body) return core::Unexpected{body.error()};
  return decode_reply(*body);
}

}  // namespace lvs::ctl
