#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace lvs::core {

void assert_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "lvsd: assertion failed at %s:%d: %s\n", file, line, expr);
  std::fflush(stderr);
  std::abort();
}

}  // namespace lvs::core
