#include "loopback.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <stdexcept>

#include "dp/proxy/net.h"

namespace lvs::testing {

namespace {

using dp::proxy::SockAddr;

core::Fd bound_socket(int type, const std::string& ip) {
  const auto ep = core::Endpoint::parse(ip + ":0");
  if (!ep) throw std::runtime_error(ep.error().message);
  const SockAddr sa = dp::proxy::to_sockaddr(*ep);
  core::Fd fd(::socket(dp::proxy::family_of(*ep), type | SOCK_CLOEXEC, 0));
  if (!fd || ::bind(fd.get(), sa.get(), sa.len) != 0) throw std::runtime_error("bind " + ip);
  return fd;
}

void make_stop_pipe(core::Fd& r, core::Fd& w) {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  r.reset(fds[0]);
  w.reset(fds[1]);
}

// xorshift64*: a cheap deterministic byte stream; FNV-1a over what passes.
struct Stream {
  std::uint64_t state;
  std::uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 2685821657736338717ULL;
  }
};
void fnv(std::uint64_t& h, const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ULL;
  }
}
constexpr std::uint64_t kFnvBasis = 14695981039346656037ULL;

}  // namespace

NameServer::NameServer(std::string name, const std::string& ip) : name_(std::move(name)) {
  listener_ = bound_socket(SOCK_STREAM, ip);
  if (::listen(listener_.get(), 4096) != 0) throw std::runtime_error("listen");
  addr_ = *dp::proxy::local_endpoint(listener_.get());
  make_stop_pipe(stop_r_, stop_w_);
  thread_ = std::thread([this] { run(); });
}

NameServer::~NameServer() {
  if (thread_.joinable()) {
    [[maybe_unused]] auto n = ::write(stop_w_.get(), "s", 1);
    thread_.join();
  }
}

void NameServer::kill() {
  if (!thread_.joinable()) return;
  [[maybe_unused]] auto n = ::write(stop_w_.get(), "k", 1);
  thread_.join();
}

void NameServer::run() {
  std::map<int, core::Fd> conns;
  std::vector<pollfd> pfds;
  std::array<char, 65536> buf{};
  const std::string greeting = name_ + "\n";
  for (;;) {
    pfds.clear();
    pfds.push_back({.fd = stop_r_.get(), .events = POLLIN, .revents = 0});
    pfds.push_back({.fd = listener_.get(), .events = POLLIN, .revents = 0});
    for (const auto& [fd, c] : conns) pfds.push_back({.fd = fd, .events = POLLIN, .revents = 0});
    if (::poll(pfds.data(), pfds.size(), -1) < 0) continue;
    if (pfds[0].revents != 0) {
      char cmd = 's';
      [[maybe_unused]] auto n = ::read(stop_r_.get(), &cmd, 1);
      for (auto& [fd, c] : conns) {
        if (cmd == 'k') dp::proxy::abort_fd(c);
      }
      conns.clear();
      listener_.reset();
      open_ = 0;
      return;
    }
    if (pfds[1].revents != 0) {
      core::Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (c) {
        ::send(c.get(), greeting.data(), greeting.size(), MSG_NOSIGNAL);
        const int fd = c.get();
        conns.emplace(fd, std::move(c));
        ++open_;
      }
    }
    for (std::size_t i = 2; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      const ssize_t n = ::recv(pfds[i].fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) {
        ::send(pfds[i].fd, buf.data(), static_cast<std::size_t>(n), MSG_NOSIGNAL);
      } else if (n == 0 || errno != EAGAIN) {
        conns.erase(pfds[i].fd);
        --open_;
      }
    }
  }
}

UdpNameServer::UdpNameServer(std::string name, const std::string& ip) : name_(std::move(name)) {
  sock_ = bound_socket(SOCK_DGRAM, ip);
  addr_ = *dp::proxy::local_endpoint(sock_.get());
  make_stop_pipe(stop_r_, stop_w_);
  thread_ = std::thread([this] { run(); });
}

UdpNameServer::~UdpNameServer() {
  [[maybe_unused]] auto n = ::write(stop_w_.get(), "s", 1);
  thread_.join();
}

void UdpNameServer::run() {
  std::array<char, 2048> buf{};
  for (;;) {
    std::array<pollfd, 2> pfds{{{.fd = stop_r_.get(), .events = POLLIN, .revents = 0},
                                {.fd = sock_.get(), .events = POLLIN, .revents = 0}}};
    if (::poll(pfds.data(), pfds.size(), -1) < 0) continue;
    if (pfds[0].revents != 0) return;
    SockAddr from;
    from.len = sizeof(from.storage);
    const ssize_t n =
        ::recvfrom(sock_.get(), buf.data(), buf.size(), MSG_DONTWAIT, from.get(), &from.len);
    if (n < 0) continue;
    const std::string reply = name_ + ":" + std::string(buf.data(), static_cast<std::size_t>(n));
    ::sendto(sock_.get(), reply.data(), reply.size(), 0, from.get(), from.len);
  }
}

TransferResult transfer(int fd, std::uint64_t bytes, std::uint64_t seed, bool send_after_eof) {
  TransferResult res;
  res.sent_hash = kFnvBasis;
  res.received_hash = kFnvBasis;
  Stream gen{seed | 1};
  std::vector<char> out(65536);
  std::size_t out_off = 0;
  std::size_t out_len = 0;
  std::uint64_t sent = 0;
  bool eof = false;
  bool shut = false;
  std::vector<char> in(65536);
  const int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  while (!eof || !shut) {
    const bool may_send = !shut && (!send_after_eof || eof);
    if (may_send && out_off == out_len && sent < bytes) {
      out_len = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), bytes - sent));
      for (std::size_t i = 0; i < out_len; i += 8) {
        const std::uint64_t v = gen.next();
        std::copy_n(reinterpret_cast<const char*>(&v), std::min<std::size_t>(8, out_len - i),
                    out.data() + i);
      }
      fnv(res.sent_hash, out.data(), out_len);
      out_off = 0;
    }
    if (may_send && out_off == out_len && sent == bytes) {
      ::shutdown(fd, SHUT_WR);
      shut = true;
      continue;
    }
    pollfd p{.fd = fd, .events = 0, .revents = 0};
    if (!eof) p.events |= POLLIN;
    if (may_send && out_off < out_len) p.events |= POLLOUT;
    if (::poll(&p, 1, kWaitMs) <= 0) return res;
    if ((p.revents & POLLIN) != 0 || (p.revents & (POLLERR | POLLHUP)) != 0) {
      const ssize_t n = ::recv(fd, in.data(), in.size(), 0);
      if (n < 0 && errno != EAGAIN) return res;
      if (n == 0) eof = true;
      if (n > 0) {
        fnv(res.received_hash, in.data(), static_cast<std::size_t>(n));
        res.received_bytes += static_cast<std::uint64_t>(n);
      }
    }
    if ((p.revents & POLLOUT) != 0) {
      const ssize_t n = ::send(fd, out.data() + out_off, out_len - out_off, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN) return res;
      if (n > 0) {
        out_off += static_cast<std::size_t>(n);
        sent += static_cast<std::uint64_t>(n);
      }
    }
  }
  ::fcntl(fd, F_SETFL, flags);
  res.ok = true;
  return res;
}

core::Fd connect_tcp(const core::Endpoint& to) {
  const SockAddr sa = dp::proxy::to_sockaddr(to);
  core::Fd fd(::socket(dp::proxy::family_of(to), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::connect(fd.get(), sa.get(), sa.len) != 0) return core::Fd{};
  return fd;
}

core::Fd connect_tcp_from(const core::Endpoint& to, const std::string& source_ip) {
  const SockAddr sa = dp::proxy::to_sockaddr(to);
  const SockAddr src = dp::proxy::to_sockaddr(*core::Endpoint::parse(source_ip));
  core::Fd fd(::socket(dp::proxy::family_of(to), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || ::bind(fd.get(), src.get(), src.len) != 0 ||
      ::connect(fd.get(), sa.get(), sa.len) != 0) {
    return core::Fd{};
  }
  return fd;
}

std::string read_line(int fd) {
  std::string line;
  for (int i = 0; i < 4096; ++i) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, kWaitMs) <= 0) return "";
    char c = 0;
    if (::recv(fd, &c, 1, 0) != 1) return "";
    if (c == '\n') return line;
    line.push_back(c);
  }
  return line;
}

int wait_closed(int fd) {
  std::array<char, 4096> buf{};
  for (int i = 0; i < 1024; ++i) {
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, kWaitMs) <= 0) return -1;
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n == 0) return 0;
    if (n < 0 && errno != EAGAIN) return errno;
  }
  return -1;
}

core::Fd udp_socket(const std::string& ip) { return bound_socket(SOCK_DGRAM, ip); }

std::string udp_ask(int fd, const core::Endpoint& to, const std::string& payload) {
  const SockAddr sa = dp::proxy::to_sockaddr(to);
  if (::sendto(fd, payload.data(), payload.size(), 0, sa.get(), sa.len) < 0) return "";
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, kWaitMs) <= 0) return "";
  std::array<char, 2048> buf{};
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0) return "";
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

}  // namespace lvs::testing
