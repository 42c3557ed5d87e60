// HTTP_GET's response judgement (spec §5.2): status set, MD5 digest, regex, chunked bodies.
#include <gtest/gtest.h>

#include "health/http_client.h"

namespace lvs::health {
namespace {

config::UrlSpec url() { return config::UrlSpec{.path = "/"}; }

TEST(HttpResponse, DefaultStatusSetIs200To299) {
  EXPECT_EQ(judge_http_response(url(), "HTTP/1.0 204 No Content\r\n\r\n"), "");
  EXPECT_EQ(judge_http_response(url(), "HTTP/1.1 301 Moved\r\n\r\n"),
            "HTTP status 301 not in 200-299");
}

TEST(HttpResponse, StatusListAndRanges) {
  auto u = url();
  u.status = {{200, 200}, {301, 302}};
  EXPECT_EQ(judge_http_response(u, "HTTP/1.0 302 Found\r\n\r\n"), "");
  EXPECT_EQ(judge_http_response(u, "HTTP/1.0 204 X\r\n\r\n"), "HTTP status 204 not in 200,301-302");
}

TEST(HttpResponse, DigestIsMd5OfTheBody) {
  EXPECT_EQ(md5_hex("hello"), "5d41402abc4b2a76b9719d911017c592");
  auto u = url();
  u.digest = "5D41402ABC4B2A76B9719D911017C592";  // case-insensitive
  EXPECT_EQ(judge_http_response(u, "HTTP/1.0 200 OK\r\n\r\nhello"), "");
  EXPECT_NE(judge_http_response(u, "HTTP/1.0 200 OK\r\n\r\nhellO"), "");
}

TEST(HttpResponse, ChunkedBodyIsDecodedBeforeTheDigest) {
  auto u = url();
  u.digest = md5_hex("hello");
  EXPECT_EQ(
      judge_http_response(
          u,
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"),
      "");
  EXPECT_EQ(judge_http_response(u, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhe"),
            "malformed chunked body");
}

TEST(HttpResponse, RegexAndRegexNoMatch) {
  auto u = url();
  u.regex = "wor+ld";
  EXPECT_EQ(judge_http_response(u, "HTTP/1.0 200 OK\r\n\r\nhello worrld"), "");
  EXPECT_NE(judge_http_response(u, "HTTP/1.0 200 OK\r\n\r\nhello"), "");
  u.regex_no_match = true;
  EXPECT_EQ(judge_http_response(u, "HTTP/1.0 200 OK\r\n\r\nhello"), "");
}

TEST(HttpResponse, MalformedResponsesFail) {
  EXPECT_EQ(judge_http_response(url(), ""), "empty HTTP response");
  EXPECT_EQ(judge_http_response(url(), "SSH-2.0-OpenSSH\r\n"), "malformed HTTP response");
}

}  // namespace
}  // namespace lvs::health
