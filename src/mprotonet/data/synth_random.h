// SPDX-License-Identifier: MIT
// Seeded randomness and smooth random fields of the synthetic cohort (data/synthetic.h).
//
// The generator owns its distributions (std:: distributions differ between standard
// libraries), so a seed gives the same bytes with any compiler. A case draws everything from
// its own stream derived from (cohort seed, case index), so neither the thread count nor the
// number of cases changes it.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace mprotonet::synth {

using Vec3 = std::array<double, 3>;

constexpr double kPi = 3.14159265358979323846;

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The seed of one case's stream (or of a named sub-stream: `stream` keeps draws of separate
/// parts, e.g. the per-voxel noise, from shifting each other).
inline uint64_t case_seed(uint64_t seed, int index, uint64_t stream = 0) {
  uint64_t a = seed;
  uint64_t h = splitmix64(a);
  uint64_t b = h ^ (0xA5A5A5A5ULL + static_cast<uint64_t>(index) * 0x100000001B3ULL) ^ (stream * 0x9E3779B97F4A7C15ULL);
  return splitmix64(b);
}

/// xoshiro256** (Blackman & Vigna), seeded through splitmix64, with its own uniform and normal.
class SynthRng {
 public:
  explicit SynthRng(uint64_t seed) {
    for (auto& s : s_) s = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  /// exp(U[log a, log b]): a scale drawn evenly on a log axis.
  double log_uniform(double a, double b) { return std::exp(uniform(std::log(a), std::log(b))); }
  bool bernoulli(double p) { return uniform() < p; }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 1e-300) u1 = uniform();
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * kPi * u2);
    has_spare_ = true;
    return r * std::cos(2 * kPi * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

/// A smooth random field: a sum of random plane waves with wavelengths in [lmin, lmax] mm
/// (band-limited, seedable, evaluated anywhere without a grid), normalised to unit standard
/// deviation over random positions, so callers scale it by the amplitude they want.
class WaveField {
 public:
  WaveField() = default;
  WaveField(SynthRng& rng, int terms, double lmin, double lmax) {
    double power = 0;
    for (int t = 0; t < terms; ++t) {
      Vec3 dir{rng.normal(), rng.normal(), rng.normal()};
      const double n = std::sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]) + 1e-12;
      const double k = 2 * kPi / rng.uniform(lmin, lmax);
      Wave w;
      for (int a = 0; a < 3; ++a) w.k[a] = dir[a] / n * k;
      w.phase = rng.uniform(0, 2 * kPi);
      w.amp = rng.uniform(0.5, 1.0);
      power += w.amp * w.amp / 2;
      waves_.push_back(w);
    }
    const double norm = 1.0 / std::sqrt(power);
    for (auto& w : waves_) w.amp *= norm;
  }
  double operator()(const Vec3& p) const {
    double s = 0;
    for (const auto& w : waves_) s += w.amp * std::sin(w.k[0] * p[0] + w.k[1] * p[1] + w.k[2] * p[2] + w.phase);
    return s;
  }
  bool empty() const { return waves_.empty(); }

 private:
  struct Wave {
    double k[3];
    double phase;
    double amp;
  };
  std::vector<Wave> waves_;
};

}  // namespace mprotonet::synth
