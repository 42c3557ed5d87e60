#pragma once
// Result<T>: a value or an Error, shaped like std::expected (GCC 12 has no <expected> in C++20).
// Errors are values: they carry an errno-style code (so tools can map them to ipvsadm's texts)
// and a message that names the object and says what to fix.

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace lvs::core {

struct Error {
  int code = EINVAL;      // errno-style category, e.g. EEXIST, ESRCH, ERANGE
  std::string message{};  // "weight 70000 for 198.51.100.11:23 is out of range 0..65535"

  bool operator==(const Error&) const = default;
};

inline Error make_error(int code, std::string message) { return Error{code, std::move(message)}; }

// Marks the error alternative when constructing a Result: `return Unexpected{err};`
struct Unexpected {
  Error error;
};

inline Unexpected fail(int code, std::string message) {
  return Unexpected{Error{code, std::move(message)}};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Unexpected u) : v_(std::in_place_index<1>, std::move(u.error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    LVS_ASSERT(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    LVS_ASSERT(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    LVS_ASSERT(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    LVS_ASSERT(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : err_(std::move(u.error)), failed_(true) {}  // NOLINT: implicit by design

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    LVS_ASSERT(failed_);
    return err_;
  }

 private:
  Error err_;
  bool failed_ = false;
};

}  // namespace lvs::core
