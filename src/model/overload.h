#pragma once
// The realserver overload flag (spec §1.2). total = active + inactive connections; persistence
// templates are not counted. Pure functions of (current flag, counts, thresholds): the
// connection table calls them after every bind/unbind and the director after every edit.

#include <cstdint>

namespace lvs::model {

// After a connection or template is bound to the dest: set when u > 0 and total >= u.
constexpr bool overload_after_bind(bool current, std::uint64_t total, std::uint32_t u) {
  return current || (u > 0 && total >= u);
}

// After an entry is unbound: with l > 0 clear below l; else with u > 0 clear when
// total*4 < u*3 (below three quarters of u); with no thresholds at all, clear.
constexpr bool overload_after_unbind(bool current, std::uint64_t total, std::uint32_t u,
                                     std::uint32_t l) {
  if (!current) return false;
  if (l > 0) return total >= l;
  if (u > 0) return total * 4 >= std::uint64_t{u} * 3;
  return false;
}

// After the dest is edited: a new u of 0, or one larger than the old, clears the flag.
constexpr bool overload_after_edit(bool current, std::uint32_t old_u, std::uint32_t new_u) {
  if (new_u == 0 || new_u > old_u) return false;
  return current;
}

}  // namespace lvs::model
