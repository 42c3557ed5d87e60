#include "model/table_ops.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace lvs::model {

namespace {

using core::fail;
using core::Result;

Result<void> check_service(const VirtualService& svc, const SchedulerExists& scheduler_exists) {
  const auto name = svc.key.to_string();
  if (!scheduler_exists(svc.scheduler)) {
    return fail(ENOENT,
                fmt::format("scheduler '{}' for service {} does not exist", svc.scheduler, name));
  }
  if (!svc.pe_name.empty()) {
    return fail(ENOENT, fmt::format("persistence engine '{}' for service {} is not supported",
                                    svc.pe_name, name));
  }
  if (svc.key.af == core::Family::kInet6 && (svc.netmask < 1 || svc.netmask > 128)) {
    return fail(EINVAL, fmt::format("IPv6 persistence prefix {} for service {} is out of range "
                                    "1..128",
                                    svc.netmask, name));
  }
  if (!svc.key.is_fwmark() && svc.key.vip.addr.family() != svc.key.af) {
    return fail(EINVAL, fmt::format("service {}: address family does not match", name));
  }
  if (svc.persistent && (svc.timeout < 1 || svc.timeout > kMaxPersistenceTimeout)) {
    return fail(EINVAL, fmt::format("persistence timeout {} for service {} is out of range "
                                    "1..{}",
                                    svc.timeout, name, kMaxPersistenceTimeout));
  }
  return {};
}

bool is_unicast(const core::IpAddress& a) {
  const auto& b = a.bytes();
  if (a.is_v4()) {
    const auto h = a.v4_host();
    return h != 0 && h != 0xFFFFFFFF && (b[0] & 0xF0) != 0xE0;  // not any, broadcast, multicast
  }
  const bool unspecified = std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
  return !unspecified && b[0] != 0xFF;
}

}  // namespace

Result<void> check_dest(const ServiceKey& key, const RealServer& dest) {
  const auto where = fmt::format("{} in service {}", dest.addr.to_string(), key.to_string());
  if (dest.weight < 0) {
    return fail(ERANGE, fmt::format("weight {} for {} is negative", dest.weight, where));
  }
  if (dest.l_threshold > dest.u_threshold) {
    return fail(ERANGE, fmt::format("lower threshold {} for {} is above its upper threshold {}",
                                    dest.l_threshold, where, dest.u_threshold));
  }
  if (dest.forward == ForwardMethod::kTunnel && dest.tun_type == TunnelType::kGue &&
      dest.tun_port == 0) {
    return fail(EINVAL, fmt::format("GUE tunnel to {} needs a tunnel port", where));
  }
  if (!is_unicast(dest.addr.addr)) {
    return fail(EINVAL, fmt::format("realserver address {} is not unicast", where));
  }
  return {};
}

Result<void> add_service(ServiceTable& table, VirtualService svc,
                         const SchedulerExists& scheduler_exists) {
  if (table.find(svc.key) != nullptr) {
    return fail(EEXIST, fmt::format("service {} already exists", svc.key.to_string()));
  }
  if (auto ok = check_service(svc, scheduler_exists); !ok) return core::Unexpected{ok.error()};
  for (auto& d : svc.dests) {
    if (auto ok = check_dest(svc.key, d); !ok) return core::Unexpected{ok.error()};
  }
  table.services.push_back(std::move(svc));
  return {};
}

Result<void> edit_service(ServiceTable& table, const VirtualService& svc,
                          const SchedulerExists& scheduler_exists) {
  auto* cur = table.find(svc.key);
  if (cur == nullptr) {
    return fail(ESRCH, fmt::format("service {} does not exist", svc.key.to_string()));
  }
  if (auto ok = check_service(svc, scheduler_exists); !ok) return ok;
  auto dests = std::move(cur->dests);
  *cur = svc;
  cur->dests = std::move(dests);
  return {};
}

Result<void> delete_service(ServiceTable& table, const ServiceKey& key) {
  const auto it = std::find_if(table.services.begin(), table.services.end(),
                               [&](const VirtualService& s) { return s.key == key; });
  if (it == table.services.end()) {
    return fail(ESRCH, fmt::format("service {} does not exist", key.to_string()));
  }
  table.services.erase(it);
  return {};
}

Result<void> add_dest(ServiceTable& table, const ServiceKey& key, RealServer dest) {
  auto* svc = table.find(key);
  if (svc == nullptr) {
    return fail(ESRCH, fmt::format("cannot add realserver {}: service {} does not exist",
                                   dest.addr.to_string(), key.to_string()));
  }
  if (auto ok = check_dest(key, dest); !ok) return ok;
  if (svc->find_dest(dest.addr) != nullptr) {
    return fail(EEXIST, fmt::format("realserver {} already exists in service {}",
                                    dest.addr.to_string(), key.to_string()));
  }
  dest.last_weight = dest.weight;
  svc->dests.insert(svc->dests.begin(), dest);
  return {};
}

Result<void> edit_dest(ServiceTable& table, const ServiceKey& key, RealServer dest) {
  auto* svc = table.find(key);
  if (svc == nullptr) {
    return fail(ESRCH, fmt::format("cannot edit realserver {}: service {} does not exist",
                                   dest.addr.to_string(), key.to_string()));
  }
  if (auto ok = check_dest(key, dest); !ok) return ok;
  auto* cur = svc->find_dest(dest.addr);
  if (cur == nullptr) {
    return fail(ENOENT, fmt::format("realserver {} is not in service {}", dest.addr.to_string(),
                                    key.to_string()));
  }
  dest.last_weight = dest.weight != 0 ? dest.weight : cur->last_weight;
  *cur = dest;
  return {};
}

Result<void> delete_dest(ServiceTable& table, const ServiceKey& key, const core::Endpoint& addr) {
  auto* svc = table.find(key);
  if (svc == nullptr) {
    return fail(ESRCH, fmt::format("cannot delete realserver {}: service {} does not exist",
                                   addr.to_string(), key.to_string()));
  }
  const auto it = std::find_if(svc->dests.begin(), svc->dests.end(),
                               [&](const RealServer& d) { return d.addr == addr; });
  if (it == svc->dests.end()) {
    return fail(ENOENT, fmt::format("realserver {} is not in service {}", addr.to_string(),
                                    key.to_string()));
  }
  svc->dests.erase(it);
  return {};
}

std::string ipvsadm_text(Operation op, int code) {
  struct Row {
    Operation op;
    int code;
    const char* text;
  };
  // Operation-specific texts first; kOther rows apply to every operation.
  static constexpr Row kRows[] = {
      {Operation::kAddService, EEXIST, "Service already exists"},
      {Operation::kAddService, ENOENT, "Scheduler or persistence engine not found"},
      {Operation::kEditService, ENOENT, "Scheduler or persistence engine not found"},
      {Operation::kEditService, ESRCH, "No such service"},
      {Operation::kDeleteService, ESRCH, "No such service"},
      {Operation::kZeroService, ESRCH, "No such service"},
      {Operation::kListService, ESRCH, "No such service"},
      {Operation::kAddDest, ESRCH, "Service not defined"},
      {Operation::kEditDest, ESRCH, "Service not defined"},
      {Operation::kDeleteDest, ESRCH, "Service not defined"},
      {Operation::kAddDest, EEXIST, "Destination already exists"},
      {Operation::kEditDest, ENOENT, "No such destination"},
      {Operation::kDeleteDest, ENOENT, "No such destination"},
      {Operation::kStartDaemon, EEXIST, "Daemon has already run"},
      {Operation::kStopDaemon, ESRCH, "No daemon is running"},
      {Operation::kOther, EPERM, "Permission denied (you must be root)"},
      {Operation::kOther, EINVAL,
       "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
      {Operation::kOther, ENOMEM, "Memory allocation problem"},
  };
  for (const auto& r : kRows) {
    if (r.op == op && r.code == code) return r.text;
  }
  for (const auto& r : kRows) {
    if (r.op == Operation::kOther && r.code == code) return r.text;
  }
  return std::strerror(code);
}

}  // namespace lvs::model
