#pragma once
// LVS_ASSERT(cond): for impossible states only. Aborts with file:line and the condition text;
// active in every build type. Errors caused by traffic or configuration are Results instead.

namespace lvs::core {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line);
}  // namespace lvs::core

#define LVS_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::lvs::core::assert_failed(#cond, __FILE__, __LINE__))
