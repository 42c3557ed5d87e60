#include "dp/proxy/pktinfo.h"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace lvs::dp::proxy {

namespace {

// Room for one in_pktinfo or in6_pktinfo control message.
constexpr std::size_t kControlSpace = CMSG_SPACE(std::max(sizeof(in_pktinfo), sizeof(in6_pktinfo)));

}  // namespace

bool is_wildcard(const core::IpAddress& addr) {
  const auto& b = addr.bytes();
  const std::size_t n = addr.is_v4() ? 4 : 16;
  return std::all_of(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n),
                     [](std::uint8_t x) { return x == 0; });
}

bool enable_pktinfo(int fd, int family) {
  const int one = 1;
  if (family == AF_INET6) {
    return ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) == 0;
  }
  return ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0;
}

ssize_t recv_with_local(int fd, char* buf, std::size_t len, SockAddr& from,
                        std::optional<core::IpAddress>& local) {
  alignas(cmsghdr) std::array<char, kControlSpace> control{};
  iovec iov{.iov_base = buf, .iov_len = len};
  msghdr msg{};
  msg.msg_name = from.get();
  msg.msg_namelen = sizeof(from.storage);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t n = ::recvmsg(fd, &msg, MSG_DONTWAIT);
  local.reset();
  if (n < 0) return n;
  from.len = msg.msg_namelen;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      in_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      local = core::IpAddress::v4(ntohl(info.ipi_addr.s_addr));
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo info{};
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      std::array<std::uint8_t, 16> bytes{};
      std::memcpy(bytes.data(), &info.ipi6_addr, bytes.size());
      local = core::IpAddress::v6(bytes);
    }
  }
  return n;
}

ssize_t send_from(int fd, const char* buf, std::size_t len, const SockAddr& to,
                  const core::IpAddress& local) {
  alignas(cmsghdr) std::array<char, kControlSpace> control{};
  iovec iov{.iov_base = const_cast<char*>(buf), .iov_len = len};  // NOLINT: sendmsg's iovec
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to.get());  // NOLINT: sendmsg does not write it
  msg.msg_namelen = to.len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  cmsghdr* c = nullptr;
  if (local.is_v4()) {
    msg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo info{};
    info.ipi_spec_dst.s_addr = htonl(local.v4_host());
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  } else {
    msg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
    in6_pktinfo info{};
    std::memcpy(&info.ipi6_addr, local.bytes().data(), local.bytes().size());
    std::memcpy(CMSG_DATA(c), &info, sizeof(info));
  }
  return ::sendmsg(fd, &msg, MSG_DONTWAIT);
}

}  // namespace lvs::dp::proxy
