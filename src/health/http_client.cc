#include "health/http_client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <regex>
#include <string>

#include "health/attempt.h"
#include "health/net.h"

namespace lvs::health {

namespace {

constexpr std::size_t kMaxResponse = 16U << 20U;

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
using SslCtxPtr = std::shared_ptr<SSL_CTX>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

std::string host_header(const config::CheckerSpec& spec, const config::UrlSpec& url,
                        const core::Endpoint& target) {
  if (!url.virtualhost.empty()) return url.virtualhost;
  if (!spec.virtualhost.empty()) return spec.virtualhost;
  const std::string addr = target.addr.to_string();
  return (target.addr.is_v4() ? addr : "[" + addr + "]") + ":" + std::to_string(target.port);
}

std::string build_request(const config::CheckerSpec& spec, const config::UrlSpec& url,
                          const core::Endpoint& target) {
  const bool v11 = spec.http_protocol == "1.1";
  const bool close = v11 || spec.http_protocol == "1.0C";
  std::string req = "GET " + (url.path.empty() ? std::string("/") : url.path) +
                    (v11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  req += "User-Agent: KeepAliveClient\r\n";
  req += "Host: " + host_header(spec, url, target) + "\r\n";
  if (close) req += "Connection: close\r\n";
  req += "\r\n";
  return req;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Decodes a chunked body; nullopt when it is malformed or cut short.
std::optional<std::string> dechunk(std::string_view in) {
  std::string out;
  while (true) {
    const std::size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    const auto [p, ec] = std::from_chars(in.data(), in.data() + eol, size, 16);
    if (ec != std::errc{} || p == in.data()) return std::nullopt;
    in.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (in.size() < size + 2) return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

class HttpAttempt final : public Attempt {
 public:
  HttpAttempt(EventLoop& loop, ProbeDone done, const config::CheckerSpec& spec, config::UrlSpec url,
              SslCtxPtr ctx)
      : Attempt(loop, std::move(done)), spec_(spec), url_(std::move(url)), ctx_(std::move(ctx)) {}

  void start(const core::Endpoint& target, core::Duration timeout) {
    request_ = build_request(spec_, url_, target);
    auto fd = open_connected(target, SOCK_STREAM, 0, spec_);
    if (!fd.ok()) return finish(Outcome::kFailure, fd.error().message);
    fd_ = std::move(*fd);
    if (ctx_) {
      ssl_.reset(SSL_new(ctx_.get()));
      if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1)
        return finish(Outcome::kFailure, "SSL_new failed");
      if (spec_.enable_sni) {
        std::string sni = host_header(spec_, url_, target);
        if (const auto colon = sni.rfind(':'); colon != std::string::npos && sni.front() != '[') {
          sni.resize(colon);
        }
        SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, sni.data());
      }
    }
    arm_timeout(timeout);
    want(EPOLLOUT);
  }

 private:
  enum class Stage : std::uint8_t { kConnecting, kHandshake, kWriting, kReading };

  void want(std::uint32_t events) {
    watch(fd_.get(), events, [this](std::uint32_t) { step(); });
  }

  // Turns an SSL result into: progress (true), or a re-watch / failure (false).
  bool ssl_ok(int rc, const char* what) {
    if (rc > 0) return true;
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ) {
      want(EPOLLIN);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      want(EPOLLOUT);
    } else if (err == SSL_ERROR_ZERO_RETURN && stage_ == Stage::kReading) {
      complete();
    } else {
      std::array<char, 256> buf{};
      ERR_error_string_n(ERR_get_error(), buf.data(), buf.size());
      finish(Outcome::kFailure, std::string("TLS ") + what + ": " + buf.data());
    }
    return false;
  }

  void step() {
    if (stage_ == Stage::kConnecting) {
      if (const int err = socket_error(fd_.get()); err != 0) {
        return finish(Outcome::kFailure, "connect: " + errno_text(err));
      }
      stage_ = ssl_ ? Stage::kHandshake : Stage::kWriting;
    }
    if (stage_ == Stage::kHandshake) {
      if (!ssl_ok(SSL_connect(ssl_.get()), "handshake")) return;
      stage_ = Stage::kWriting;
    }
    if (stage_ == Stage::kWriting) {
      while (sent_ < request_.size()) {
        const char* p = request_.data() + sent_;
        const std::size_t len = request_.size() - sent_;
        if (ssl_) {
          if (!ssl_ok(SSL_write(ssl_.get(), p, static_cast<int>(len)), "write")) return;
          sent_ = request_.size();  // SSL_write without partial writes writes all
          continue;
        }
        const ssize_t n = ::send(fd_.get(), p, len, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN) return want(EPOLLOUT);
          return finish(Outcome::kFailure, "send: " + errno_text(errno));
        }
        sent_ += static_cast<std::size_t>(n);
      }
      stage_ = Stage::kReading;
      want(EPOLLIN);
      return;
    }
    read_more();
  }

  void read_more() {
    std::array<char, 16384> buf{};
    while (!finished()) {
      if (ssl_) {
        const int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
        if (!ssl_ok(n, "read")) return;
        if (!append(buf.data(), static_cast<std::size_t>(n))) return;
        continue;
      }
      const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
      if (n == 0) return complete();
      if (n < 0) {
        if (errno == EAGAIN) return;
        return finish(Outcome::kFailure, "recv: " + errno_text(errno));
      }
      if (!append(buf.data(), static_cast<std::size_t>(n))) return;
    }
  }

  bool append(const char* p, std::size_t n) {
    if (response_.size() + n > kMaxResponse) {
      finish(Outcome::kFailure, "response larger than 16 MiB");
      return false;
    }
    response_.append(p, n);
    return true;
  }

  void complete() {
    std::string why = judge_http_response(url_, response_);
    if (why.empty()) return finish(Outcome::kSuccess, "HTTP " + url_.path + " ok");
    finish(Outcome::kFailure, std::move(why));
  }

  void release() override {
    ssl_.reset();
    fd_.reset();
  }

  config::CheckerSpec spec_;
  config::UrlSpec url_;
  SslCtxPtr ctx_;
  SslPtr ssl_{};
  core::Fd fd_{};
  Stage stage_ = Stage::kConnecting;
  std::string request_{};
  std::size_t sent_ = 0;
  std::string response_{};
};

// What every attempt of one checker shares; attempts hold it, so a checker destroyed while a
// multi-url probe is in flight leaves nothing dangling.
struct HttpShared {
  config::CheckerSpec spec;
  EventLoop* loop;
  SslCtxPtr ctx;
};

// Urls one after another; the first failure is the verdict.
void run_url(const std::shared_ptr<const HttpShared>& shared, std::size_t i,
             const core::Endpoint& target, core::Duration timeout, ProbeDone done) {
  auto next = [shared, i, target, timeout, done](ProbeResult r) mutable {
    if (!r.ok() || i + 1 == shared->spec.urls.size()) return done(std::move(r));
    run_url(shared, i + 1, target, timeout, std::move(done));
  };
  auto a = std::make_shared<HttpAttempt>(*shared->loop, std::move(next), shared->spec,
                                         shared->spec.urls[i], shared->ctx);
  a->start(target, timeout);
}

class HttpChecker final : public Checker {
 public:
  HttpChecker(config::CheckerSpec spec, EventLoop& loop, SslCtxPtr ctx) {
    if (spec.urls.empty()) spec.urls.push_back(config::UrlSpec{.path = "/"});
    shared_ = std::make_shared<const HttpShared>(
        HttpShared{.spec = std::move(spec), .loop = &loop, .ctx = std::move(ctx)});
  }

  void probe(const core::Endpoint& target, core::Duration timeout, ProbeDone done) override {
    run_url(shared_, 0, target, timeout, std::move(done));
  }

 private:
  std::shared_ptr<const HttpShared> shared_;
};

}  // namespace

std::string md5_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4U]);
    out.push_back(kHex[md[i] & 0x0FU]);
  }
  return out;
}

std::string judge_http_response(const config::UrlSpec& url, std::string_view response) {
  const std::size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string_view::npos || response.substr(0, 5) != "HTTP/") {
    return response.empty() ? "empty HTTP response" : "malformed HTTP response";
  }
  const std::string_view head = response.substr(0, head_end);
  const std::size_t sp = head.find(' ');
  unsigned code = 0;
  if (sp == std::string_view::npos ||
      std::from_chars(head.data() + sp + 1, head.data() + head.size(), code).ec != std::errc{}) {
    return "malformed HTTP status line";
  }
  std::vector<config::StatusRange> allowed = url.status;
  if (allowed.empty()) allowed.push_back(config::StatusRange{});
  bool status_ok = false;
  std::string set;
  for (const auto& r : allowed) {
    status_ok = status_ok || (code >= r.lo && code <= r.hi);
    if (!set.empty()) set += ",";
    set += r.lo == r.hi ? std::to_string(r.lo) : std::to_string(r.lo) + "-" + std::to_string(r.hi);
  }
  if (!status_ok) return "HTTP status " + std::to_string(code) + " not in " + set;

  std::string body(response.substr(head_end + 4));
  if (lower(head).find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    auto decoded = dechunk(body);
    if (!decoded) return "malformed chunked body";
    body = std::move(*decoded);
  }
  if (!url.digest.empty()) {
    const std::string got = md5_hex(body);
    if (got != lower(url.digest)) return "digest mismatch: got " + got + ", want " + url.digest;
  }
  if (!url.regex.empty()) {
    try {
      const bool found = std::regex_search(body, std::regex(url.regex, std::regex::extended));
      if (found == url.regex_no_match) {
        return url.regex_no_match ? "body matches regex " + url.regex
                                  : "body does not match regex " + url.regex;
      }
    } catch (const std::regex_error&) {
      return "invalid regex " + url.regex;
    }
  }
  return {};
}

core::Result<std::unique_ptr<Checker>> make_http_checker(const config::CheckerSpec& spec,
                                                         const CheckerContext& ctx,
                                                         Transport transport) {
  SslCtxPtr ssl_ctx;
  if (transport == Transport::kTls) {
    ssl_ctx = SslCtxPtr(SSL_CTX_new(TLS_client_method()), SslCtxFree{});
    if (!ssl_ctx) return core::fail(EINVAL, "SSL_CTX_new failed");
    SSL_CTX_set_verify(ssl_ctx.get(), SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_options(ssl_ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  }
  return std::unique_ptr<Checker>(
      std::make_unique<HttpChecker>(spec, *ctx.loop, std::move(ssl_ctx)));
}

}  // namespace lvs::health
