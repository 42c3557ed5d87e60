// The real checkers against in-test servers on loopback (port 0, never fixed ports), all on one
// EventLoop: TCP open/closed, HTTP status/digest/slow (case 52), MISC scripts with timeout and
// misc_dynamic (case 53), UDP, DNS, XDMCP responders, ping. Every wait is bounded; no test
// asserts on wall-clock durations.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "health/event_loop.h"
#include "health/http_client.h"
#include "health/monitor.h"
#include "health/monitor_driver.h"
#include "health/net.h"
#include "health/registry.h"

namespace lvs::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr core::Duration kShort = milliseconds(300);  // for probes expected to time out
constexpr core::Duration kLong = seconds(5);          // for probes expected to answer

core::Endpoint loopback(std::uint16_t port, std::uint8_t last = 1) {
  return core::Endpoint{.addr = core::IpAddress::v4((127U << 24U) | last), .port = port};
}

std::uint16_t local_port(int fd) {
  sockaddr_in sin{};
  socklen_t len = sizeof sin;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);  // NOLINT
  return ntohs(sin.sin_port);
}

core::Fd bound_socket(int type, const core::Endpoint& at) {
  core::Fd fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(at, ss);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);  // NOLINT
  if (type == SOCK_STREAM) {
    EXPECT_EQ(::listen(fd.get(), 16), 0);
  }
  return fd;
}

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = EventLoop::create();
    ASSERT_TRUE(l.ok());
    loop_ = std::move(*l);
  }

  CheckerContext ctx() { return CheckerContext{.loop = loop_.get(), .rng = &rng_}; }

  ProbeResult probe(const config::CheckerSpec& spec, core::Duration timeout) {
    auto checker = make_checker(spec, ctx());
    EXPECT_TRUE(checker.ok()) << (checker.ok() ? "" : checker.error().message);
    if (!checker.ok()) return {};
    std::optional<ProbeResult> got;
    int calls = 0;
    (*checker)->probe(spec.target, timeout, [&](ProbeResult r) {
      ++calls;
      got = std::move(r);
    });
    EXPECT_TRUE(loop_->run_until([&] { return got.has_value(); }, seconds(20)));
    loop_->run_once(milliseconds(0));
    EXPECT_EQ(calls, 1) << "done must be called exactly once";
    return got.value_or(ProbeResult{.outcome = Outcome::kFailure, .reason = "never finished"});
  }

  static config::CheckerSpec spec(config::CheckerKind kind, const core::Endpoint& target) {
    config::CheckerSpec s;
    s.kind = kind;
    s.target = target;
    return s;
  }

  std::unique_ptr<EventLoop> loop_;
  core::SystemRng rng_{42};
};

// --- TCP_CHECK ----------------------------------------------------------------------------

TEST_F(CheckerTest, TcpOpenPortIsUp) {
  core::Fd listener = bound_socket(SOCK_STREAM, loopback(0, 2));
  const auto r =
      probe(spec(config::CheckerKind::kTcp, loopback(local_port(listener.get()), 2)), kLong);
  EXPECT_TRUE(r.ok()) << r.reason;
}

TEST_F(CheckerTest, TcpClosedPortFails) {
  std::uint16_t port = 0;
  {
    core::Fd gone = bound_socket(SOCK_STREAM, loopback(0, 2));
    port = local_port(gone.get());
  }
  const auto r = probe(spec(config::CheckerKind::kTcp, loopback(port, 2)), kLong);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.reason.find("refused"), std::string::npos) << r.reason;
}

// --- HTTP_GET (case 52) -------------------------------------------------------------------

// Answers by path with canned responses; "/slow" never answers. Records the last request.
class HttpServer {
 public:
  explicit HttpServer(EventLoop& loop)
      : loop_(loop), listener_(bound_socket(SOCK_STREAM, loopback(0, 3))) {
    (void)loop_.watch(listener_.get(), EPOLLIN, [this](std::uint32_t) { accept(); });
  }
  ~HttpServer() {
    for (auto& [fd, c] : clients_) loop_.unwatch(fd);
    loop_.unwatch(listener_.get());
  }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  core::Endpoint endpoint() const { return loopback(local_port(listener_.get()), 3); }
  void route(const std::string& path, int status, const std::string& body) {
    routes_[path] = "HTTP/1.0 " + std::to_string(status) +
                    " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  std::string last_request;

 private:
  struct Client {
    core::Fd fd;
    std::string in;
  };
  void accept() {
    core::Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!c) return;
    const int fd = c.get();
    clients_[fd] = Client{.fd = std::move(c), .in = {}};
    (void)loop_.watch(fd, EPOLLIN, [this, fd](std::uint32_t) { readable(fd); });
  }
  void readable(int fd) {
    Client& c = clients_[fd];
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) c.in.append(buf, static_cast<std::size_t>(n));
    if (c.in.find("\r\n\r\n") == std::string::npos && n > 0) return;
    last_request = c.in;
    const std::string path = c.in.substr(4, c.in.find(' ', 4) - 4);
    if (path == "/slow" && n > 0) return;  // hold the connection open, never answer
    const auto it = routes_.find(path);
    const std::string resp = it != routes_.end() ? it->second : "HTTP/1.0 404 X\r\n\r\n";
    (void)::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
    loop_.unwatch(fd);
    clients_.erase(fd);
  }

  EventLoop& loop_;
  core::Fd listener_;
  std::map<int, Client> clients_;
  std::map<std::string, std::string> routes_;
};

class HttpCheckTest : public CheckerTest {
 protected:
  void SetUp() override {
    CheckerTest::SetUp();
    server_ = std::make_unique<HttpServer>(*loop_);
    server_->route("/200", 200, "hello");
    server_->route("/204", 204, "");
    server_->route("/301", 301, "moved");
    server_->route("/500", 500, "oops");
  }
  void TearDown() override { server_.reset(); }

  ProbeResult get(std::vector<config::UrlSpec> urls, core::Duration timeout = kLong) {
    auto s = spec(config::CheckerKind::kHttpGet, server_->endpoint());
    s.urls = std::move(urls);
    return probe(s, timeout);
  }
  std::unique_ptr<HttpServer> server_;
};

// Case 52: default status set 200-299: 204 is up.
TEST_F(HttpCheckTest, Case52Status204IsUp) {
  const auto r = get({config::UrlSpec{.path = "/204"}});
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_NE(server_->last_request.find("GET /204 HTTP/1.0\r\n"), std::string::npos);
  EXPECT_NE(server_->last_request.find("User-Agent: KeepAliveClient\r\n"), std::string::npos);
  EXPECT_NE(server_->last_request.find("Host: " + server_->endpoint().to_string()),
            std::string::npos);
}

// Case 52: 301 and 500 are failures with the default status set.
TEST_F(HttpCheckTest, Case52Status301And500Fail) {
  const auto r301 = get({config::UrlSpec{.path = "/301"}});
  EXPECT_FALSE(r301.ok());
  EXPECT_EQ(r301.reason, "HTTP status 301 not in 200-299");
  EXPECT_FALSE(get({config::UrlSpec{.path = "/500"}}).ok());
}

// Case 52: `status_code 200 301` accepts 301.
TEST_F(HttpCheckTest, Case52StatusCodeListAccepts301) {
  const auto r = get({config::UrlSpec{.path = "/301", .status = {{200, 200}, {301, 301}}}});
  EXPECT_TRUE(r.ok()) << r.reason;
}

// Case 52: a digest mismatch fails; the right MD5 of the body passes.
TEST_F(HttpCheckTest, Case52DigestMismatchFails) {
  const auto bad = get({config::UrlSpec{.path = "/200", .digest = md5_hex("other")}});
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.reason.find("digest mismatch"), std::string::npos) << bad.reason;
  const auto good = get({config::UrlSpec{.path = "/200", .digest = md5_hex("hello")}});
  EXPECT_TRUE(good.ok()) << good.reason;
}

// Every url must pass.
TEST_F(HttpCheckTest, AllUrlsMustPass) {
  EXPECT_TRUE(get({config::UrlSpec{.path = "/200"}, config::UrlSpec{.path = "/204"}}).ok());
  EXPECT_FALSE(get({config::UrlSpec{.path = "/200"}, config::UrlSpec{.path = "/500"}}).ok());
}

// A server that never answers fails at the timeout.
TEST_F(HttpCheckTest, SlowServerTimesOut) {
  const auto r = get({config::UrlSpec{.path = "/slow"}}, kShort);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.reason.find("timed out"), std::string::npos) << r.reason;
}

// HTTP/1.1 sends Connection: close and a virtualhost Host header.
TEST_F(HttpCheckTest, Http11SendsConnectionCloseAndVirtualhost) {
  auto s = spec(config::CheckerKind::kHttpGet, server_->endpoint());
  s.urls = {config::UrlSpec{.path = "/200"}};
  s.http_protocol = "1.1";
  s.virtualhost = "www.example.org";
  EXPECT_TRUE(probe(s, kLong).ok());
  EXPECT_NE(server_->last_request.find("GET /200 HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(server_->last_request.find("Host: www.example.org\r\n"), std::string::npos);
  EXPECT_NE(server_->last_request.find("Connection: close\r\n"), std::string::npos);
}

// SSL_GET against a server that speaks plain HTTP fails in the TLS handshake.
TEST_F(HttpCheckTest, SslGetAgainstPlainServerFails) {
  auto s = spec(config::CheckerKind::kSslGet, server_->endpoint());
  s.urls = {config::UrlSpec{.path = "/200"}};
  const auto r = probe(s, kShort);
  EXPECT_FALSE(r.ok());
}

// --- SSL_GET over real TLS ----------------------------------------------------------------

// Serves one TLS connection on its own thread with a fresh self-signed certificate: reads the
// request, answers `response`, records the SNI name. Bounded by poll timeouts.
class TlsServer {
 public:
  explicit TlsServer(std::string response)
      : listener_(bound_socket(SOCK_STREAM, loopback(0, 6))), response_(std::move(response)) {
    key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    cert_ = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 3600);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    const std::string cn = "lvsd-test";
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                               0);  // NOLINT
    X509_set_issuer_name(cert_, name);
    X509_sign(cert_, key_, EVP_sha256());
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert_);
    SSL_CTX_use_PrivateKey(ctx_, key_);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    join();
    SSL_CTX_free(ctx_);
    X509_free(cert_);
    EVP_PKEY_free(key_);
  }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;
  core::Endpoint endpoint() const { return loopback(local_port(listener_.get()), 6); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  std::string sni;  // read after the probe finished and the thread is joined
  std::string request;

 private:
  void serve() {
    pollfd p{.fd = listener_.get(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, 10'000) != 1) return;
    core::Fd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) return;
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, c.get());
    if (SSL_accept(ssl) == 1) {
      if (const char* n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) sni = n;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const int n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      SSL_write(ssl, response_.data(), static_cast<int>(response_.size()));
      SSL_shutdown(ssl);
    }
    SSL_free(ssl);
  }

  core::Fd listener_;
  std::string response_;
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
  std::thread thread_;
};

// SSL_GET completes a TLS handshake with an unverified self-signed certificate, sends SNI when
// enabled and judges the response like HTTP_GET.
TEST_F(CheckerTest, SslGetOverTlsWithSni) {
  TlsServer server("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  auto s = spec(config::CheckerKind::kSslGet, server.endpoint());
  s.urls = {config::UrlSpec{.path = "/", .digest = md5_hex("hello")}};
  s.enable_sni = true;
  s.virtualhost = "www.example.org";
  const auto r = probe(s, kLong);
  server.join();
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(server.sni, "www.example.org");
  EXPECT_NE(server.request.find("Host: www.example.org\r\n"), std::string::npos);
}

TEST_F(CheckerTest, SslGetStatus500Fails) {
  std::optional<ProbeResult> r;
  {
    TlsServer server("HTTP/1.0 500 Oops\r\n\r\n");
    r = probe(spec(config::CheckerKind::kSslGet, server.endpoint()), kLong);
  }
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->reason, "HTTP status 500 not in 200-299");
}

// --- MISC_CHECK (case 53) -----------------------------------------------------------------

class MiscCheckTest : public CheckerTest {
 protected:
  void SetUp() override {
    CheckerTest::SetUp();
    std::string tmpl = (std::filesystem::temp_directory_path() / "lvs-misc-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProbeResult run(const std::string& script, bool dynamic, core::Duration timeout) {
    const auto path = dir_ / "check.sh";
    std::ofstream(path) << "#!/bin/sh\n" << script << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    auto s = spec(config::CheckerKind::kMisc, loopback(0));
    s.misc_path = path.string();
    s.misc_dynamic = dynamic;
    return probe(s, timeout);
  }
  std::filesystem::path dir_;
};

TEST_F(MiscCheckTest, ExitZeroIsUpAndNonZeroIsDown) {
  EXPECT_TRUE(run("exit 0", false, kLong).ok());
  const auto r = run("exit 3", false, kLong);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reason, "exit status 3");
}

// Case 53: misc_dynamic exit 0 -> up, weight unchanged; exit 1 -> down; exit 12 -> weight 10.
TEST_F(MiscCheckTest, Case53MiscDynamicExitCodes) {
  const auto zero = run("exit 0", true, kLong);
  EXPECT_TRUE(zero.ok());
  EXPECT_EQ(zero.weight, std::nullopt);
  EXPECT_FALSE(run("exit 1", true, kLong).ok());
  const auto twelve = run("exit 12", true, kLong);
  EXPECT_TRUE(twelve.ok());
  EXPECT_EQ(twelve.weight, std::optional<std::int32_t>(10));
}

// A hung script fails at its timeout and its whole process group is killed.
TEST_F(MiscCheckTest, HungScriptIsKilledAtTimeout) {
  const auto pidfile = dir_ / "pid";
  const auto r = run("echo $$ > " + pidfile.string() + "; sleep 30 & sleep 30", false, kShort);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.reason.find("timed out"), std::string::npos) << r.reason;
  pid_t pgid = 0;
  std::ifstream(pidfile) >> pgid;
  ASSERT_GT(pgid, 0);
  // SIGKILL is delivered to the group at once; the backgrounded sleep may need a moment to be
  // reaped by init, so poll (bounded) rather than assert at once.
  bool gone = false;
  loop_->run_until(
      [&] {
        gone = ::kill(-pgid, 0) != 0 && errno == ESRCH;
        return gone;
      },
      seconds(10));
  EXPECT_TRUE(gone) << "process group " << pgid << " still exists";
}

// --- UDP_CHECK ----------------------------------------------------------------------------

// Echoes every datagram while `answering`; otherwise reads and drops them.
class UdpServer {
 public:
  using Reply =
      std::function<std::optional<std::vector<std::uint8_t>>(const std::vector<std::uint8_t>&)>;
  UdpServer(EventLoop& loop, Reply reply)
      : loop_(loop), fd_(bound_socket(SOCK_DGRAM, loopback(0, 4))), reply_(std::move(reply)) {
    (void)loop_.watch(fd_.get(), EPOLLIN, [this](std::uint32_t) { readable(); });
  }
  ~UdpServer() { loop_.unwatch(fd_.get()); }
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;
  core::Endpoint endpoint() const { return loopback(local_port(fd_.get()), 4); }
  std::vector<std::uint8_t> last;

 private:
  void readable() {
    std::uint8_t buf[2048];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from),
                                 &len);  // NOLINT
    if (n < 0) return;
    last.assign(buf, buf + n);
    if (auto out = reply_(last)) {
      (void)::sendto(fd_.get(), out->data(), out->size(), 0, reinterpret_cast<sockaddr*>(&from),
                     len);  // NOLINT
    }
  }
  EventLoop& loop_;
  core::Fd fd_;
  Reply reply_;
};

TEST_F(CheckerTest, UdpReplyRequiredAndServerStopsReplying) {
  bool answering = true;
  UdpServer server(
      *loop_, [&](const std::vector<std::uint8_t>& in) -> std::optional<std::vector<std::uint8_t>> {
        if (!answering) return std::nullopt;
        return in;
      });
  auto s = spec(config::CheckerKind::kUdp, server.endpoint());
  s.payload = {0xAB, 0xCD};
  s.require_reply = true;
  s.reply_pattern = "ABXD";
  EXPECT_TRUE(probe(s, kLong).ok());
  answering = false;
  const auto r = probe(s, kShort);
  EXPECT_FALSE(r.ok()) << "silence is not success when a reply is required";
}

TEST_F(CheckerTest, UdpReplyPatternMismatchFails) {
  UdpServer server(*loop_, [](const std::vector<std::uint8_t>&) {
    return std::optional<std::vector<std::uint8_t>>(std::vector<std::uint8_t>{0x00});
  });
  auto s = spec(config::CheckerKind::kUdp, server.endpoint());
  s.payload = {0x01};
  s.reply_pattern = "FF";
  EXPECT_FALSE(probe(s, kLong).ok());
}

TEST_F(CheckerTest, UdpWithoutPayloadFailsOnlyOnIcmpError) {
  UdpServer silent(*loop_, [](const std::vector<std::uint8_t>&) { return std::nullopt; });
  EXPECT_TRUE(probe(spec(config::CheckerKind::kUdp, silent.endpoint()), kShort).ok());
  std::uint16_t closed = 0;
  {
    core::Fd gone = bound_socket(SOCK_DGRAM, loopback(0, 4));
    closed = local_port(gone.get());
  }
  const auto r = probe(spec(config::CheckerKind::kUdp, loopback(closed, 4)), kLong);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.reason.find("ICMP"), std::string::npos) << r.reason;
}

// --- DNS_CHECK ----------------------------------------------------------------------------

// Answers a query with its own ID, QR set and the given RCODE; `id_xor` spoils the ID.
UdpServer::Reply dns_responder(std::uint8_t rcode, std::uint8_t id_xor = 0) {
  return [rcode,
          id_xor](const std::vector<std::uint8_t>& in) -> std::optional<std::vector<std::uint8_t>> {
    std::vector<std::uint8_t> q = in;
    if (q.size() < 12) return std::nullopt;
    q[1] ^= id_xor;
    q[2] = 0x81;  // QR, RD
    q[3] = static_cast<std::uint8_t>(0x80U | rcode);
    return q;
  };
}

TEST_F(CheckerTest, DnsNoErrorIsUp) {
  UdpServer server(*loop_, dns_responder(0));
  auto s = spec(config::CheckerKind::kDns, server.endpoint());
  s.dns_type = "A";
  s.dns_name = "www.example.org";
  const auto r = probe(s, kLong);
  EXPECT_TRUE(r.ok()) << r.reason;
  // RD set, one question: 3www7example3org0, type A, class IN.
  const std::vector<std::uint8_t> question = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm', 'p', 'l',
                                              'e', 3,   'o', 'r', 'g', 0,   0,   1,   0,   1};
  ASSERT_EQ(server.last.size(), 12 + question.size());
  EXPECT_EQ(server.last[2], 0x01);
  EXPECT_EQ(std::vector<std::uint8_t>(server.last.begin() + 12, server.last.end()), question);
}

TEST_F(CheckerTest, DnsServfailIsDown) {
  UdpServer server(*loop_, dns_responder(2));
  const auto r = probe(spec(config::CheckerKind::kDns, server.endpoint()), kLong);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.reason, "DNS RCODE 2");
}

TEST_F(CheckerTest, DnsReplyWithOtherIdIsIgnored) {
  UdpServer server(*loop_, dns_responder(0, 0xFF));
  EXPECT_FALSE(probe(spec(config::CheckerKind::kDns, server.endpoint()), kShort).ok());
}

// --- XDMCP_CHECK --------------------------------------------------------------------------

// Willing: header (version 1, opcode 5, length) + authentication name, hostname, status
// (each ARRAY8 = CARD16 length + bytes).
std::vector<std::uint8_t> willing() {
  std::vector<std::uint8_t> body = {0, 0, 0, 4, 'h', 'o', 's', 't', 0, 2, 'o', 'k'};
  std::vector<std::uint8_t> out = {0, 1, 0, 5, 0, static_cast<std::uint8_t>(body.size())};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

TEST_F(CheckerTest, XdmcpWillingIsUp) {
  UdpServer server(
      *loop_, [](const std::vector<std::uint8_t>& q) -> std::optional<std::vector<std::uint8_t>> {
        if (q.size() < 4 || q[3] != 2) return std::nullopt;  // only Query
        return willing();
      });
  const auto r = probe(spec(config::CheckerKind::kXdmcp, server.endpoint()), kLong);
  EXPECT_TRUE(r.ok()) << r.reason;
  EXPECT_EQ(server.last, (std::vector<std::uint8_t>{0, 1, 0, 2, 0, 1, 0}));
}

TEST_F(CheckerTest, XdmcpSilentResponderIsDown) {
  UdpServer server(*loop_, [](const std::vector<std::uint8_t>&) { return std::nullopt; });
  const auto r = probe(spec(config::CheckerKind::kXdmcp, server.endpoint()), kShort);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.reason.find("timed out"), std::string::npos) << r.reason;
}

// --- PING_CHECK ---------------------------------------------------------------------------

TEST_F(CheckerTest, PingLoopbackIsUp) {
  auto s = spec(config::CheckerKind::kPing, loopback(0));
  auto checker = make_checker(s, ctx());
  if (!checker.ok()) GTEST_SKIP() << checker.error().message;
  const auto r = probe(s, kLong);
  EXPECT_TRUE(r.ok()) << r.reason;
}

// --- Monitor on the real loop -------------------------------------------------------------

// A TCP realserver whose port closes goes down; when it listens again it comes back.
TEST_F(CheckerTest, MonitorSeesTcpServerDieAndRecover) {
  core::Fd listener = bound_socket(SOCK_STREAM, loopback(0, 5));
  const core::Endpoint target = loopback(local_port(listener.get()), 5);
  config::CheckerSpec c = spec(config::CheckerKind::kTcp, target);
  c.timing.delay_loop = milliseconds(50);
  c.timing.delay_before_retry = milliseconds(10);
  c.timing.connect_timeout = seconds(2);
  c.timing.warmup = milliseconds(0);
  config::ServiceHealth svc;
  svc.key = model::ServiceKey::address(model::Protocol::kTcp, loopback(80, 100));
  config::RealServerHealth rs;
  rs.addr = target;
  rs.checkers = {c};
  svc.reals = {rs};

  core::SystemRng rng(1);
  Monitor monitor(loop_->clock(), rng, checker_factory(ctx()));
  std::vector<bool> changes;
  monitor.set_on_change([&](const RealId&, bool up, const std::string&) { changes.push_back(up); });
  ASSERT_TRUE(monitor.add_service(svc).ok());
  MonitorDriver driver(*loop_, monitor);
  driver.arm();
  loop_->run_until([&] { return monitor.in_flight() == 0 && monitor.next_due() > loop_->now(); },
                   seconds(5));
  EXPECT_TRUE(changes.empty());
  listener.reset();  // port closed: refused
  ASSERT_TRUE(loop_->run_until([&] { return changes.size() == 1; }, seconds(10)));
  EXPECT_FALSE(changes[0]);
  core::Fd again(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(again.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(target, ss);
  ASSERT_EQ(::bind(again.get(), reinterpret_cast<sockaddr*>(&ss), len), 0);  // NOLINT
  ASSERT_EQ(::listen(again.get(), 16), 0);
  ASSERT_TRUE(loop_->run_until([&] { return changes.size() == 2; }, seconds(10)));
  EXPECT_TRUE(changes[1]);
}

}  // namespace
}  // namespace lvs::health
