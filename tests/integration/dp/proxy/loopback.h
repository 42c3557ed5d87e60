#pragma once
// Loopback test fixtures: realservers that answer with their own name, bulk transfer peers,
// blocking clients. Everything binds port 0 on 127.0.0.x; every wait is a poll() with a bound.

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "core/endpoint.h"
#include "core/fd.h"

namespace lvs::testing {

inline constexpr int kWaitMs = 10'000;  // upper bound of any single wait

// A TCP realserver: greets each connection with "<name>\n", then echoes what it reads.
class NameServer {
 public:
  NameServer(std::string name, const std::string& ip);
  ~NameServer();
  NameServer(const NameServer&) = delete;
  NameServer& operator=(const NameServer&) = delete;

  const core::Endpoint& addr() const { return addr_; }
  const std::string& name() const { return name_; }
  std::size_t open() const { return open_.load(); }
  // Resets (RST) every open connection and stops; returns once done.
  void kill();

 private:
  void run();
  std::string name_;
  core::Endpoint addr_{};
  core::Fd listener_{};
  core::Fd stop_r_{};
  core::Fd stop_w_{};
  std::atomic<std::size_t> open_{0};
  std::thread thread_{};
};

// A UDP realserver: answers each datagram with "<name>:<payload>".
class UdpNameServer {
 public:
  UdpNameServer(std::string name, const std::string& ip);
  ~UdpNameServer();
  UdpNameServer(const UdpNameServer&) = delete;
  UdpNameServer& operator=(const UdpNameServer&) = delete;
  const core::Endpoint& addr() const { return addr_; }

 private:
  void run();
  std::string name_;
  core::Endpoint addr_{};
  core::Fd sock_{};
  core::Fd stop_r_{};
  core::Fd stop_w_{};
  std::thread thread_{};
};

struct TransferResult {
  bool ok = false;  // finished before any wait ran out, without a socket error
  std::uint64_t sent_hash = 0;
  std::uint64_t received_bytes = 0;
  std::uint64_t received_hash = 0;
};

// Sends `bytes` pseudo-random bytes (from `seed`) then shuts down writing, while reading
// until EOF. With `send_after_eof`, sending starts only once the peer's FIN arrived.
TransferResult transfer(int fd, std::uint64_t bytes, std::uint64_t seed, bool send_after_eof);

core::Fd connect_tcp(const core::Endpoint& to);
// Connects from `source_ip` (port 0), as a client of another network would.
core::Fd connect_tcp_from(const core::Endpoint& to, const std::string& source_ip);
// Reads one '\n'-terminated line (without it); "" on EOF, error or timeout.
std::string read_line(int fd);
// Waits for the connection to end; returns recv()'s errno (ECONNRESET) or 0 for a clean EOF,
// -1 when nothing happened within the bound.
int wait_closed(int fd);
core::Fd udp_socket(const std::string& ip);
// Sends `payload` to `to` and returns the reply ("" on timeout).
std::string udp_ask(int fd, const core::Endpoint& to, const std::string& payload);

}  // namespace lvs::testing
