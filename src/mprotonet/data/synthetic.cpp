// SPDX-License-Identifier: MIT
// Synthetic BraTS-like cohort generator (see synthetic.h for the design).
//
// Every structure is an analytic field in "canonical" brain coordinates (RAS mm around the brain
// centre, before the per-case head pose): signed distances (mm, positive inside) turned into
// partial-volume weights by a one-voxel linear ramp, so edges look like a sampled image rather
// than a staircase at any spacing. Smooth random fields are sums of random plane waves
// (cheap, seedable, band-limited), used for the lobulated outline, cortical folding (the zero
// set of a field gives meandering sulci), tissue texture, tumour lobulation and bias fields.
#include "mprotonet/data/synthetic.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/nifti.h"

namespace mprotonet {

namespace fs = std::filesystem;

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr const char* kGeneratorName = "mprotonet synthetic BraTS-like cohort";
constexpr int kGeneratorVersion = 1;  // bump when the output of a given seed changes

// ---- seeded randomness (own distributions: std:: distributions differ between libraries) ----

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xoshiro256** (Blackman & Vigna), seeded through splitmix64.
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

uint64_t case_seed(uint64_t seed, int index) {
  uint64_t a = seed;
  uint64_t h = splitmix64(a);
  uint64_t b = h ^ (0xA5A5A5A5ULL + static_cast<uint64_t>(index) * 0x100000001B3ULL);
  return splitmix64(b);
}

// ---- smooth random fields ---------------------------------------------------------------

using Vec3 = std::array<double, 3>;

// Sum of random plane waves with wavelengths in [lmin, lmax]; normalised to unit standard
// deviation (over random positions), so callers scale it by the amplitude they want.
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
  // Value and gradient magnitude (used for the distance to the field's zero set).
  double value_grad(const Vec3& p, double& grad_norm) const {
    double s = 0, g[3] = {0, 0, 0};
    for (const auto& w : waves_) {
      const double arg = w.k[0] * p[0] + w.k[1] * p[1] + w.k[2] * p[2] + w.phase;
      s += w.amp * std::sin(arg);
      const double c = w.amp * std::cos(arg);
      for (int a = 0; a < 3; ++a) g[a] += c * w.k[a];
    }
    grad_norm = std::sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
    return s;
  }

 private:
  struct Wave {
    double k[3];
    double phase;
    double amp;
  };
  std::vector<Wave> waves_;
};

// ---- tissue contrast ------------------------------------------------------------------------

// Mean intensities (t1, t1ce, t2, flair) in a BraTS-like int16 range, chosen from the relative
// contrasts of clinical scans: T1 WM > GM > CSF; T2 CSF >> GM > WM; FLAIR CSF suppressed,
// GM > WM, edema and tumour bright; T1CE = T1 plus gadolinium uptake in the enhancing rim.
enum Class { kWM, kGM, kDeep, kCSF, kEdema, kLggCore, kNecrosis, kEnhancing, kNonEnhancing, kClasses };
constexpr double kContrast[kClasses][4] = {
    /* WM            */ {520, 540, 420, 330},
    /* GM            */ {390, 410, 620, 460},
    /* deep grey     */ {475, 495, 500, 365},
    /* CSF           */ {120, 135, 1900, 70},
    /* edema         */ {360, 375, 1150, 700},
    /* LGG core      */ {300, 310, 1400, 740},
    /* necrosis      */ {210, 220, 1550, 430},
    /* enhancing rim */ {400, 1300, 950, 580},
    /* non-enhancing */ {320, 360, 1150, 640},
};

// Linear partial-volume ramp: 0 outside, 1 inside, over one voxel around signed distance 0.
struct Ramp {
  double inv_width;
  double operator()(double signed_mm) const { return std::clamp(0.5 + signed_mm * inv_width, 0.0, 1.0); }
};

double mix(double a, double b, double w) { return a + (b - a) * w; }

struct Ellipsoid {
  Vec3 centre, semi;
  double cos_a = 1, sin_a = 0;  // rotation about z
  // Approximate signed distance (mm, positive inside).
  double inside_mm(const Vec3& q) const {
    const double dx0 = q[0] - centre[0], dy0 = q[1] - centre[1];
    const double dx = cos_a * dx0 + sin_a * dy0, dy = -sin_a * dx0 + cos_a * dy0;
    const double dz = q[2] - centre[2];
    const double r = std::sqrt((dx / semi[0]) * (dx / semi[0]) + (dy / semi[1]) * (dy / semi[1]) +
                               (dz / semi[2]) * (dz / semi[2]));
    return (1.0 - r) * std::min({semi[0], semi[1], semi[2]});
  }
};

// Everything drawn for one case before any voxel is computed (the "parameters" half of a
// random transform, MONAI-style); render() is then a pure function of these.
struct CaseParams {
  bool hgg = true, atypical = false;
  // head pose and size (nuisances)
  double rot[3][3];
  Vec3 shift{}, centre{}, scale{};
  // brain shape
  double ax = 68, ay = 84, az = 56;
  WaveField outline, folding, texture;
  double sulcus_depth = 14;
  std::vector<Ellipsoid> ventricles, deep_grey;
  // contrast (per case jitter) and nuisances per modality
  double contrast[kClasses][4];
  double scan_scale[4];
  WaveField bias[4];
  double noise_sigma[4];
  // tumour
  Vec3 tumour{};
  double core_radius = 15, edema_radius = 25, necrosis_fraction = 0.5;
  double heterogeneity = 0.1, nonenh_threshold = 1.5, faint_enh_threshold = 99, faint_enh_gain = 0;
  bool rim_enhances = true;
  WaveField lob_core, lob_edema, edema_fingers, lob_necrosis, tumour_texture, patches;
};

void make_rotation(double rx, double ry, double rz, double out[3][3]) {
  const double cx = std::cos(rx), sx = std::sin(rx), cy = std::cos(ry), sy = std::sin(ry), cz = std::cos(rz),
               sz = std::sin(rz);
  const double Rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
  const double Ry[3][3] = {{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}};
  const double Rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
  double t[3][3];
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      t[r][c] = 0;
      for (int k = 0; k < 3; ++k) t[r][c] += Ry[r][k] * Rx[k][c];
    }
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      out[r][c] = 0;
      for (int k = 0; k < 3; ++k) out[r][c] += Rz[r][k] * t[k][c];
    }
}

bool is_hgg(const SyntheticOptions& o, int index) {
  // Weyl sequence with the golden ratio: every prefix of the cohort has close to the requested
  // class balance, and the grade still depends only on (seed, index).
  uint64_t s = o.seed ^ 0x5DEECE66DULL;
  const double offset = static_cast<double>(splitmix64(s) >> 11) * 0x1.0p-53;
  const double u = std::fmod(offset + static_cast<double>(index) * 0.6180339887498949, 1.0);
  return u < o.hgg_fraction;
}

CaseParams draw_params(const SyntheticOptions& o, int index) {
  SynthRng rng(case_seed(o.seed, index));
  CaseParams p;
  p.hgg = is_hgg(o, index);
  p.atypical = rng.uniform() < o.atypical_fraction;

  const double deg = kPi / 180.0;
  make_rotation(rng.uniform(-1, 1) * o.max_rotation_deg * deg, rng.uniform(-1, 1) * o.max_rotation_deg * deg,
                rng.uniform(-1, 1) * o.max_rotation_deg * deg, p.rot);
  for (auto& s : p.shift) s = rng.uniform(-1, 1) * o.max_shift_mm;
  const double global = std::exp(rng.uniform(-1, 1) * o.brain_scale_jitter);
  for (auto& s : p.scale) s = global * std::exp(rng.uniform(-0.5, 0.5) * o.brain_scale_jitter);
  const Affine a = synthetic_affine(o.shape, o.spacing);
  p.centre = apply_affine(a, {(o.shape[0] - 1) / 2.0, (o.shape[1] - 1) / 2.0, (o.shape[2] - 1) / 2.0});

  p.outline = WaveField(rng, 7, 50, 130);
  p.folding = WaveField(rng, 9, 16, 30);
  p.texture = WaveField(rng, 8, 3, 9);
  p.sulcus_depth = rng.uniform(11, 16);

  // Lateral ventricles (frontal horns closer to the midline), third ventricle; caudate /
  // thalamus and putamen as deep grey nuclei. Sizes vary with age in real cohorts: jitter them.
  const double vs = rng.uniform(0.8, 1.3);
  for (int side : {-1, 1}) {
    Ellipsoid v{{side * 9.0 * vs, -4, 10}, {5.5 * vs, 24, 8 * vs}};
    const double ang = side * 12 * deg;
    v.cos_a = std::cos(ang);
    v.sin_a = std::sin(ang);
    p.ventricles.push_back(v);
    p.deep_grey.push_back({{side * 14.0, -14, 2}, {8, 13, 9}});  // thalamus
    p.deep_grey.push_back({{side * 25.0, 4, 0}, {5, 14, 9}});    // putamen
    p.deep_grey.push_back({{side * 13.0, 14, 9}, {4, 9, 7}});    // caudate head
  }
  p.ventricles.push_back({{0, -8, -2}, {1.5 * vs, 11, 7}});

  for (int c = 0; c < kClasses; ++c)
    for (int m = 0; m < 4; ++m) p.contrast[c][m] = kContrast[c][m] * std::exp(rng.uniform(-0.04, 0.04));
  for (int m = 0; m < 4; ++m) {
    p.scan_scale[m] = std::exp(rng.uniform(-1, 1) * o.intensity_scale_jitter);
    p.bias[m] = WaveField(rng, 4, 180, 400);
    p.noise_sigma[m] = o.noise_level * p.contrast[kWM][m] * rng.uniform(0.6, 1.4);
  }

  // Tumour: size of the core is grade-independent for typical cases (large LGGs exist), the
  // biology is not: HGG = necrosis + enhancing rim + wide edema; LGG = homogeneous
  // non-enhancing core with a thin edema margin.
  if (p.hgg && !p.atypical) {
    p.core_radius = rng.uniform(10, 22);
    p.edema_radius = p.core_radius * rng.uniform(1.4, 1.9);
    p.necrosis_fraction = rng.uniform(0.4, 0.72);
    p.heterogeneity = rng.uniform(0.12, 0.2);
    p.nonenh_threshold = rng.uniform(0.9, 1.5);  // small non-enhancing parts of the rim
  } else if (p.hgg) {
    p.core_radius = rng.uniform(7, 13);
    p.edema_radius = p.core_radius * rng.uniform(1.15, 1.6);
    p.necrosis_fraction = rng.uniform(0.72, 0.86);  // thin rim
    p.heterogeneity = rng.uniform(0.06, 0.12);
    p.nonenh_threshold = rng.uniform(-0.3, 0.3);   // incomplete rim
  } else {
    p.core_radius = rng.uniform(10, 24);
    p.edema_radius = p.core_radius * rng.uniform(1.05, 1.35);
    p.necrosis_fraction = 0;
    p.heterogeneity = rng.uniform(0.03, 0.07);
    p.rim_enhances = false;
    if (p.atypical) {
      p.faint_enh_threshold = rng.uniform(1.0, 1.4);  // a few faint patches
      p.faint_enh_gain = rng.uniform(0.3, 0.55);      // x WM, added on T1CE
    }
  }
  p.lob_core = WaveField(rng, 6, 1.6, 3.5);     // on the unit sphere: a few lobes
  p.lob_edema = WaveField(rng, 8, 1.8, 3.5);
  p.edema_fingers = WaveField(rng, 8, 14, 28);  // edema is irregular at a finer scale
  p.lob_necrosis = WaveField(rng, 6, 1.5, 3.0);
  p.tumour_texture = WaveField(rng, 10, 4, 11);
  p.patches = WaveField(rng, 8, 7, 14);

  // Tumour centre: uniform inside the inner part of the brain, not inside a ventricle, and
  // deep enough that most of the core lies inside the brain.
  for (int attempt = 0; attempt < 200; ++attempt) {
    Vec3 q{rng.uniform(-1, 1) * p.ax, rng.uniform(-1, 1) * p.ay, rng.uniform(-1, 1) * p.az};
    const double rho = std::sqrt((q[0] / p.ax) * (q[0] / p.ax) + (q[1] / p.ay) * (q[1] / p.ay) +
                                 (q[2] / p.az) * (q[2] / p.az));
    const double margin = (p.core_radius + 4) / std::min({p.ax, p.ay, p.az});
    if (rho > 0.85 - margin || rho > 0.7) continue;
    bool in_ventricle = false;
    for (const auto& v : p.ventricles) in_ventricle |= v.inside_mm(q) > -3;
    if (in_ventricle && attempt < 199) continue;
    p.tumour = q;
    break;
  }
  return p;
}

// World position of a canonical point (inverse of the per-voxel mapping in render()).
Vec3 canonical_to_world(const CaseParams& p, const Vec3& q) {
  Vec3 s{q[0] * p.scale[0], q[1] * p.scale[1], q[2] * p.scale[2]};
  Vec3 w{};
  for (int r = 0; r < 3; ++r) w[r] = p.centre[r] + p.shift[r] + p.rot[r][0] * s[0] + p.rot[r][1] * s[1] + p.rot[r][2] * s[2];
  return w;
}

SyntheticCase render(const SyntheticOptions& o, int index, const CaseParams& p) {
  const Affine affine = synthetic_affine(o.shape, o.spacing);
  SyntheticCase out;
  for (auto& v : out.images) {
    v = make_volume(o.shape, affine);
    v.source_dtype = DataType::kInt16;
  }
  out.seg = make_volume(o.shape, affine);
  out.seg.source_dtype = DataType::kUInt8;
  out.tissue.assign(static_cast<size_t>(out.seg.numel()), 0);

  // Per-voxel noise comes from its own stream so that it does not shift the parameter draws.
  SynthRng noise(case_seed(o.seed, index) ^ 0xC0FFEEULL);
  const Ramp ramp{1.0 / std::max(o.spacing, 0.5)};
  const double big = 1e9;
  const double edema_reach = p.edema_radius * 1.8 + 4;
  const double inv_ax = 1 / p.ax, inv_ay = 1 / p.ay, inv_az = 1 / p.az;
  int64_t counts[5] = {0, 0, 0, 0, 0};
  int64_t brain = 0;

  for (int64_t i = 0; i < o.shape[0]; ++i)
    for (int64_t j = 0; j < o.shape[1]; ++j)
      for (int64_t k = 0; k < o.shape[2]; ++k) {
        const Vec3 w = apply_affine(affine, {double(i), double(j), double(k)});
        const Vec3 d{w[0] - p.centre[0] - p.shift[0], w[1] - p.centre[1] - p.shift[1], w[2] - p.centre[2] - p.shift[2]};
        Vec3 q{};
        for (int a = 0; a < 3; ++a) q[a] = (p.rot[0][a] * d[0] + p.rot[1][a] * d[1] + p.rot[2][a] * d[2]) / p.scale[a];

        // Brain outline: egg-shaped ellipsoid (narrower frontally, flatter base), lobulated.
        const double ax_eff = p.ax * (1 - 0.07 * std::clamp(q[1] * inv_ay, -1.0, 1.0));
        const double az_eff = q[2] < 0 ? p.az * 0.88 : p.az;
        const double ex = q[0] / ax_eff, ey = q[1] * inv_ay, ez = q[2] / az_eff;
        const double rho = std::sqrt(ex * ex + ey * ey + ez * ez);
        if (rho > 1.25) continue;
        const double m = 1 + 0.035 * std::clamp(p.outline(q), -2.5, 2.5);
        const double r = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
        const double depth = rho > 1e-6 ? (m - rho) * r / rho : big;  // mm below the outer surface
        const double w_brain = ramp(depth);
        if (w_brain <= 0) continue;
        (void)inv_ax;
        (void)inv_az;

        // Cortex: outer CSF film, sulci along the zero set of the folding field, grey ribbon
        // along the surface, the sulci and the interhemispheric fissure.
        double grad = 1;
        const double f = p.folding.value_grad(q, grad);
        const double dist_sulcus = std::fabs(f) / std::max(grad, 1e-9);
        const double sulcus_active = ramp(p.sulcus_depth - depth);
        const double half_width = 0.9 - 0.5 * std::clamp(depth / p.sulcus_depth, 0.0, 1.0);
        const double callosal = (1 - std::sqrt(((q[1] + 4) / 36) * ((q[1] + 4) / 36) + ((q[2] - 3) / 24) * ((q[2] - 3) / 24))) * 24;
        const double fissure_active = ramp(-callosal);
        const double csf_cortex = std::max({ramp(1.0 - depth), ramp(half_width - dist_sulcus) * sulcus_active,
                                            ramp(1.0 - std::fabs(q[0])) * fissure_active});
        const double gm = std::max({ramp(4.3 - depth), ramp(3.4 - dist_sulcus) * ramp(p.sulcus_depth + 2.5 - depth),
                                    ramp(3.5 - std::fabs(q[0])) * fissure_active});
        double ventricle = 0, deep = 0;
        for (const auto& v : p.ventricles) ventricle = std::max(ventricle, ramp(v.inside_mm(q)));
        for (const auto& g : p.deep_grey) deep = std::max(deep, ramp(g.inside_mm(q)));
        const double csf = std::max(csf_cortex, ventricle);

        Tissue tissue = Tissue::kWhiteMatter;
        if (csf >= 0.5) tissue = Tissue::kCsf;
        else if (gm >= 0.5) tissue = Tissue::kGreyMatter;
        else if (deep >= 0.5) tissue = Tissue::kDeepGrey;

        // Tumour weights (only near the tumour).
        double edema = 0, core = 0, necrosis = 0, nonenh = 0, faint = 0, tex = 0;
        const Vec3 dt{q[0] - p.tumour[0], q[1] - p.tumour[1], q[2] - p.tumour[2]};
        const double rt = std::sqrt(dt[0] * dt[0] + dt[1] * dt[1] + dt[2] * dt[2]);
        if (rt < edema_reach) {
          const Vec3 u = rt > 1e-9 ? Vec3{dt[0] / rt, dt[1] / rt, dt[2] / rt} : Vec3{1, 0, 0};
          const double rc = p.core_radius * (1 + 0.17 * std::clamp(p.lob_core(u), -2.0, 2.0));
          const double re = p.edema_radius * (1 + 0.18 * std::clamp(p.lob_edema(u), -2.0, 2.0)) +
                            0.10 * p.edema_radius * std::clamp(p.edema_fingers(q), -2.0, 2.0);
          core = ramp(rc - rt);
          // Edema spreads along white matter: it reaches less far into the cortex, not into CSF.
          edema = ramp(re * (1 - 0.3 * gm) - rt) * (1 - csf);
          tex = p.tumour_texture(q);
          if (p.rim_enhances) {
            const double rn = rc * p.necrosis_fraction * (1 + 0.12 * std::clamp(p.lob_necrosis(u), -2.0, 2.0));
            necrosis = ramp(rn - rt);
            nonenh = ramp((p.patches(q) - p.nonenh_threshold) * 4 * o.spacing);
          } else if (p.faint_enh_gain > 0) {
            faint = ramp((p.patches(q) - p.faint_enh_threshold) * 4 * o.spacing) * ramp(0.85 * rc - rt);
          }
        }

        const int64_t idx = out.seg.index(i, j, k);
        uint8_t label = 0;
        if (w_brain >= 0.5) {
          if (core >= 0.5) {
            if (p.rim_enhances) label = (necrosis >= 0.5 || nonenh >= 0.5) ? 1 : 4;
            else label = faint >= 0.5 ? 4 : 1;
          } else if (edema >= 0.5) {
            label = 2;
          }
          out.tissue[static_cast<size_t>(idx)] = static_cast<uint8_t>(tissue);
        }
        out.seg.data[static_cast<size_t>(idx)] = label;
        counts[label == 4 ? 3 : label] += 1;

        const double tissue_tex = 1 + 0.03 * p.texture(q);
        const double tumour_tex = 1 + p.heterogeneity * std::clamp(tex, -2.5, 2.5);
        bool nonzero = false;
        for (int mo = 0; mo < 4; ++mo) {
          const auto& c = p.contrast;
          double v = c[kWM][mo];
          v = mix(v, c[kDeep][mo], deep);
          v = mix(v, c[kGM][mo], gm);
          v = mix(v, c[kCSF][mo], csf);
          v *= tissue_tex;
          if (edema > 0) v = mix(v, c[kEdema][mo] * (1 + 0.4 * p.heterogeneity * tex), edema);
          if (core > 0) {
            double t;
            if (p.rim_enhances) {
              t = mix(c[kEnhancing][mo], c[kNonEnhancing][mo], nonenh);
              t = mix(t, c[kNecrosis][mo], necrosis);
            } else {
              t = c[kLggCore][mo];
              if (mo == 1) t += faint * p.faint_enh_gain * c[kWM][1];
            }
            v = mix(v, t * tumour_tex, core);
          }
          const Vec3 rel{w[0] - p.centre[0], w[1] - p.centre[1], w[2] - p.centre[2]};
          v *= p.scan_scale[mo] * std::exp(0.5 * o.bias_strength * std::clamp(p.bias[mo](rel), -2.0, 2.0));
          // Rician magnitude noise, as in magnitude MR images.
          const double sigma = p.noise_sigma[mo] * p.scan_scale[mo];
          const double re = v + sigma * noise.normal(), im = sigma * noise.normal();
          const double value = std::round(w_brain * std::sqrt(re * re + im * im));
          const float stored = static_cast<float>(std::clamp(value, 0.0, 32767.0));
          out.images[mo].data[static_cast<size_t>(idx)] = stored;
          nonzero |= stored > 0;
        }
        brain += nonzero;
      }

  SyntheticCaseInfo& info = out.info;
  info.index = index;
  info.subject_id = synthetic_subject_id(index);
  info.hgg = p.hgg;
  info.atypical = p.atypical;
  info.tumour_centre_mm = canonical_to_world(p, p.tumour);
  const Vec3 v = apply_affine(invert_affine(affine), info.tumour_centre_mm);
  for (int a = 0; a < 3; ++a)
    info.tumour_centre_voxel[a] = std::clamp<int64_t>(std::llround(v[a]), 0, o.shape[a] - 1);
  info.label_voxels = {{1, counts[1]}, {2, counts[2]}, {4, counts[3]}};
  info.brain_voxels = brain;
  return out;
}

nlohmann::json options_json(const SyntheticOptions& o) {
  // threads is left out on purpose: it never changes the output.
  return {{"cases", o.cases},
          {"seed", o.seed},
          {"shape", o.shape},
          {"spacing", o.spacing},
          {"hgg_fraction", o.hgg_fraction},
          {"atypical_fraction", o.atypical_fraction},
          {"bias_strength", o.bias_strength},
          {"noise_level", o.noise_level},
          {"intensity_scale_jitter", o.intensity_scale_jitter},
          {"max_rotation_deg", o.max_rotation_deg},
          {"max_shift_mm", o.max_shift_mm},
          {"brain_scale_jitter", o.brain_scale_jitter}};
}

nlohmann::json info_json(const SyntheticCaseInfo& c, double voxel_mm3) {
  nlohmann::json labels = nlohmann::json::object(), volumes = nlohmann::json::object();
  for (const auto& [label, n] : c.label_voxels) {
    labels[std::to_string(label)] = n;
    volumes[std::to_string(label)] = static_cast<double>(n) * voxel_mm3;
  }
  return {{"index", c.index},
          {"subject_id", c.subject_id},
          {"grade", c.hgg ? "HGG" : "LGG"},
          {"atypical", c.atypical},
          {"tumour_centre_mm", c.tumour_centre_mm},
          {"tumour_centre_voxel", c.tumour_centre_voxel},
          {"label_voxels", labels},
          {"label_volume_mm3", volumes},
          {"brain_voxels", c.brain_voxels}};
}

SyntheticCaseInfo info_from_json(const nlohmann::json& j) {
  SyntheticCaseInfo c;
  c.index = j.at("index").get<int>();
  c.subject_id = j.at("subject_id").get<std::string>();
  c.hgg = j.at("grade").get<std::string>() == "HGG";
  c.atypical = j.at("atypical").get<bool>();
  c.tumour_centre_mm = j.at("tumour_centre_mm").get<std::array<double, 3>>();
  c.tumour_centre_voxel = j.at("tumour_centre_voxel").get<std::array<int64_t, 3>>();
  for (const auto& [k, v] : j.at("label_voxels").items()) c.label_voxels[std::stoi(k)] = v.get<int64_t>();
  c.brain_voxels = j.at("brain_voxels").get<int64_t>();
  return c;
}

std::vector<std::string> case_files(const std::string& id) {
  std::vector<std::string> files;
  for (const auto& m : synthetic_modalities()) files.push_back(id + "_" + m + ".nii.gz");
  files.push_back(id + "_seg.nii.gz");
  return files;
}

bool is_case_folder_name(const std::string& name) {
  const std::string prefix = "BraTS20_Training_";
  if (name.rfind(prefix, 0) != 0 || name.size() == prefix.size()) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), name.end(),
                     [](char ch) { return ch >= '0' && ch <= '9'; });
}

// Returns the previous synthetic.json of dir, or null when dir is missing or empty; throws
// when dir holds something else.
nlohmann::json previous_cohort(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return nullptr;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string() + ": exists and is not a directory; expected a new or empty folder for the synthetic cohort");
  if (fs::directory_iterator(dir, ec) == fs::directory_iterator()) {
    if (ec) throw Error(dir.string() + ": cannot list folder: " + ec.message());
    return nullptr;
  }
  const fs::path marker = dir / "synthetic.json";
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(marker));
  } catch (const std::exception&) {
    j = nullptr;
  }
  if (!j.is_object() || j.value("generator", "") != kGeneratorName)
    throw Error(dir.string() + ": refusing to write a synthetic cohort into a non-empty folder that is not a previous "
                "synthetic cohort (no valid synthetic.json from `mprotonet synth`); choose a new or empty folder");
  return j;
}

}  // namespace

void validate(const SyntheticOptions& o) {
  auto field = [](const std::string& name, const std::string& value, const std::string& expected) {
    return "synthetic cohort option " + name + " = " + value + " is invalid: expected " + expected;
  };
  check(o.cases >= 1 && o.cases <= 99999, field("cases", std::to_string(o.cases), "1 to 99999"));
  for (int a = 0; a < 3; ++a)
    check(o.shape[a] >= 8 && o.shape[a] <= 2048,
          field("shape[" + std::to_string(a) + "]", std::to_string(o.shape[a]), "8 to 2048 voxels"));
  check(std::isfinite(o.spacing) && o.spacing >= 0.25 && o.spacing <= 10,
        field("spacing", std::to_string(o.spacing), "0.25 to 10 mm"));
  for (int a = 0; a < 3; ++a)
    check(o.shape[a] * o.spacing >= 100,
          field("shape[" + std::to_string(a) + "] * spacing", std::to_string(o.shape[a] * o.spacing),
                "a field of view of at least 100 mm (the brain is ~170 x 140 x 115 mm)"));
  auto fraction = [&](const char* name, double v) {
    check(std::isfinite(v) && v >= 0 && v <= 1, field(name, std::to_string(v), "a fraction in [0, 1]"));
  };
  fraction("hgg_fraction", o.hgg_fraction);
  fraction("atypical_fraction", o.atypical_fraction);
  auto range = [&](const char* name, double v, double hi, const char* unit) {
    check(std::isfinite(v) && v >= 0 && v <= hi, field(name, std::to_string(v), "0 to " + std::to_string(hi) + unit));
  };
  range("bias_strength", o.bias_strength, 1.0, "");
  range("noise_level", o.noise_level, 0.5, " (x white-matter intensity)");
  range("intensity_scale_jitter", o.intensity_scale_jitter, 1.0, "");
  range("max_rotation_deg", o.max_rotation_deg, 30.0, " degrees");
  range("max_shift_mm", o.max_shift_mm, 30.0, " mm");
  range("brain_scale_jitter", o.brain_scale_jitter, 0.3, "");
  check(o.threads >= 0 && o.threads <= 1024, field("threads", std::to_string(o.threads), "0 (all cores) to 1024"));
}

std::string synthetic_subject_id(int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "BraTS20_Training_%03d", index + 1);
  return buf;
}

Affine synthetic_affine(const std::array<int64_t, 3>& shape, double spacing) {
  Affine a = identity_affine();
  a[0][0] = -spacing;
  a[1][1] = -spacing;
  a[2][2] = spacing;
  a[1][3] = static_cast<double>(shape[1] - 1) * spacing;
  return a;
}

const std::array<std::string, 4>& synthetic_modalities() {
  static const std::array<std::string, 4> names{"t1", "t1ce", "t2", "flair"};
  return names;
}

SyntheticCase generate_synthetic_case(const SyntheticOptions& options, int index) {
  validate(options);
  check(index >= 0, "synthetic case index " + std::to_string(index) + " is invalid: expected >= 0");
  return render(options, index, draw_params(options, index));
}

std::vector<SyntheticCaseInfo> write_synthetic_cohort(const fs::path& dir, const SyntheticOptions& options,
                                                      const SyntheticProgress& progress, const SyntheticCaseHook& hook) {
  validate(options);
  const nlohmann::json opts = options_json(options);
  const nlohmann::json previous = previous_cohort(dir);
  const int n = options.cases;

  // An identical complete cohort is kept (re-running the demo costs nothing).
  if (!previous.is_null() && previous.value("complete", false) && previous.value("version", 0) == kGeneratorVersion &&
      previous.value("options", nlohmann::json()) == opts && fs::exists(dir / "name_mapping.csv")) {
    try {
      std::vector<SyntheticCaseInfo> infos;
      bool all_present = true;
      for (const auto& c : previous.at("cases")) {
        infos.push_back(info_from_json(c));
        for (const auto& f : case_files(infos.back().subject_id))
          all_present &= fs::exists(dir / infos.back().subject_id / f);
      }
      if (all_present && static_cast<int>(infos.size()) == n) {
        if (progress) progress(n, n);
        return infos;
      }
    } catch (const std::exception&) {
      // fall through and regenerate
    }
  }

  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir.string() + ": cannot create folder: " + ec.message());
  // Until the new CSV exists the folder is visibly incomplete.
  fs::remove(dir / "name_mapping.csv", ec);
  nlohmann::json marker = {{"generator", kGeneratorName}, {"version", kGeneratorVersion}, {"complete", false}, {"options", opts}};
  write_text_atomically(dir / "synthetic.json", marker.dump(2) + "\n");

  unsigned workers = options.threads > 0 ? static_cast<unsigned>(options.threads) : std::thread::hardware_concurrency();
  workers = std::clamp<unsigned>(workers, 1, static_cast<unsigned>(n));

  std::vector<SyntheticCaseInfo> infos(static_cast<size_t>(n));
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::condition_variable cv;
  int done = 0;
  std::exception_ptr error;

  auto work = [&] {
    for (;;) {
      const int i = next.fetch_add(1);
      if (i >= n || failed.load()) return;
      try {
        with_context("while generating synthetic case " + synthetic_subject_id(i), [&] {
          SyntheticCase c = render(options, i, draw_params(options, i));
          if (hook) hook(c);
          const std::string id = c.info.subject_id;
          const fs::path final_dir = dir / id;
          const fs::path tmp_dir = dir / (".tmp-" + id + "-" + std::to_string(::getpid()));
          std::error_code e;
          fs::remove_all(tmp_dir, e);
          fs::create_directories(tmp_dir, e);
          if (e) throw Error(tmp_dir.string() + ": cannot create folder: " + e.message());
          const auto files = case_files(id);
          for (int m = 0; m < 4; ++m) write_nifti(tmp_dir / files[static_cast<size_t>(m)], c.images[static_cast<size_t>(m)], DataType::kInt16);
          write_nifti(tmp_dir / files[4], c.seg, DataType::kUInt8);
          fs::remove_all(final_dir, e);
          fs::rename(tmp_dir, final_dir, e);
          if (e) throw Error("cannot rename " + tmp_dir.string() + " to " + final_dir.string() + ": " + e.message());
          infos[static_cast<size_t>(i)] = c.info;
        });
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!error) error = std::current_exception();
        failed = true;
        cv.notify_all();
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      ++done;
      cv.notify_all();
    }
  };

  std::vector<std::thread> pool;
  for (unsigned t = 0; t < workers; ++t) pool.emplace_back(work);
  {
    std::unique_lock<std::mutex> lock(mutex);
    int reported = 0;
    while (done < n && !failed) {
      cv.wait(lock, [&] { return done != reported || failed.load(); });
      if (done != reported && progress) {
        reported = done;
        lock.unlock();
        progress(reported, n);
        lock.lock();
      }
      reported = done;
    }
  }
  for (auto& t : pool) t.join();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (Error& e) {
      e.add_context("while writing synthetic cohort " + dir.string());
      throw;
    }
  }

  // Drop case folders of a previous, larger cohort and stale temporaries.
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".tmp-BraTS20_Training_", 0) == 0 ||
        (is_case_folder_name(name) && std::stoi(name.substr(17)) > n)) {
      fs::remove_all(entry.path(), ec);
    }
  }

  const double voxel_mm3 = options.spacing * options.spacing * options.spacing;
  marker["complete"] = true;
  marker["cases"] = nlohmann::json::array();
  for (const auto& c : infos) marker["cases"].push_back(info_json(c, voxel_mm3));
  write_text_atomically(dir / "synthetic.json", marker.dump(2) + "\n");

  std::ostringstream csv;
  csv << "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,"
         "BraTS_2020_subject_ID\n";
  for (const auto& c : infos) csv << (c.hgg ? "HGG" : "LGG") << ",NA,NA,NA,NA," << c.subject_id << "\n";
  write_text_atomically(dir / "name_mapping.csv", csv.str());
  return infos;
}

}  // namespace mprotonet
