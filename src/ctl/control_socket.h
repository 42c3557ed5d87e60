#pragma once
// The control socket between lvsadm and lvsd (docs/CONTROL-PROTOCOL.md): a Unix stream
// socket, one request and one reply per connection.
//
//   frame   = "LVS1" u32be:length body      (length <= kMaxRequest, replies <= kMaxReply)
//   request = u32be:argc (u32be:len bytes){argc} u32be:len stdin-bytes
//   reply   = u32be:exit-code u32be:len stdout-bytes u32be:len stderr-bytes
//
// The codec is pure (encode/decode on strings) so it can be fuzzed; ControlServer and
// call_control() move frames over the socket with bounded waits.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "core/result.h"

namespace lvs::ctl {

inline constexpr std::string_view kDefaultSocketPath = "/run/lvsd/lvsd.sock";
inline constexpr std::string_view kFrameMagic = "LVS1";
inline constexpr std::size_t kFrameHeader = 8;                        // magic + length
inline constexpr std::size_t kMaxRequest = std::size_t{1024} * 1024;  // 1 MiB
inline constexpr std::size_t kMaxReply =
    std::size_t{64} * 1024 * 1024;  // a listing of a huge table
inline constexpr std::size_t kMaxArgs = 4096;

struct Request {
  std::vector<std::string> argv{};  // argv[0] = the program name lvsadm was run as
  std::string input{};              // stdin, for -R

  bool operator==(const Request&) const = default;
};

struct Reply {
  int exit_code = 0;
  std::string out{};
  std::string err{};

  bool operator==(const Reply&) const = default;
};

// Whole frames (header + body).
std::string encode_request(const Request& req);
std::string encode_reply(const Reply& reply);
// The body length a header announces; EPROTO for a wrong magic or size, EMSGSIZE above `limit`.
core::Result<std::size_t> decode_header(std::string_view header, std::size_t limit);
// Bodies (without the header). EPROTO, naming what is wrong, unless the body is exactly one
// well-formed message.
core::Result<Request> decode_request(std::string_view body);
core::Result<Reply> decode_reply(std::string_view body);

// The socket path: `flag` if given, else $LVSD_SOCKET if set and non-empty, else the default.
std::string control_socket_path(std::string_view flag = {});

// Serves the control socket on its own thread, one client at a time. A client gets
// `io_timeout` to send its request and to take the reply; a slow or stuck client is dropped
// then, so it cannot hold the socket forever. Malformed and oversized requests get an error
// reply (exit 1) and never reach the handler.
class ControlServer {
 public:
  using Handler = std::function<Reply(const Request&)>;

  // Creates the parent directory (0755) if missing, replaces a stale socket file (refuses if
  // another process still listens there), binds with mode 0600 and starts the thread.
  static core::Result<std::unique_ptr<ControlServer>> start(
      const std::string& path, Handler handler,
      std::chrono::milliseconds io_timeout = std::chrono::seconds(5));
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops the thread (a request being handled finishes first) and removes the socket file.
  void stop();
  const std::string& path() const { return path_; }

 private:
  ControlServer(std::string path, Handler handler, std::chrono::milliseconds io_timeout);
  void run();
  void serve(core::Fd client);

  std::string path_;
  Handler handler_;
  std::chrono::milliseconds io_timeout_;
  core::Fd listener_{};
  core::Fd stop_r_{};
  core::Fd stop_w_{};
  std::thread thread_{};
};

// Client side: connects, sends `req`, waits at most `timeout` for the reply. Errors carry the
// errno of what failed (ENOENT/ECONNREFUSED: no daemon) and a sentence naming the path.
core::Result<Reply> call_control(const std::string& path, const Request& req,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace lvs::ctl
