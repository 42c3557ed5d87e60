// lvsadm: ipvsadm's command line for a running lvsd. Arguments are parsed here first with the
// same parser the daemon uses, so argument errors print ipvsadm's texts and exit statuses
// without a daemon; -h and -v are answered locally. Everything else is sent to lvsd over the
// control socket ($LVSD_SOCKET, default /run/lvsd/lvsd.sock) and the reply is printed as is,
// exiting with its status. --drain then polls the realserver's connection count (a live
// status line on a terminal, a line per change otherwise).

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctl/control_socket.h"
#include "ctl/drain_progress.h"
#include "ctl/ipvsadm_args.h"

namespace {

using lvs::ctl::Command;
using lvs::ctl::CommandKind;

constexpr auto kPollInterval = std::chrono::milliseconds(200);

struct Client {
  std::string path;

  // Sends one invocation; prints a connection failure and returns nullopt.
  std::optional<lvs::ctl::Reply> call(const lvs::ctl::Request& req) const {
    auto reply = lvs::ctl::call_control(path, req);
    if (reply) return *reply;
    const int code = reply.error().code;
    if (code == ENOENT || code == ECONNREFUSED) {
      std::fprintf(stderr, "lvsadm: cannot connect to lvsd at %s: %s (is lvsd running?)\n",
                   path.c_str(), std::strerror(code));
    } else {
      std::fprintf(stderr, "lvsadm: lvsd at %s: %s\n", path.c_str(), reply.error().message.c_str());
    }
    return std::nullopt;
  }
};

void print(const lvs::ctl::Reply& r) {
  std::fwrite(r.out.data(), 1, r.out.size(), stdout);
  std::fflush(stdout);
  std::fwrite(r.err.data(), 1, r.err.size(), stderr);
}

// active + inactive of the drained dest from `-L -n --json`; nullopt if it is gone.
std::optional<std::pair<std::uint64_t, std::uint64_t>> dest_load(const std::string& json,
                                                                 const Command& cmd) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.contains("services")) return std::nullopt;
  const auto& key = cmd.service.key;
  for (const auto& s : doc["services"]) {
    if (s.value("protocol", "") != lvs::model::protocol_name(key.protocol) ||
        s.value("address", "") != key.vip.addr.to_string() || s.value("port", 0) != key.vip.port) {
      continue;
    }
    for (const auto& d : s["dests"]) {
      if (d.value("address", "") == cmd.dest.addr.addr.to_string() &&
          d.value("port", 0) == cmd.dest.addr.port) {
        return std::pair{d.value("active", std::uint64_t{0}),
                         d.value("inactive", std::uint64_t{0})};
      }
    }
  }
  return std::nullopt;
}

// After the daemon quiesced the dest: polls until no connection is left (exit 0) or the
// --wait deadline passes (exit 1). On a terminal (or with --progress) one status line is
// redrawn at every poll (ctl/drain_progress.h); otherwise a line is printed whenever the count
// changes (scripts read it), and both end with the same last line.
int wait_drained(const Client& client, const std::string& prog, const Command& cmd) {
  const std::string dest = cmd.dest.addr.to_string();
  const bool live = cmd.drain_progress || ::isatty(STDOUT_FILENO) == 1;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::seconds(cmd.drain_wait_seconds);
  const auto finish = [&](const std::string& text) {
    if (live) {
      std::fputs(lvs::ctl::progress_end(text).c_str(), stdout);
    } else {
      std::printf("%s\n", text.c_str());
    }
    std::fflush(stdout);
  };
  std::optional<std::uint64_t> last;
  std::optional<std::uint64_t> initial;
  // Bounded: one round per poll interval until the deadline, at least one round.
  const std::uint64_t rounds = std::uint64_t{cmd.drain_wait_seconds} * 1000U /
                                   static_cast<std::uint64_t>(kPollInterval.count()) +
                               2;
  for (std::uint64_t round = 0; round < rounds; ++round) {
    const auto reply = client.call(lvs::ctl::Request{.argv = {prog, "-L", "-n", "--json"}});
    if (!reply) return 1;
    if (reply->exit_code != 0) {
      if (live && last) std::fputs("\n", stdout);
      print(*reply);
      return reply->exit_code;
    }
    const auto load = dest_load(reply->out, cmd);
    if (!load) {
      finish(fmt::format("{}: no longer in {}", dest, cmd.service.key.to_string()));
      return 0;
    }
    const auto total = load->first + load->second;
    if (total == 0) {
      finish(fmt::format("{}: drained", dest));
      return 0;
    }
    if (!initial) initial = total;
    const auto now = std::chrono::steady_clock::now();
    if (live) {
      const auto secs = [](auto d) { return std::chrono::duration_cast<std::chrono::seconds>(d); };
      std::fputs(lvs::ctl::progress_line(
                     lvs::ctl::DrainProgress{
                         .dest = dest,
                         .active = load->first,
                         .inactive = load->second,
                         .initial = *initial,
                         .elapsed = secs(now - start),
                         .remaining = secs(deadline > now ? deadline - now
                                                          : std::chrono::steady_clock::duration{})})
                     .c_str(),
                 stdout);
      std::fflush(stdout);
    } else if (!last || *last != total) {
      std::printf("%s: %llu connections (%llu active, %llu inactive)\n", dest.c_str(),
                  static_cast<unsigned long long>(total),
                  static_cast<unsigned long long>(load->first),
                  static_cast<unsigned long long>(load->second));
      std::fflush(stdout);
    }
    last = total;
    if (now >= deadline) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  if (live) std::fputs("\n", stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "lvsadm: %s still has %llu connections after %u s\n", dest.c_str(),
               static_cast<unsigned long long>(last.value_or(0)), cmd.drain_wait_seconds);
  return 1;
}

// `lvsadm --check`, for keepalived's track_script: exit 0 when lvsd answers within
// kCheckTimeout, its data plane can forward (lvsd's --check-data-plane: the XDP program still
// attached to every interface, the proxy's workers turning) and every service has a
// realserver of weight > 0 (health took the others out or set them to 0); else exit 1 with one
// line on stderr saying why. lvsd's VRRP role plays no part: a backup must pass to become
// master.
constexpr auto kCheckTimeout = std::chrono::milliseconds(1500);

// One request for a check within kCheckTimeout; lvsd not answering is printed as `what`'s
// failure (nullopt).
std::optional<lvs::ctl::Reply> ask(std::string_view what, std::vector<std::string> argv) {
  auto reply = lvs::ctl::call_control(lvs::ctl::control_socket_path(),
                                      lvs::ctl::Request{.argv = std::move(argv)}, kCheckTimeout);
  if (!reply) {
    std::fprintf(stderr, "lvsadm %.*s: lvsd at %s: %s\n", static_cast<int>(what.size()),
                 what.data(), lvs::ctl::control_socket_path().c_str(),
                 reply.error().message.c_str());
    return std::nullopt;
  }
  return std::move(reply).value();
}

int check(const std::string& prog) {
  const auto forwards = ask("--check", {prog, "--check-data-plane"});
  if (!forwards) return 1;
  if (forwards->exit_code != 0) {
    std::fprintf(stderr, "lvsadm --check: %s", forwards->err.c_str());
    return 1;
  }
  const auto reply = ask("--check", {prog, "-L", "-n", "--json"});
  if (!reply) return 1;
  if (reply->exit_code != 0) {
    std::fprintf(stderr, "lvsadm --check: lvsd refused the listing: %s", reply->err.c_str());
    return 1;
  }
  const auto doc = nlohmann::json::parse(reply->out, nullptr, false);
  if (doc.is_discarded() || !doc.contains("services") || !doc["services"].is_array()) {
    std::fprintf(stderr, "lvsadm --check: lvsd's listing is not the expected JSON\n");
    return 1;
  }
  const auto& services = doc["services"];
  if (services.empty()) {
    std::fprintf(stderr, "lvsadm --check: lvsd has no virtual service\n");
    return 1;
  }
  for (const auto& s : services) {
    bool up = false;
    for (const auto& d : s.value("dests", nlohmann::json::array())) {
      if (d.value("weight", 0) > 0) up = true;
    }
    if (!up) {
      const auto port = s.value("port", 0);
      std::fprintf(stderr, "lvsadm --check: service %s %s:%d has no realserver up\n",
                   s.value("protocol", "?").c_str(), s.value("address", "?").c_str(), port);
      return 1;
    }
  }
  std::printf("lvsd ok: %zu services, each with a realserver up; %s", services.size(),
              forwards->out.c_str());
  return 0;
}

// `lvsadm --check-sync`, keepalived's second track_script (issue 9): lvsd's answer
// (ctl::sync_readiness) within kCheckTimeout; lvsd not answering is exit 1 too.
int check_sync(const std::string& prog) {
  const auto reply = ask("--check-sync", {prog, "--check-sync"});
  if (!reply) return 1;
  print(*reply);
  return reply->exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  const std::string prog = args.empty() ? "lvsadm" : args.front();
  // lvsd's own commands beside ipvsadm's (issue 9): --check and --check-sync (keepalived's
  // track_scripts) and --ha-status (the followed VRRP role).
  if (args.size() == 2 && args[1] == "--check") return check(prog);
  if (args.size() == 2 && args[1] == "--check-sync") return check_sync(prog);
  if (args.size() == 2 && args[1] == "--ha-status") {
    const Client client{.path = lvs::ctl::control_socket_path()};
    const auto reply = client.call(lvs::ctl::Request{.argv = args});
    if (!reply) return 1;
    print(*reply);
    return reply->exit_code;
  }
  const auto cmd = lvs::ctl::parse_ipvsadm_args(args);
  if (!cmd) {
    std::fprintf(stderr, "%s\n", cmd.error().text.c_str());
    return cmd.error().exit_code;
  }
  if (cmd->kind == CommandKind::kHelp) {
    std::fputs(lvs::ctl::help_text(prog).c_str(), stdout);
    return 0;
  }
  if (cmd->kind == CommandKind::kVersion) {
    std::printf("%s\n", lvs::ctl::version_line().c_str());
    return 0;
  }
  lvs::ctl::Request req{.argv = args};
  if (cmd->kind == CommandKind::kRestore) {
    req.input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (req.input.size() > lvs::ctl::kMaxRequest - std::size_t{64} * 1024) {
      std::fprintf(stderr, "lvsadm: the -R input of %zu bytes exceeds the limit of %zu bytes\n",
                   req.input.size(), lvs::ctl::kMaxRequest - std::size_t{64} * 1024);
      return 1;
    }
  }
  const Client client{.path = lvs::ctl::control_socket_path()};
  const auto reply = client.call(req);
  if (!reply) return 1;
  print(*reply);
  if (cmd->kind == CommandKind::kDrain && reply->exit_code == 0) {
    std::printf("draining %s from %s: weight 0\n", cmd->dest.addr.to_string().c_str(),
                cmd->service.key.to_string().c_str());
    return wait_drained(client, prog, *cmd);
  }
  return reply->exit_code;
}
