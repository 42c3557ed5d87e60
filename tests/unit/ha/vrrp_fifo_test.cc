// keepalived's vrrp_notify_fifo lines (keepalived.conf(5)) and the role lvsd takes from them.
#include "ha/vrrp_fifo.h"

#include <gtest/gtest.h>

namespace lvs::ha {
namespace {

// The line keepalived.conf(5) shows is an instance going MASTER at priority 100.
TEST(VrrpFifoLine, ParsesTheManPageExample) {
  auto ev = parse_fifo_line(R"(INSTANCE "VI_1" MASTER 100)");
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(*ev, (FifoEvent{.scope = Scope::kInstance,
                            .name = "VI_1",
                            .state = FifoState::kMaster,
                            .priority = 100}));
}

// Every state keepalived writes is known, groups too; a trailing CR is tolerated.
TEST(VrrpFifoLine, KnowsEveryState) {
  const std::pair<const char*, FifoState> cases[] = {
      {R"(INSTANCE "a b" BACKUP 90)", FifoState::kBackup},
      {R"(INSTANCE "VI_1" FAULT 0)", FifoState::kFault},
      {R"(INSTANCE "VI_1" STOP 0)", FifoState::kStop},
      {R"(INSTANCE "VI_1" DELETED 0)", FifoState::kDeleted},
      {R"(INSTANCE "VI_1" MASTER_RX_LOWER_PRI 100)", FifoState::kMasterRxLowerPri},
      {R"(INSTANCE "VI_1" MASTER_PRIORITY 50)", FifoState::kMasterPriority},
      {"GROUP \"VG\" BACKUP_PRIORITY 50\r", FifoState::kBackupPriority},
  };
  for (const auto& [line, state] : cases) {
    auto ev = parse_fifo_line(line);
    ASSERT_TRUE(ev) << line << ": " << ev.error().message;
    EXPECT_EQ(ev->state, state) << line;
  }
  EXPECT_EQ(parse_fifo_line(R"(INSTANCE "a b" BACKUP 90)")->name, "a b");
  EXPECT_EQ(parse_fifo_line("GROUP \"VG\" BACKUP_PRIORITY 50\r")->scope, Scope::kGroup);
}

// A bad line is an error that quotes it and says what is wrong.
TEST(VrrpFifoLine, BadLinesNameTheLineAndTheFault) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "unknown kind ''"},
      {R"(VS "x" UP 1)", "unknown kind 'VS'"},
      {"INSTANCE VI_1 MASTER 100", "the name is not quoted"},
      {R"(INSTANCE "VI_1 MASTER 100)", "closing quote"},
      {R"(INSTANCE "" MASTER 100)", "the name is empty"},
      {R"(INSTANCE "VI_1" SLAVE 100)", "unknown state 'SLAVE'"},
      {R"(INSTANCE "VI_1" MASTER)", "priority '' is not 0..255"},
      {R"(INSTANCE "VI_1" MASTER 256)", "priority '256'"},
      {R"(INSTANCE "VI_1" MASTER 10x)", "priority '10x'"},
      {R"(INSTANCE "VI_1" MASTER 100 extra)", "extra words"},
      {R"(INSTANCE "VI_1"MASTER 100)", "no blank after the name"},
  };
  for (const auto& [line, what] : cases) {
    auto ev = parse_fifo_line(line);
    ASSERT_FALSE(ev) << line;
    EXPECT_NE(ev.error().message.find(what), std::string::npos) << ev.error().message;
    EXPECT_NE(ev.error().message.find(std::string("'") + line + "'"), std::string::npos)
        << ev.error().message;
  }
}

// Only the followed name moves the role; notes about priority leave it; STOP and DELETED stop.
TEST(VrrpRole, FollowsOneNameThroughItsStates) {
  const auto ev = [](const char* name, FifoState s) {
    return FifoEvent{.scope = Scope::kInstance, .name = name, .state = s, .priority = 0};
  };
  Role r = Role::kUnknown;
  r = next_role(r, ev("VI_2", FifoState::kMaster), "VI_1");
  EXPECT_EQ(r, Role::kUnknown);
  r = next_role(r, ev("VI_1", FifoState::kBackup), "VI_1");
  EXPECT_EQ(r, Role::kBackup);
  r = next_role(r, ev("VI_1", FifoState::kMaster), "VI_1");
  EXPECT_EQ(r, Role::kMaster);
  EXPECT_TRUE(serves(r));
  r = next_role(r, ev("VI_1", FifoState::kMasterRxLowerPri), "VI_1");
  EXPECT_EQ(r, Role::kMaster);
  r = next_role(r, ev("VI_1", FifoState::kBackupPriority), "VI_1");
  EXPECT_EQ(r, Role::kMaster);
  r = next_role(r, ev("VI_1", FifoState::kFault), "VI_1");
  EXPECT_EQ(r, Role::kFault);
  EXPECT_FALSE(serves(r));
  r = next_role(r, ev("VI_1", FifoState::kStop), "VI_1");
  EXPECT_EQ(r, Role::kStopped);
  EXPECT_EQ(next_role(Role::kMaster, ev("VI_1", FifoState::kDeleted), "VI_1"), Role::kStopped);
  EXPECT_EQ(role_name(Role::kStopped), "STOP");
  EXPECT_FALSE(serves(Role::kBackup));
  EXPECT_FALSE(serves(Role::kStopped));
}

// Nothing heard yet serves: keepalived reports changes only, so an lvsd started after
// keepalived on the master would otherwise stand by until the next election.
TEST(VrrpRole, NoRoleReportedYetServes) { EXPECT_TRUE(serves(Role::kUnknown)); }

}  // namespace
}  // namespace lvs::ha
