#pragma once
// Changes to a ServiceTable with the engine's validation (spec §4.4). Every operation either
// applies completely or returns an Error and leaves the table untouched. Error::code is the
// errno the kernel would return (EEXIST, ESRCH, ENOENT, ERANGE, EINVAL); Error::message names
// the object and says what is wrong. ipvsadm_text() gives ipvsadm's own wording (spec §4.5).

#include <functional>
#include <string_view>

#include "core/result.h"
#include "model/service.h"

namespace lvs::model {

// Tells whether a scheduler name exists (the model does not depend on the schedulers).
using SchedulerExists = std::function<bool(std::string_view)>;

core::Result<void> add_service(ServiceTable& table, VirtualService svc,
                               const SchedulerExists& scheduler_exists);
// Replaces the service's attributes (scheduler, persistence, flags); keeps its realservers.
core::Result<void> edit_service(ServiceTable& table, const VirtualService& svc,
                                const SchedulerExists& scheduler_exists);
core::Result<void> delete_service(ServiceTable& table, const ServiceKey& key);

// Inserts at the front of the service's list (newest first). Sets last_weight = weight.
core::Result<void> add_dest(ServiceTable& table, const ServiceKey& key, RealServer dest);
// Replaces the dest's attributes in place (it keeps its position). last_weight is updated
// only when the new weight is non-zero.
core::Result<void> edit_dest(ServiceTable& table, const ServiceKey& key, RealServer dest);
core::Result<void> delete_dest(ServiceTable& table, const ServiceKey& key,
                               const core::Endpoint& addr);

// Checks one realserver's values on their own (weight, thresholds, tunnel, address).
core::Result<void> check_dest(const ServiceKey& key, const RealServer& dest);

enum class Operation {
  kAddService,
  kEditService,
  kDeleteService,
  kZeroService,
  kListService,
  kAddDest,
  kEditDest,
  kDeleteDest,
  kStartDaemon,
  kStopDaemon,
  kOther,
};

// ipvsadm's message for an engine error (spec §4.5), e.g. (kAddService, EEXIST) ->
// "Service already exists"; unknown pairs fall back to strerror().
std::string ipvsadm_text(Operation op, int code);

}  // namespace lvs::model
