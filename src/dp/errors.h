#pragma once
// Data-plane errors by kind (issue 7, `lvsd_dataplane_errors_total{kind=...}`): what went wrong
// for a client's connection or datagram, counted where the proxy meets it. Each worker keeps
// its own relaxed counters; a data plane sums them on read.

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lvs::dp {

enum class ErrorKind : std::uint8_t {
  kConnectRefused,  // the realserver refused the connect (ECONNREFUSED)
  kConnectTimeout,  // no answer within the connect timeout
  kConnectError,    // any other failure to reach the realserver (unreachable, PROXY header, ...)
  kNoRealserver,    // the scheduler found no available realserver
  kConnLimit,       // the service's connection cap was reached
  kDescriptors,     // out of file descriptors (EMFILE/ENFILE) for a client, upstream or pipe
  kMemory,          // out of kernel or relay memory (ENOBUFS/ENOMEM, relay budget, pipe pages)
  kRealReset,       // the realserver's side failed mid-stream (reset, error)
  kClientReset,     // the client's side failed mid-stream (reset, error)
};
inline constexpr std::size_t kErrorKinds = 9;

struct ErrorKindInfo {
  std::string_view name{};  // the `kind` label value
  std::string_view help{};
};

inline constexpr std::array<ErrorKindInfo, kErrorKinds> kErrorKindInfo{{
    {"connect_refused", "the realserver refused the connection"},
    {"connect_timeout", "the realserver did not answer within the connect timeout"},
    {"connect_error", "another failure to reach the realserver"},
    {"no_realserver", "the scheduler found no available realserver"},
    {"conn_limit", "the service's connection cap was reached"},
    {"descriptors", "lvsd ran out of file descriptors"},
    {"memory", "out of kernel or relay memory"},
    {"real_reset", "the realserver's side reset or failed mid-stream"},
    {"client_reset", "the client's side reset or failed mid-stream"},
}};

constexpr const ErrorKindInfo& error_kind_info(ErrorKind k) {
  return kErrorKindInfo[static_cast<std::size_t>(k)];
}

// Counts since start-up, by kind (index = ErrorKind).
struct ErrorCounts {
  std::array<std::uint64_t, kErrorKinds> n{};

  std::uint64_t operator[](ErrorKind k) const { return n[static_cast<std::size_t>(k)]; }
  bool operator==(const ErrorCounts&) const = default;
};

// The error kind of a failed connect's errno.
constexpr ErrorKind connect_error_kind(int err) {
  switch (err) {
    case ECONNREFUSED:
      return ErrorKind::kConnectRefused;
    case ETIMEDOUT:
      return ErrorKind::kConnectTimeout;
    case EMFILE:
    case ENFILE:
      return ErrorKind::kDescriptors;
    case ENOBUFS:
    case ENOMEM:
      return ErrorKind::kMemory;
    default:
      return ErrorKind::kConnectError;
  }
}

}  // namespace lvs::dp
