// SPDX-License-Identifier: MIT
// Seeded random source of training: augmentation, the mapping loss, the loader (see rng.h).
#include "mprotonet/core/rng.h"

#include <ATen/CPUGeneratorImpl.h>

#include <vector>

#include "mprotonet/core/error.h"

namespace mprotonet {

Rng::Rng(uint64_t seed) : engine_(seed) {}

Rng Rng::derive(uint64_t seed, std::initializer_list<uint64_t> keys) {
  // seed_seq mixes all 32-bit halves, so nearby (seed, epoch, index) tuples give unrelated
  // streams (plain seed + index would give overlapping, correlated Mersenne states).
  std::vector<uint32_t> words;
  auto push = [&words](uint64_t v) {
    words.push_back(static_cast<uint32_t>(v & 0xffffffffu));
    words.push_back(static_cast<uint32_t>(v >> 32));
  };
  push(seed);
  for (uint64_t k : keys) push(k);
  std::seed_seq seq(words.begin(), words.end());
  Rng rng(0);
  rng.engine_.seed(seq);
  return rng;
}

double Rng::uniform(double lo, double hi) {
  const double u = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);  // 2^-53
  return lo + (hi - lo) * u;
}

bool Rng::bernoulli(double p) { return uniform(0.0, 1.0) < p; }

int64_t Rng::randint(int64_t n) {
  check(n >= 1, "Rng::randint: the range size must be >= 1, got " + std::to_string(n));
  const uint64_t un = static_cast<uint64_t>(n);
  // Reject the top partial block so every value is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % un);
  uint64_t v;
  do {
    v = engine_();
  } while (v >= limit);
  return static_cast<int64_t>(v % un);
}

at::Generator Rng::torch_generator() {
  return at::make_generator<at::CPUGeneratorImpl>(engine_());
}

}  // namespace mprotonet
