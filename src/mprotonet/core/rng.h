// SPDX-License-Identifier: MIT
// The explicit, seeded random source used by the training-time augmentation and by the
// mapping loss. Every random draw of training goes through one of these objects, never through
// global state (std::rand, torch's default generator), so a run is reproducible from its seed
// and independent of thread scheduling when each sample gets its own derived stream.
#pragma once

#include <ATen/core/Generator.h>

#include <cstdint>
#include <initializer_list>
#include <random>

namespace mprotonet {

/// A 64-bit Mersenne Twister with the few draws augmentation needs. The floating-point and
/// integer draws are implemented here (not with std::*_distribution, whose algorithms are
/// implementation-defined), so a seed gives the same numbers with any standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed);

  /// An independent stream for (seed, k1, k2, ...), e.g. (run seed, epoch, sample index):
  /// the data loader can give every sample its own generator, so the augmented batch does not
  /// depend on which worker thread prepared it.
  static Rng derive(uint64_t seed, std::initializer_list<uint64_t> keys);

  /// Next raw 64-bit value.
  uint64_t next_u64() { return engine_(); }
  /// Uniform double in [lo, hi) (53 random bits).
  double uniform(double lo, double hi);
  /// True with probability p (p <= 0 never, p >= 1 always; one draw is consumed either way).
  bool bernoulli(double p);
  /// Uniform integer in [0, n), n >= 1, without modulo bias.
  int64_t randint(int64_t n);
  /// A fresh torch CPU generator seeded from this stream, for drawing noise tensors with
  /// torch's fast kernels without touching torch's global generator.
  at::Generator torch_generator();

 private:
  std::mt19937_64 engine_;
};

}  // namespace mprotonet
