#pragma once
// Traffic counters and rate estimates in IPVS terms (spec §1.4), the one shape every layer
// uses: the connection engine and the data planes count into it, lvsadm's listings show it.
// in = client -> realserver, out = realserver -> client.

#include <cstdint>

namespace lvs::model {

struct Counters {
  std::uint64_t conns = 0;     // connections (TCP) or flows (UDP) scheduled
  std::uint64_t failed = 0;    // connections the realserver refused or let time out
  std::uint64_t inpkts = 0;    // packets (or, in the proxy, datagrams and relay reads) inwards
  std::uint64_t outpkts = 0;   // the same outwards
  std::uint64_t inbytes = 0;   // bytes inwards
  std::uint64_t outbytes = 0;  // bytes outwards

  // Field-wise sum: a service's counters are its realservers' summed, the total is the services'.
  Counters& operator+=(const Counters& c) {
    conns += c.conns;
    failed += c.failed;
    inpkts += c.inpkts;
    outpkts += c.outpkts;
    inbytes += c.inbytes;
    outbytes += c.outbytes;
    return *this;
  }

  bool operator==(const Counters&) const = default;
};

// The 2 s rate estimates as ipvsadm --rate prints them: per second, bytes as bytes per second.
struct Rates {
  std::uint64_t cps = 0;
  std::uint64_t inpps = 0;
  std::uint64_t outpps = 0;
  std::uint64_t inbps = 0;
  std::uint64_t outbps = 0;

  bool operator==(const Rates&) const = default;
};

}  // namespace lvs::model
