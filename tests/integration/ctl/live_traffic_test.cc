// Changes through lvsadm under live traffic: weights, quiesce, a scheduler edit, deleting a
// realserver and adding one, while a background client keeps connecting through the proxy.
// No request fails, an established connection survives all of it (its realserver deleted
// included), and each change shows in the distribution of the requests that follow it.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/ctl/harness.h"
#include "integration/dp/proxy/loopback.h"

namespace lvs::testing {
namespace {

constexpr int kBackgroundMax = 3000;  // bound of the background client's loop

class LiveTraffic : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(d.ready()); }

  void ok(const std::vector<std::string>& args) {
    const auto r = d.lvsadm(args);
    ASSERT_EQ(r.exit_code, 0) << fmt::format("{}", fmt::join(args, " ")) << ": " << r.err;
  }
  // One request: connect to the VIP, read the realserver's name.
  std::string request() const {
    auto fd = connect_tcp(vip);
    if (!fd) return "";
    return read_line(fd.get());
  }
  // `n` requests with the background client held off, so the picks are consecutive.
  std::map<std::string, int> sample(int n) {
    const std::lock_guard lock(traffic_mu);
    std::map<std::string, int> seen;
    for (int i = 0; i < n; ++i) ++seen[request()];
    return seen;
  }

  Lvsd d{};
  NameServer a{"a", "127.0.0.11"};
  NameServer b{"b", "127.0.0.12"};
  NameServer c{"c", "127.0.0.13"};
  core::Endpoint vip{};
  std::mutex traffic_mu;
};

TEST_F(LiveTraffic, ChangesTakeEffectWithoutFailedRequests) {
  const auto port = free_port("127.0.0.1");
  const std::string v = fmt::format("127.0.0.1:{}", port);
  vip = *core::Endpoint::parse(v);
  ok({"-A", "-t", v, "-s", "rr"});
  ok({"-a", "-t", v, "-r", a.addr().to_string(), "--fullnat"});
  // An established connection on a, kept open through every change below.
  auto held = connect_tcp(vip);
  ASSERT_EQ(read_line(held.get()), "a");
  ok({"-a", "-t", v, "-r", b.addr().to_string(), "--fullnat"});

  std::atomic<bool> stop{false};
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::thread background([&] {
    for (int i = 0; i < kBackgroundMax && !stop.load(); ++i) {
      const std::lock_guard lock(traffic_mu);
      const auto name = request();
      if (name != "a" && name != "b" && name != "c") ++failed;
      ++done;
    }
  });

  // rr over a and b.
  EXPECT_EQ(sample(20), (std::map<std::string, int>{{"a", 10}, {"b", 10}}));
  // The held connection shows as a's active connection in the live listing.
  const auto json = nlohmann::json::parse(d.lvsadm({"-L", "-n", "--json"}).out);
  int a_active = 0;
  for (const auto& dest : json["services"][0]["dests"]) {
    if (dest["address"] == "127.0.0.11") a_active = dest["active"];
  }
  EXPECT_GE(a_active, 1);

  // Quiesce b: new connections go to a only.
  ok({"-e", "-t", v, "-r", b.addr().to_string(), "--fullnat", "-w", "0"});
  EXPECT_EQ(sample(20), (std::map<std::string, int>{{"a", 20}}));

  // Weights a=1, b=3 and the scheduler edited to wrr: 1:3.
  ok({"-e", "-t", v, "-r", b.addr().to_string(), "--fullnat", "-w", "3"});
  ok({"-E", "-t", v, "-s", "wrr"});
  EXPECT_EQ(sample(40), (std::map<std::string, int>{{"a", 10}, {"b", 30}}));

  // Delete a (the held connection's realserver) and add c with weight 1: b:c = 3:1.
  ok({"-d", "-t", v, "-r", a.addr().to_string()});
  ok({"-a", "-t", v, "-r", c.addr().to_string(), "--fullnat", "-w", "1"});
  EXPECT_EQ(sample(40), (std::map<std::string, int>{{"b", 30}, {"c", 10}}));

  // A drain that cannot finish in time reports the remaining connections and exits 1.
  auto held_b = connect_tcp(vip);
  const auto held_b_name = read_line(held_b.get());
  ASSERT_TRUE(held_b_name == "b" || held_b_name == "c");
  const auto dest = held_b_name == "b" ? b.addr().to_string() : c.addr().to_string();
  const auto drain = d.lvsadm({"--drain", "-t", v, "-r", dest, "--wait", "1"});
  EXPECT_EQ(drain.exit_code, 1) << drain.out << drain.err;
  EXPECT_NE(drain.err.find("still has"), std::string::npos) << drain.err;

  stop = true;
  background.join();
  EXPECT_GT(done.load(), 0);
  EXPECT_EQ(failed.load(), 0);

  // The held connection still works after its realserver was deleted.
  ASSERT_EQ(::send(held.get(), "ping\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(read_line(held.get()), "ping");
  // -C clears the table; the established connection finishes normally.
  ok({"-C"});
  ASSERT_EQ(::send(held_b.get(), "pong\n", 5, MSG_NOSIGNAL), 5);
  EXPECT_EQ(read_line(held_b.get()), "pong");
}

}  // namespace
}  // namespace lvs::testing
