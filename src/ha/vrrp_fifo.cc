#include "ha/vrrp_fifo.h"

#include <charconv>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace lvs::ha {
namespace {

struct StateWord {
  std::string_view word;
  FifoState state;
};

constexpr StateWord kStates[] = {
    {"MASTER", FifoState::kMaster},
    {"BACKUP", FifoState::kBackup},
    {"FAULT", FifoState::kFault},
    {"STOP", FifoState::kStop},
    {"DELETED", FifoState::kDeleted},
    {"MASTER_RX_LOWER_PRI", FifoState::kMasterRxLowerPri},
    {"MASTER_PRIORITY", FifoState::kMasterPriority},
    {"BACKUP_PRIORITY", FifoState::kBackupPriority},
};

core::Unexpected bad(std::string_view line, std::string_view what) {
  return core::fail(EINVAL, fmt::format("vrrp_notify_fifo line '{}': {}; expected INSTANCE|GROUP "
                                        "\"NAME\" MASTER|BACKUP|FAULT|STOP|DELETED|"
                                        "MASTER_RX_LOWER_PRI PRIORITY",
                                        line, what));
}

std::string_view skip_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// The next blank-separated word, removed from `s`.
std::string_view next_word(std::string_view& s) {
  s = skip_blanks(s);
  const auto end = s.find_first_of(" \t");
  const auto w = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return w;
}

}  // namespace

std::string_view role_name(Role r) {
  switch (r) {
    case Role::kUnknown:
      return "UNKNOWN";
    case Role::kBackup:
      return "BACKUP";
    case Role::kMaster:
      return "MASTER";
    case Role::kFault:
      return "FAULT";
    case Role::kStopped:
      return "STOP";
  }
  return "UNKNOWN";
}

core::Result<FifoEvent> parse_fifo_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view rest = line;
  FifoEvent ev;
  const auto scope = next_word(rest);
  if (scope == "INSTANCE") {
    ev.scope = Scope::kInstance;
  } else if (scope == "GROUP") {
    ev.scope = Scope::kGroup;
  } else {
    return bad(line, fmt::format("unknown kind '{}'", scope));
  }
  rest = skip_blanks(rest);
  if (rest.empty() || rest.front() != '"') return bad(line, "the name is not quoted");
  rest.remove_prefix(1);
  const auto close = rest.find('"');
  if (close == std::string_view::npos) return bad(line, "the name's closing quote is missing");
  ev.name = std::string(rest.substr(0, close));
  if (ev.name.empty()) return bad(line, "the name is empty");
  rest.remove_prefix(close + 1);
  if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') {
    return bad(line, "no blank after the name");
  }
  const auto state = next_word(rest);
  bool found = false;
  for (const auto& s : kStates) {
    if (s.word == state) {
      ev.state = s.state;
      found = true;
    }
  }
  if (!found) return bad(line, fmt::format("unknown state '{}'", state));
  const auto prio = next_word(rest);
  const auto [p, ec] = std::from_chars(prio.data(), prio.data() + prio.size(), ev.priority);
  if (prio.empty() || ec != std::errc{} || p != prio.data() + prio.size() || ev.priority > 255) {
    return bad(line, fmt::format("priority '{}' is not 0..255", prio));
  }
  if (!skip_blanks(rest).empty()) return bad(line, "extra words after the priority");
  return ev;
}

Role next_role(Role current, const FifoEvent& event, std::string_view followed) {
  if (event.name != followed) return current;
  switch (event.state) {
    case FifoState::kMaster:
      return Role::kMaster;
    case FifoState::kBackup:
      return Role::kBackup;
    case FifoState::kFault:
      return Role::kFault;
    case FifoState::kStop:
    case FifoState::kDeleted:
      return Role::kStopped;
    case FifoState::kMasterRxLowerPri:
    case FifoState::kMasterPriority:
    case FifoState::kBackupPriority:
      return current;
  }
  return current;
}

}  // namespace lvs::ha
