// SPDX-License-Identifier: MIT
// One synthetic case (see synthetic.h for the design): draw the case's parameters, grow its
// tumour, then render every voxel through pose -> deformation -> mass effect -> tissue
// fractions -> MR signal. The cohort writer is in synthetic_cohort.cpp.
#include "mprotonet/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "mprotonet/core/error.h"
#include "mprotonet/data/anatomy.h"
#include "mprotonet/data/mr_physics.h"
#include "mprotonet/data/synth_random.h"
#include "mprotonet/data/tumour_growth.h"

namespace mprotonet {

namespace {

using synth::SynthRng;
using synth::Vec3;
using synth::WaveField;

// Streams of one case: parameters, per-voxel noise, the atypical draw.
constexpr uint64_t kParamStream = 0, kNoiseStream = 1, kGradeStream = 2;
// White-matter signal level before the scanner scale, int16 units.
constexpr double kWhiteMatterLevel = 400;

// Everything drawn for one case before any voxel is computed (the "parameters" half of a
// random transform, MONAI-style); render() is then a pure function of these.
struct CaseParams {
  bool hgg = true, atypical = false;
  // Pose: output world x -> atlas a = centre + R^T (x - landed_centre) / scale.
  double rot[3][3];
  Vec3 scale{1, 1, 1}, landed_centre{};
  synth::Deformation deformation;
  // Tumour biology.
  synth::GrowthOptions growth;
  double mass_effect = 0.5;           // fraction of the tumour's volume that displaces tissue
  double nonenhancing_threshold = 9;  // patches field above this: non-enhancing core (HGG)
  double faint_threshold = 9;         // patches field above this: faint enhancement (atypical LGG)
  double heterogeneity = 0.1;         // tumour texture amplitude
  synth::GridField patches, tumour_texture, tissue_texture, vessels;  // smooth noise, unit std
  double vessel_threshold = 1.3;  // vessels field above this: an enhancing vein or meninges
  // Age (independent of the grade): ventricles and sulci widened by this many mm (the
  // template is a young adults' average; glioma patients are older), and a periventricular
  // rim of white-matter water (FLAIR "caps"), as an edema level fading over `pv_mm`.
  double ventricle_widening_mm = 0, sulcus_widening_mm = 0, pv_level = 0, pv_mm = 3;
  // The subject's own folding: an average template has smeared sulci, so thin random CSF
  // sheets (where a smooth random field is near zero) cut through the cortical ribbon.
  synth::GridField folds;
  double fold_width = 0;
  // Physics and scanner.
  synth::MrProtocol protocol;
  double level[4], noise_sigma[4];
  WaveField bias[4];
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

Vec3 fov_centre(const SyntheticOptions& o) {
  return apply_affine(synthetic_affine(o.shape, o.spacing),
                      {(o.shape[0] - 1) / 2.0, (o.shape[1] - 1) / 2.0, (o.shape[2] - 1) / 2.0});
}

// A seed point in deep white matter of the cerebrum (gliomas of adults are mostly
// supratentorial): uniform over the atlas box, rejected unless white matter dominates and the
// point lies above the posterior fossa (below and behind the brain centre, in MNI terms
// z < -12 mm and y < -28 mm).
Vec3 draw_seed(SynthRng& rng, const synth::TissueAtlas& atlas) {
  const Vec3& lo = atlas.lower();
  const Vec3& hi = atlas.upper();
  const Vec3& c = atlas.brain_centre();
  Vec3 best = c;
  double best_wm = -1;
  for (int attempt = 0; attempt < 2000; ++attempt) {
    const Vec3 p{rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), rng.uniform(lo[2], hi[2])};
    if (p[2] < c[2] - 18 && p[1] < c[1] - 5) continue;
    const double wm = atlas.sample(p).wm;
    if (wm >= 0.9) return p;
    if (wm > best_wm) {
      best_wm = wm;
      best = p;
    }
  }
  return best;
}

CaseParams draw_params(const SyntheticOptions& o, int index, const synth::TissueAtlas& atlas) {
  SynthRng rng(synth::case_seed(o.seed, index, kParamStream));
  CaseParams p;
  const SyntheticGrade grade = synthetic_grade(o, index);
  p.hgg = grade.hgg;
  p.atypical = grade.atypical;

  // Pose and size (nuisances, independent of the grade).
  const double deg = synth::kPi / 180.0;
  make_rotation(rng.uniform(-1, 1) * o.max_rotation_deg * deg, rng.uniform(-1, 1) * o.max_rotation_deg * deg,
                rng.uniform(-1, 1) * o.max_rotation_deg * deg, p.rot);
  Vec3 shift{};
  for (auto& s : shift) s = rng.uniform(-1, 1) * o.max_shift_mm;
  const double global = std::exp(rng.uniform(-1, 1) * o.brain_scale_jitter);
  for (auto& s : p.scale) s = global * std::exp(rng.uniform(-0.5, 0.5) * o.brain_scale_jitter);
  // The brain sits where it sits in BraTS space, relative to the field of view's centre.
  const Vec3 fov = fov_centre(o), brats_fov = synth::TissueAtlas::brats_fov_centre();
  for (int a = 0; a < 3; ++a) p.landed_centre[a] = fov[a] + (atlas.brain_centre()[a] - brats_fov[a]) + shift[a];
  p.deformation = synth::Deformation(rng, atlas.lower(), atlas.upper(), o.deformation_mm, 6.0);

  // Tumour biology by grade. Sizes overlap between grades (large LGGs exist); what differs is
  // how the tumour grows and what it becomes: HGG compact (narrow front), necrotic centre,
  // enhancing rim, wide edema and mass effect; LGG diffuse, non-enhancing, little mass effect.
  synth::GrowthOptions& g = p.growth;
  g.seed = draw_seed(rng, atlas);
  g.diffusion_ratio = rng.uniform(4, 10);
  if (p.hgg && !p.atypical) {
    g.front_width_mm = rng.uniform(1.8, 3.0);
    g.target_core_ml = rng.log_uniform(8, 80);
    g.visible_threshold = rng.uniform(0.02, 0.06);
    g.core_threshold = rng.uniform(0.5, 0.7);
    g.necrotic_fraction = rng.uniform(0.3, 0.7);
    p.nonenhancing_threshold = rng.uniform(0.8, 1.6);  // a few non-enhancing parts of the rim
    p.mass_effect = rng.uniform(0.5, 1.0);
    p.heterogeneity = rng.uniform(0.1, 0.2);
  } else if (p.hgg) {
    g.front_width_mm = rng.uniform(2.0, 3.5);
    g.target_core_ml = rng.log_uniform(3, 25);
    g.visible_threshold = rng.uniform(0.08, 0.15);
    g.core_threshold = rng.uniform(0.4, 0.7);
    g.necrotic_fraction = rng.uniform(0.0, 0.15);
    p.nonenhancing_threshold = rng.uniform(-0.5, 0.3);  // thin, incomplete rim
    p.mass_effect = rng.uniform(0.3, 0.7);
    p.heterogeneity = rng.uniform(0.06, 0.12);
  } else {
    g.front_width_mm = rng.uniform(2.5, 4.5);
    g.target_core_ml = rng.log_uniform(5, 60);
    g.visible_threshold = rng.uniform(0.1, 0.2);
    g.core_threshold = rng.uniform(0.35, 0.55);
    g.necrotic_fraction = 0;
    p.mass_effect = rng.uniform(0.1, 0.4);
    p.heterogeneity = rng.uniform(0.03, 0.08);
    if (p.atypical) p.faint_threshold = rng.uniform(0.8, 1.4);  // faint patches, ~10-20 % of the core
  }
  // Coarser grids for wider fronts: the cost falls with h^5 while the front stays resolved.
  g.grid_mm = std::clamp(0.6 * g.front_width_mm, 2.0, 3.0);
  // Textures over the tumour's reach (patches, heterogeneity) and the whole atlas (tissue).
  const Vec3 reach{g.reach_mm, g.reach_mm, g.reach_mm};
  const Vec3 t_lo{g.seed[0] - reach[0], g.seed[1] - reach[1], g.seed[2] - reach[2]};
  const Vec3 t_hi{g.seed[0] + reach[0], g.seed[1] + reach[1], g.seed[2] + reach[2]};
  p.patches = synth::smooth_noise(rng, t_lo, t_hi, 5.0);
  p.tumour_texture = synth::smooth_noise(rng, t_lo, t_hi, 2.0);
  p.tissue_texture = synth::smooth_noise(rng, atlas.lower(), atlas.upper(), 2.0);
  // Cortical veins and meninges: patches of the CSF next to the cortex that enhance after
  // contrast in every subject, whatever the grade.
  p.vessels = synth::smooth_noise(rng, atlas.lower(), atlas.upper(), 2.5);
  p.vessel_threshold = rng.uniform(1.0, 1.6);

  p.protocol = synth::MrProtocol::draw(rng);
  for (int m = 0; m < 4; ++m) {
    p.level[m] = kWhiteMatterLevel * std::exp(rng.uniform(-1, 1) * o.intensity_scale_jitter);
    p.noise_sigma[m] = o.noise_level * rng.uniform(0.6, 1.4);
    p.bias[m] = WaveField(rng, 4, 150, 400);
  }
  if (o.ageing) {  // drawn last: without ageing every other draw is unchanged
    p.ventricle_widening_mm = rng.uniform(0.0, 3.5);
    p.sulcus_widening_mm = rng.uniform(0.0, 1.2);
    p.pv_level = rng.uniform(0.0, 0.4);
    p.pv_mm = rng.uniform(2.0, 6.0);
    p.folds = synth::smooth_noise(rng, atlas.lower(), atlas.upper(), 3.0);
    p.fold_width = rng.uniform(0.12, 0.25);
  }
  return p;
}

double ramp(double x) { return std::clamp(x, 0.0, 1.0); }

// Backward mass effect: the healthy tissue now at b came from radius r_src = cbrt(r^3 - R^3)
// around the tumour centre, the displacement of an incompressible medium by a ball of radius
// R (it falls off as R^3 / 3 r^2).
struct MassEffect {
  Vec3 centre{};
  double r3 = 0;
  Vec3 source(const Vec3& b) const {
    if (r3 <= 0) return b;
    const Vec3 d{b[0] - centre[0], b[1] - centre[1], b[2] - centre[2]};
    const double r = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    if (r < 1e-9) return b;
    const double f = std::cbrt(std::max(r * r * r - r3, 0.0)) / r;
    return {centre[0] + d[0] * f, centre[1] + d[1] * f, centre[2] + d[2] * f};
  }
};

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
  range("deformation_mm", o.deformation_mm, 10.0, " mm");
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

SyntheticGrade synthetic_grade(const SyntheticOptions& o, int index) {
  SyntheticGrade g;
  // Weyl sequence with the golden ratio: every prefix of the cohort has close to the requested
  // class balance, and the grade still depends only on (seed, index).
  uint64_t s = o.seed ^ 0x5DEECE66DULL;
  const double offset = static_cast<double>(synth::splitmix64(s) >> 11) * 0x1.0p-53;
  const double u = std::fmod(offset + static_cast<double>(index) * 0.6180339887498949, 1.0);
  g.hgg = u < o.hgg_fraction;
  SynthRng rng(synth::case_seed(o.seed, index, kGradeStream));
  g.atypical = rng.bernoulli(o.atypical_fraction);
  return g;
}

SyntheticCase generate_synthetic_case(const SyntheticOptions& o, int index) {
  validate(o);
  check(index >= 0, "synthetic case index " + std::to_string(index) + " is invalid: expected >= 0");
  const synth::TissueAtlas& atlas = synth::TissueAtlas::shared();
  const synth::CsfDistances* const csf_distance = o.ageing ? &synth::CsfDistances::shared() : nullptr;
  const CaseParams p = draw_params(o, index, atlas);
  const synth::TumourFields tumour = synth::grow_tumour(atlas, p.growth);
  const synth::SignalTable table(p.protocol);
  const synth::GrowthOptions& g = p.growth;

  MassEffect mass;
  mass.centre = tumour.centroid;
  const double displacing_ml = p.mass_effect * (tumour.core_ml + 0.3 * (tumour.visible_ml - tumour.core_ml));
  mass.r3 = displacing_ml * 1000.0 * 3.0 / (4.0 * synth::kPi);

  const Affine affine = synthetic_affine(o.shape, o.spacing);
  SyntheticCase out;
  for (auto& v : out.images) {
    v = make_volume(o.shape, affine);
    v.source_dtype = DataType::kInt16;
  }
  out.seg = make_volume(o.shape, affine);
  out.seg.source_dtype = DataType::kUInt8;
  out.tissue.assign(static_cast<size_t>(out.seg.numel()), 0);

  SynthRng noise(synth::case_seed(o.seed, index, kNoiseStream));
  const Vec3& centre = atlas.brain_centre();
  const double log_span = std::log(g.core_threshold / g.visible_threshold);
  const double core_edge = 0.1;  // half width of the partial-volume ramp at the core boundary
  double scanner[4];
  for (int m = 0; m < 4; ++m) scanner[m] = p.level[m] / table.white_matter(m);
  // The bias field varies over 150-400 mm: tabulated on a 10 mm grid over the field of view.
  const Vec3 corner0 = apply_affine(affine, {0, 0, 0});
  const Vec3 corner1 = apply_affine(affine, {double(o.shape[0] - 1), double(o.shape[1] - 1), double(o.shape[2] - 1)});
  std::array<synth::GridField, 4> bias;
  {
    const double step = 10.0;
    std::array<int64_t, 3> dims{};
    Vec3 origin{};
    for (int a = 0; a < 3; ++a) {
      origin[a] = std::min(corner0[a], corner1[a]) - step;
      dims[a] = static_cast<int64_t>(std::ceil(std::fabs(corner1[a] - corner0[a]) / step)) + 3;
    }
    for (int m = 0; m < 4; ++m) {
      bias[m] = synth::GridField(dims, origin, step);
      for (int64_t i = 0; i < dims[0]; ++i)
        for (int64_t j = 0; j < dims[1]; ++j)
          for (int64_t k = 0; k < dims[2]; ++k)
            bias[m].values[static_cast<size_t>(bias[m].index(i, j, k))] = static_cast<float>(
                std::exp(0.5 * o.bias_strength * std::clamp(p.bias[m](bias[m].position(i, j, k)), -2.0, 2.0)));
    }
  }
  int64_t counts[5] = {0, 0, 0, 0, 0};
  int64_t brain = 0;
  double tumour_sum[3] = {0, 0, 0};

  for (int64_t i = 0; i < o.shape[0]; ++i)
    for (int64_t j = 0; j < o.shape[1]; ++j)
      for (int64_t k = 0; k < o.shape[2]; ++k) {
        const Vec3 x = apply_affine(affine, {double(i), double(j), double(k)});
        const Vec3 d{x[0] - p.landed_centre[0], x[1] - p.landed_centre[1], x[2] - p.landed_centre[2]};
        Vec3 a{};
        for (int ax = 0; ax < 3; ++ax)
          a[ax] = centre[ax] + (p.rot[0][ax] * d[0] + p.rot[1][ax] * d[1] + p.rot[2][ax] * d[2]) / p.scale[ax];
        bool inside = true;
        for (int ax = 0; ax < 3; ++ax) inside &= a[ax] > atlas.lower()[ax] - 15 && a[ax] < atlas.upper()[ax] + 15;
        if (!inside) continue;
        const Vec3 b = p.deformation(a);
        const Vec3 src = mass.source(b);
        synth::TissueFractions f = atlas.sample(src);
        if (f.mask < 0.5) continue;  // skull-stripped
        f.csf += std::max(0.0, 1.0 - f.brain());  // the rest of a boundary voxel: CSF-like meninges
        double periventricular = 0;
        if (csf_distance != nullptr) {
          // Widened ventricles and sulci: the tissue within the subject's widening becomes CSF;
          // thin CSF sheets where the fold field is near zero cut the cortical ribbon.
          const double ventricle_mm = csf_distance->ventricle(src);
          double widened = ramp(p.ventricle_widening_mm + 0.5 - ventricle_mm);
          widened = std::max(widened, ramp(p.sulcus_widening_mm + 0.5 - csf_distance->sulcus(src)));
          if (f.gm > 0)
            widened = std::max(widened, std::min(1.0, 1.6 * f.gm) * 0.7 *
                                            ramp(1.0 - std::fabs(p.folds.sample_clamped(src)) / p.fold_width));
          f.csf += widened * (f.gm + f.wm);
          f.gm *= 1 - widened;
          f.wm *= 1 - widened;
          periventricular = p.pv_level * ramp(1.0 - (ventricle_mm - p.ventricle_widening_mm) / p.pv_mm);
        }
        const double parenchyma = f.gm + f.wm;

        // Tumour density: cells live in parenchyma, not in CSF.
        const double c = tumour.density.sample(b) * parenchyma;
        double edema = 0;
        if (c >= g.visible_threshold) edema = 0.45 + 0.55 * ramp(std::log(c / g.visible_threshold) / log_span);
        else if (c > 0) edema = 0.45 * (c / g.visible_threshold) * (c / g.visible_threshold);
        const double core = ramp(0.5 + (c - g.core_threshold) / (2 * core_edge));
        double necrosis = 0, nonenhancing = 0, faint = 0, tex = 0;
        if (core > 0) {
          necrosis = tumour.necrosis.empty() ? 0.0 : ramp(tumour.necrosis.sample(b));
          const double patch = p.patches.sample_clamped(b);
          nonenhancing = ramp(0.5 + (patch - p.nonenhancing_threshold) * 2);
          faint = ramp(0.5 + (patch - p.faint_threshold) * 2);
          tex = std::clamp(p.tumour_texture.sample_clamped(b), -2.5, 2.5);
        }

        const int64_t idx = out.seg.index(i, j, k);
        uint8_t label = 0;
        if (c >= g.core_threshold) {
          if (p.hgg) label = (necrosis >= 0.5 || nonenhancing >= 0.5) ? 1 : 4;
          else label = faint >= 0.5 ? 4 : 1;
        } else if (c >= g.visible_threshold) {
          label = 2;
        }
        out.seg.data[static_cast<size_t>(idx)] = label;
        counts[label == 4 ? 3 : label] += 1;
        if (label != 0) {
          tumour_sum[0] += static_cast<double>(i);
          tumour_sum[1] += static_cast<double>(j);
          tumour_sum[2] += static_cast<double>(k);
        }
        out.tissue[static_cast<size_t>(idx)] = static_cast<uint8_t>(
            f.wm >= f.gm && f.wm >= f.csf ? Tissue::kWhiteMatter : f.gm >= f.csf ? Tissue::kGreyMatter : Tissue::kCsf);
        ++brain;

        const double tissue_tex = 1 + 0.03 * std::clamp(p.tissue_texture.sample_clamped(b), -2.5, 2.5);
        // Enhancing vessels: in the CSF of voxels that also hold cortex (sulci, the surface).
        const double vessel = f.gm > 0.02 ? ramp(0.5 + 2 * (p.vessels.sample_clamped(b) - p.vessel_threshold)) * std::min(1.0, 10 * f.gm) : 0.0;
        const double tumour_tex = 1 + p.heterogeneity * tex;
        const double water = std::max(edema, periventricular);
        for (int m = 0; m < 4; ++m) {
          const double csf = table.healthy(m, synth::kCsf, 0) * (1 - vessel) + table.tumour(m, synth::kVessel) * vessel;
          double healthy = f.csf * csf + f.gm * table.healthy(m, synth::kGreyMatter, water) +
                           f.wm * table.healthy(m, synth::kWhiteMatter, water);
          double v = healthy * tissue_tex;
          if (core > 0) {
            double t;
            if (p.hgg) {
              t = table.tumour(m, synth::kEnhancing) * (1 - nonenhancing) + table.tumour(m, synth::kNonEnhancing) * nonenhancing;
              t = t * (1 - necrosis) + table.tumour(m, synth::kNecrosis) * necrosis;
            } else {
              t = table.tumour(m, synth::kNonEnhancing) * (1 - faint) + table.tumour(m, synth::kFaintlyEnhancing) * faint;
            }
            v = v * (1 - core) + t * tumour_tex * core;
          }
          v *= scanner[m] * bias[m].sample_clamped(x);
          // Rician magnitude noise, as in magnitude MR images.
          const double sigma = p.noise_sigma[m] * p.level[m];
          const double re = v + sigma * noise.normal(), im = sigma * noise.normal();
          const double value = std::round(std::sqrt(re * re + im * im));
          out.images[m].data[static_cast<size_t>(idx)] = static_cast<float>(std::clamp(value, 1.0, 32767.0));
        }
      }

  SyntheticCaseInfo& info = out.info;
  info.index = index;
  info.subject_id = synthetic_subject_id(index);
  info.hgg = p.hgg;
  info.atypical = p.atypical;
  const int64_t labelled = counts[1] + counts[2] + counts[3];
  Vec3 mean_voxel{};
  for (int a = 0; a < 3; ++a)
    mean_voxel[a] = labelled > 0 ? tumour_sum[a] / static_cast<double>(labelled) : (o.shape[a] - 1) / 2.0;
  // The tumour voxel nearest the centroid (a crescent's centroid may lie outside it).
  std::array<int64_t, 3> best{std::llround(mean_voxel[0]), std::llround(mean_voxel[1]), std::llround(mean_voxel[2])};
  if (labelled > 0) {
    double best_d = 1e300;
    for (int64_t i = 0; i < o.shape[0]; ++i)
      for (int64_t j = 0; j < o.shape[1]; ++j)
        for (int64_t k = 0; k < o.shape[2]; ++k) {
          if (out.seg.at(i, j, k) == 0) continue;
          const double di = i - mean_voxel[0], dj = j - mean_voxel[1], dk = k - mean_voxel[2];
          const double dd = di * di + dj * dj + dk * dk;
          if (dd < best_d) {
            best_d = dd;
            best = {i, j, k};
          }
        }
  }
  for (int a = 0; a < 3; ++a) best[a] = std::clamp<int64_t>(best[a], 0, o.shape[a] - 1);
  info.tumour_centre_voxel = best;
  info.tumour_centre_mm = apply_affine(affine, mean_voxel);
  info.label_voxels = {{1, counts[1]}, {2, counts[2]}, {4, counts[3]}};
  info.brain_voxels = brain;
  return out;
}

}  // namespace mprotonet
