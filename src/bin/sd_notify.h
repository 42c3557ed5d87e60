#pragma once
// systemd's readiness protocol without libsystemd: one datagram ("READY=1", "RELOADING=1",
// "STOPPING=1", ...) on the Unix socket named by $NOTIFY_SOCKET (a leading '@' is the abstract
// namespace). Without $NOTIFY_SOCKET (not started by systemd with Type=notify) it does nothing.

#include <string_view>

namespace lvs::bin {

// Returns false only when $NOTIFY_SOCKET is set and the datagram could not be sent.
bool sd_notify(std::string_view state);

}  // namespace lvs::bin
