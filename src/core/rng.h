#pragma once
// Randomness is passed in (twos scheduler, checker warm-up) so tests can script it.

#include <cstdint>
#include <random>
#include <vector>

namespace lvs::core {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual std::uint32_t next_u32() = 0;
};

// Seeded from std::random_device unless a seed is given. Not thread-safe: one per thread.
class SystemRng final : public Rng {
 public:
  SystemRng() : gen_(std::random_device{}()) {}
  explicit SystemRng(std::uint64_t seed) : gen_(seed) {}
  std::uint32_t next_u32() override { return static_cast<std::uint32_t>(gen_()); }

 private:
  std::mt19937_64 gen_;
};

// Returns the scripted values in order, then repeats the last one (0 if none were given).
class SequenceRng final : public Rng {
 public:
  explicit SequenceRng(std::vector<std::uint32_t> values) : values_(std::move(values)) {}
  std::uint32_t next_u32() override {
    if (values_.empty()) return 0;
    const std::uint32_t v = values_[pos_];
    if (pos_ + 1 < values_.size()) ++pos_;
    return v;
  }

 private:
  std::vector<std::uint32_t> values_;
  std::size_t pos_ = 0;
};

}  // namespace lvs::core
