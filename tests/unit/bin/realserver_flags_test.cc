#include "bin/realserver_flags.h"

#include <gtest/gtest.h>

#include <vector>

#include "bin/realserver.h"

namespace lvs::bin {
namespace {

core::Result<RealserverConfig> parse(std::vector<std::string_view> args) {
  return parse_realserver_flags(args);
}

std::string error_of(std::vector<std::string_view> args) {
  auto cfg = parse(std::move(args));
  return cfg.ok() ? "(parsed)" : cfg.error().message;
}

// The demo's form: a name, HTTP on TCP, and UDP; port 0 is allowed.
TEST(RealserverFlags, ServeHttpAndUdp) {
  auto cfg = parse({"--name", "rs1", "--tcp", "127.0.0.2:0", "--udp=127.0.0.2:9053", "--http"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->mode, RealserverMode::kServe);
  EXPECT_EQ(cfg->name, "rs1");
  ASSERT_TRUE(cfg->tcp.has_value());
  EXPECT_EQ(cfg->tcp->to_string(), "127.0.0.2:0");
  ASSERT_TRUE(cfg->udp.has_value());
  EXPECT_EQ(cfg->udp->to_string(), "127.0.0.2:9053");
  EXPECT_EQ(cfg->tcp_protocol, TcpProtocol::kHttp);
}

// The query client takes one positional message and its own options.
TEST(RealserverFlags, QueryUdpTakesCountWaitAndMessage) {
  auto cfg = parse({"--query-udp", "127.0.0.10:5353", "--count", "6", "--wait", "250ms", "ping"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->mode, RealserverMode::kQueryUdp);
  EXPECT_EQ(cfg->target.to_string(), "127.0.0.10:5353");
  EXPECT_EQ(cfg->count, 6U);
  EXPECT_EQ(cfg->wait, std::chrono::milliseconds(250));
  EXPECT_EQ(cfg->message, "ping");
}

// Every mistake is named precisely.
TEST(RealserverFlags, ErrorsNameTheFlagAndTheFix) {
  EXPECT_EQ(error_of({"--tcp", "127.0.0.2:1"}), "--name NAME is required: every answer carries it");
  EXPECT_EQ(error_of({"--name", "rs1"}),
            "nothing to serve: give --tcp ADDR:PORT and/or --udp ADDR:PORT");
  EXPECT_EQ(error_of({"--name", "rs 1", "--tcp", "127.0.0.2:1"}),
            "--name 'rs 1' must be 1..64 printable characters without spaces");
  EXPECT_EQ(error_of({"--name", "rs1", "--tcp", "127.0.0.2:70000"}),
            "--tcp '127.0.0.2:70000': port '70000' in '127.0.0.2:70000' is not a number in "
            "0..65535");
  EXPECT_EQ(error_of({"--name", "rs1", "--tcp"}), "--tcp needs a value");
  EXPECT_EQ(error_of({"--name", "rs1", "--udp", "127.0.0.2:1", "--http"}),
            "--http needs --tcp ADDR:PORT");
  EXPECT_EQ(error_of({"--name", "rs1", "--tcp", "127.0.0.2:1", "--tcp", "127.0.0.2:2"}),
            "--tcp is given twice");
  EXPECT_EQ(error_of({"--bogus"}), "unknown option '--bogus' (see lvs-realserver --help)");
  EXPECT_EQ(error_of({"--name", "rs1", "--tcp", "127.0.0.2:1", "stray"}),
            "unexpected argument 'stray' (see lvs-realserver --help)");
  EXPECT_EQ(error_of({"--http=yes"}), "--http takes no value");
  EXPECT_EQ(error_of({"--query-udp", "127.0.0.10:0"}),
            "--query-udp '127.0.0.10:0' needs a port other than 0");
  EXPECT_EQ(error_of({"--query-udp", "127.0.0.10:53", "--count", "0"}),
            "--count '0' is not a number in 1..1000000");
  EXPECT_EQ(error_of({"--query-udp", "127.0.0.10:53", "--wait", "soon"}),
            "--wait 'soon' is not a duration like 2, 2s or 250ms (at most 1h)");
  EXPECT_EQ(error_of({"--query-udp", "127.0.0.10:53", "--name", "rs1"}),
            "--query-udp is a client: it takes no --name, --tcp, --udp, --http or --report-peer");
  EXPECT_EQ(error_of({"--name", "rs1", "--tcp", "127.0.0.2:1", "--count", "2"}),
            "--count and --wait apply to --query-udp only");
}

// --report-peer: answers name the client as the realserver saw it; not with --http or queries.
TEST(RealserverFlags, ReportPeer) {
  auto cfg = parse({"--name", "rs1", "--report-peer", "--tcp", "192.0.2.21:23"});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->report_peer);
  EXPECT_FALSE(parse({"--name", "rs1", "--tcp", "192.0.2.21:23"}).value().report_peer);
  EXPECT_EQ(error_of({"--name", "rs1", "--report-peer", "--http", "--tcp", "192.0.2.21:80"}),
            "--report-peer works with the echo greeting and UDP, not with --http");
  EXPECT_EQ(error_of({"--query-udp", "192.0.2.100:53", "--report-peer"}),
            "--query-udp is a client: it takes no --name, --tcp, --udp, --http or --report-peer");
}

// A request head is complete only at its blank line; HTTP/1.1 keeps the connection open.
TEST(RealserverHttp, HeadIsCompleteAtTheBlankLine) {
  const std::string_view req = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET";
  EXPECT_EQ(parse_http_head(req.substr(0, 20)).parse, HttpParse::kIncomplete);
  const HttpHead head = parse_http_head(req);
  EXPECT_EQ(head.parse, HttpParse::kComplete);
  EXPECT_EQ(head.length, req.size() - 3);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_FALSE(head.head_only);
}

// Connection: close ends 1.1; 1.0 closes unless it asks for keep-alive; bodies are measured.
TEST(RealserverHttp, ConnectionHeaderAndBody) {
  EXPECT_FALSE(parse_http_head("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse_http_head("GET / HTTP/1.0\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse_http_head("GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n").keep_alive);
  const HttpHead post = parse_http_head("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(post.content_length, 5U);
  EXPECT_TRUE(parse_http_head("HEAD / HTTP/1.1\r\n\r\n").head_only);
  EXPECT_TRUE(parse_http_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").chunked);
}

// Anything but an HTTP/1.x request line or a header without a colon is rejected.
TEST(RealserverHttp, BadRequestsAreRejected) {
  EXPECT_EQ(parse_http_head("hello\r\n\r\n").parse, HttpParse::kBad);
  EXPECT_EQ(parse_http_head("GET / HTTP/2\r\n\r\n").parse, HttpParse::kBad);
  EXPECT_EQ(parse_http_head("GET / HTTP/1.1\r\nno colon\r\n\r\n").parse, HttpParse::kBad);
  EXPECT_EQ(parse_http_head("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").parse, HttpParse::kBad);
}

}  // namespace
}  // namespace lvs::bin
