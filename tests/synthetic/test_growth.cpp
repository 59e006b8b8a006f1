// SPDX-License-Identifier: MIT
// Tests of the synthetic cohort's building blocks: the tissue atlas (the shipped resource and
// the loader's errors), the Fisher-Kolmogorov growth solver on hand-made atlases (front speed
// against the analytic 2 sqrt(D rho), white matter faster than grey, no tumour in CSF,
// necrotic fraction), the random diffeomorphism (positive Jacobian), and the MR signal
// equations against an independent Python oracle (tests/helpers/synthetic_check.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/resources.h"
#include "mprotonet/data/anatomy.h"
#include "mprotonet/data/mr_physics.h"
#include "mprotonet/data/tumour_growth.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;
using namespace mprotonet;
using namespace mprotonet::synth;
using mprotonet::test::TempDir;

namespace {

// Writes csf/gm/wm/mask.nii.gz on a 1 mm RAS grid of n^3 voxels at the origin; `tissue(x, y, z)`
// returns the code (0 none, 1 CSF, 2 GM, 3 WM) of each voxel; the mask is every tissue voxel.
fs::path write_atlas(const fs::path& dir, int64_t n, const std::function<int(double, double, double)>& tissue) {
  fs::create_directories(dir);
  Volume v[4];
  for (auto& x : v) x = make_volume({n, n, n}, identity_affine());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) {
        const int t = tissue(double(i), double(j), double(k));
        if (t > 0) v[t - 1].at(i, j, k) = v[3].at(i, j, k) = 255;
      }
  write_nifti(dir / "csf.nii.gz", v[0], DataType::kUInt8);
  write_nifti(dir / "gm.nii.gz", v[1], DataType::kUInt8);
  write_nifti(dir / "wm.nii.gz", v[2], DataType::kUInt8);
  write_nifti(dir / "mask.nii.gz", v[3], DataType::kUInt8);
  return dir;
}

double radius_of(double ml) { return std::cbrt(ml * 1000.0 * 3.0 / (4.0 * 3.14159265358979323846)); }

}  // namespace

TEST(Anatomy, ShippedAtlasIsABrainInBratsSpace) {
  const TissueAtlas& a = TissueAtlas::shared();
  EXPECT_NEAR(a.brain_ml(), 1248, 30) << "brain volume of resources/anatomy (the skull-stripping mask)";
  // Centred where BraTS brains are: near the middle of the 240 x 240 x 155 mm field of view.
  const Vec3 c = a.brain_centre(), fov = TissueAtlas::brats_fov_centre();
  for (int d = 0; d < 3; ++d) EXPECT_NEAR(c[d], fov[d], 25) << "axis " << d;
  // Deep white matter at the centre of a hemisphere, CSF in the lateral ventricles' region
  // somewhere near the midline, nothing far outside.
  EXPECT_EQ(a.sample({c[0], c[1], c[2] + 200}).brain(), 0.0);
  double wm = 0, gm = 0, csf = 0;
  for (double dx = -60; dx <= 60; dx += 3)
    for (double dy = -80; dy <= 80; dy += 3)
      for (double dz = -40; dz <= 50; dz += 3) {
        const TissueFractions f = a.sample({c[0] + dx, c[1] + dy, c[2] + dz});
        wm += f.wm;
        gm += f.gm;
        csf += f.csf;
        EXPECT_LE(f.brain(), 1.0 + 3.0 / 255);  // three fractions, each rounded to 1/255
      }
  EXPECT_GT(wm, 0.25 * (wm + gm + csf));
  EXPECT_GT(gm, 0.25 * (wm + gm + csf));
  EXPECT_GT(csf, 0.05 * (wm + gm + csf));
}

// The ventricle and sulcus distance fields (the widening of a subject's CSF spaces) against
// SciPy's exact Euclidean distance transform of the same seeds, at voxel centres (where the
// trilinear sample is the grid value itself).
TEST(Anatomy, CsfDistancesMatchScipy) {
  const CsfDistances& a = CsfDistances::shared();
  const fs::path dir = resource_path("anatomy/wm.nii.gz").parent_path();
  const auto r = test::run_python_helper("synthetic_check.py", "csf_distance " + test::shell_quote(dir.string()) + " 400 7");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  int compared = 0, near_ventricle = 0;
  double x, y, z, ventricle, sulcus;
  while (lines >> x >> y >> z >> ventricle >> sulcus) {
    ++compared;
    near_ventricle += ventricle > 0 && ventricle < 4;
    EXPECT_NEAR(a.ventricle({x, y, z}), ventricle, 1e-3) << x << " " << y << " " << z;
    EXPECT_NEAR(a.sulcus({x, y, z}), sulcus, 1e-3) << x << " " << y << " " << z;
  }
  EXPECT_EQ(compared, 400) << r.output.substr(0, 400);
  EXPECT_GT(near_ventricle, 20) << "too few points next to the ventricles to test the widening's field";
}

TEST(Anatomy, LoaderNamesTheBadFile) {
  TempDir tmp;
  EXPECT_THROW(TissueAtlas::load(tmp / "missing"), Error);
  const fs::path dir = write_atlas(tmp / "a", 8, [](double, double, double) { return 3; });
  // A grid that differs from the others.
  write_nifti(dir / "gm.nii.gz", make_volume({8, 8, 9}, identity_affine()), DataType::kUInt8);
  try {
    TissueAtlas::load(dir);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("gm.nii.gz"), std::string::npos) << e.what();
  }
  // Values that are not fractions.
  Volume bad = make_volume({8, 8, 8}, identity_affine());
  bad.data[3] = 300;
  write_nifti(dir / "gm.nii.gz", bad, DataType::kFloat32);
  EXPECT_THROW(TissueAtlas::load(dir), Error);
}

TEST(Growth, FrontTravelsAtTheFisherSpeed) {
  // Homogeneous white matter: the front of dc/dt = D lap c + rho c (1 - c) travels at
  // 2 sqrt(D rho), less (n - 1) D / r for a spherical front of radius r in n = 3 dimensions.
  TempDir tmp;
  const TissueAtlas atlas = TissueAtlas::load(write_atlas(tmp / "wm", 120, [](double, double, double) { return 3; }));
  GrowthOptions g;
  g.seed = {60, 60, 60};
  g.grid_mm = 2.0;
  g.reach_mm = 56;
  g.front_width_mm = 3.0;
  g.core_threshold = 0.5;
  g.target_core_ml = 20;
  const TumourFields a = grow_tumour(atlas, g);
  g.target_core_ml = 80;
  const TumourFields b = grow_tumour(atlas, g);
  ASSERT_GT(b.steps, a.steps);
  const double ra = radius_of(a.core_ml), rb = radius_of(b.core_ml);
  const double measured = (rb - ra) / (b.steps - a.steps);  // mm per step
  // Per step: D dt = alpha h^2 with alpha = 0.16, rho dt = D dt / lambda^2.
  const double d_dt = 0.16 * g.grid_mm * g.grid_mm, rho_dt = d_dt / (g.front_width_mm * g.front_width_mm);
  const double expected = 2 * std::sqrt(d_dt * rho_dt) - 2 * d_dt / (0.5 * (ra + rb));
  EXPECT_NEAR(measured, expected, 0.15 * expected) << "radii " << ra << " -> " << rb << " mm in " << b.steps - a.steps << " steps";
  // Target reached without overshooting by more than a step's growth.
  EXPECT_GE(b.core_ml, 80);
  EXPECT_LT(b.core_ml, 88);
  // Density is 0..1 and approaches saturation inside.
  EXPECT_GT(b.density.sample(g.seed), 0.9);
  for (float v : b.density.values) ASSERT_TRUE(v >= 0 && v <= 1);
}

TEST(Growth, WhiteMatterFasterThanGreyAndNoTumourInCsf) {
  // x < 60: white matter; x >= 60: grey matter; a CSF slab at y in [75, 80).
  TempDir tmp;
  const TissueAtlas atlas = TissueAtlas::load(write_atlas(tmp / "half", 120, [](double x, double y, double) {
    if (y >= 75 && y < 80) return 1;
    return x < 60 ? 3 : 2;
  }));
  GrowthOptions g;
  g.seed = {60, 55, 60};
  g.front_width_mm = 3.0;
  g.diffusion_ratio = 8;
  g.core_threshold = 0.5;
  g.visible_threshold = 0.16;
  g.target_core_ml = 15;
  const TumourFields t = grow_tumour(atlas, g);
  auto extent = [&](double dx, double dy) {  // distance from the seed to the visible edge
    double r = 0;
    while (r < 50 && t.density.sample({g.seed[0] + dx * r, g.seed[1] + dy * r, g.seed[2]}) >= g.visible_threshold) r += 0.5;
    return r;
  };
  const double into_wm = extent(-1, 0), into_gm = extent(1, 0);
  EXPECT_GT(into_wm, 1.6 * into_gm) << "white matter " << into_wm << " mm, grey matter " << into_gm << " mm";
  // Nothing enters the CSF slab, and the tissue beyond it is reached only around it (not at all
  // here: the slab spans the whole grid).
  for (double x = 30; x <= 90; x += 1)
    for (double z = 30; z <= 90; z += 1) {
      ASSERT_EQ(t.density.sample({x, 77.5, z}), 0.0) << "tumour inside CSF at x " << x << " z " << z;
      ASSERT_EQ(t.density.sample({x, 82, z}), 0.0) << "tumour crossed the CSF slab at x " << x << " z " << z;
    }
}

TEST(Growth, NecrosisIsTheOldestPartOfTheCore) {
  TempDir tmp;
  const TissueAtlas atlas = TissueAtlas::load(write_atlas(tmp / "wm", 100, [](double, double, double) { return 3; }));
  GrowthOptions g;
  g.seed = {50, 50, 50};
  g.reach_mm = 46;
  g.front_width_mm = 2.5;
  g.target_core_ml = 30;
  g.necrotic_fraction = 0.4;
  const TumourFields t = grow_tumour(atlas, g);
  ASSERT_FALSE(t.necrosis.empty());
  EXPECT_NEAR(t.necrotic_ml / t.core_ml, 0.4, 0.06);
  // Necrotic at the centre, not at the core's edge.
  EXPECT_GT(t.necrosis.sample(g.seed), 0.99);
  const double edge = radius_of(t.core_ml) - 1.0;
  EXPECT_LT(t.necrosis.sample({g.seed[0] + edge, g.seed[1], g.seed[2]}), 0.5);
  g.necrotic_fraction = 0;
  EXPECT_TRUE(grow_tumour(atlas, g).necrosis.empty());
}

TEST(Deformation, IsSmoothAndInvertible) {
  for (double amplitude : {3.0, 6.0}) {
    SynthRng rng(42);
    const Vec3 lo{0, 0, 0}, hi{100, 120, 90};
    const Deformation phi(rng, lo, hi, amplitude, 6.0);
    double sum2 = 0, min_det = 1e9;
    int n = 0;
    const double h = 1.0;
    for (double x = 5; x < 95; x += 7)
      for (double y = 5; y < 115; y += 7)
        for (double z = 5; z < 85; z += 7) {
          const Vec3 p{x, y, z};
          const Vec3 q = phi(p);
          for (int d = 0; d < 3; ++d) sum2 += (q[d] - p[d]) * (q[d] - p[d]);
          ++n;
          double J[3][3];
          for (int c = 0; c < 3; ++c) {
            Vec3 a = p, b = p;
            a[c] -= h;
            b[c] += h;
            const Vec3 qa = phi(a), qb = phi(b);
            for (int r = 0; r < 3; ++r) J[r][c] = (qb[r] - qa[r]) / (2 * h);
          }
          const double det = J[0][0] * (J[1][1] * J[2][2] - J[1][2] * J[2][1]) - J[0][1] * (J[1][0] * J[2][2] - J[1][2] * J[2][0]) +
                             J[0][2] * (J[1][0] * J[2][1] - J[1][1] * J[2][0]);
          min_det = std::min(min_det, det);
        }
    const double rms = std::sqrt(sum2 / n);
    EXPECT_GT(rms, 0.5 * amplitude) << "amplitude " << amplitude;
    EXPECT_LT(rms, 3.0 * amplitude) << "amplitude " << amplitude;
    EXPECT_GT(min_det, 0.2) << "the deformation folds space (amplitude " << amplitude << ")";
  }
  // Identity when the amplitude is 0, and for points outside the box.
  SynthRng rng(1);
  const Deformation none(rng, {0, 0, 0}, {10, 10, 10}, 0.0, 6.0);
  EXPECT_EQ(none({3, 4, 5})[1], 4.0);
}

TEST(MrPhysics, SignalEquationsMatchTheOracle) {
  struct Case {
    SequenceKind kind;
    double tr, te, ti;
    bool contrast;
    Relaxation r;
    double gd;
  };
  const Case cases[] = {
      {SequenceKind::kSpinEcho, 500, 12, 0, false, {830, 80, 0.69}, 0},
      {SequenceKind::kSpinEcho, 500, 12, 0, true, {1500, 130, 0.86}, 0.002},
      {SequenceKind::kSpinEcho, 4000, 100, 0, false, {4000, 1800, 1.0}, 0},
      {SequenceKind::kInversionRecovery, 9000, 120, 2470, false, {1330, 110, 0.81}, 0},
      {SequenceKind::kInversionRecovery, 2000, 4, 900, true, {1700, 180, 0.88}, 0.0005},
  };
  for (const auto& c : cases) {
    Sequence s;
    s.kind = c.kind;
    s.tr = c.tr;
    s.te = c.te;
    s.ti = c.ti;
    s.contrast = c.contrast;
    const double ours = signal(s, c.r, c.gd);
    char args[256];
    std::snprintf(args, sizeof args, "signal %s %.17g %.17g %.17g %d %.17g %.17g %.17g %.17g",
                  c.kind == SequenceKind::kSpinEcho ? "se" : "ir", c.tr, c.te, c.ti, c.contrast ? 1 : 0, c.r.t1, c.r.t2, c.r.pd, c.gd);
    const auto r = test::run_python_helper("synthetic_check.py", args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NEAR(ours, std::atof(r.output.c_str()), 1e-12) << args;
  }
  // FLAIR's inversion time nulls the compartment it is computed for.
  Sequence flair;
  flair.kind = SequenceKind::kInversionRecovery;
  flair.tr = 9000;
  flair.te = 120;
  flair.ti = null_inversion_time(4000, flair.tr);
  EXPECT_NEAR(signal(flair, {4000, 1800, 1.0}), 0.0, 1e-12);
  EXPECT_GT(signal(flair, {830, 80, 0.69}), 0.1);
}

TEST(MrPhysics, DrawnProtocolsGiveTheClinicalContrasts) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    SynthRng rng(seed);
    const MrProtocol p = MrProtocol::draw(rng);
    const SignalTable t(p);
    SCOPED_TRACE("seed " + std::to_string(seed));
    const int t1 = 0, t1ce = 1, t2 = 2, flair = 3;
    auto h = [&](int s, int c, double e = 0) { return t.healthy(s, c, e); };
    EXPECT_GT(h(t1, kWhiteMatter), 1.08 * h(t1, kGreyMatter)) << "T1: WM brighter than GM";
    EXPECT_LT(h(t1, kCsf), 0.6 * h(t1, kGreyMatter)) << "T1: CSF dark";
    EXPECT_GT(h(t2, kCsf), 1.8 * h(t2, kGreyMatter)) << "T2: CSF bright";
    EXPECT_GT(h(t2, kGreyMatter), h(t2, kWhiteMatter)) << "T2: GM brighter than WM";
    EXPECT_LT(h(flair, kCsf), 0.4 * h(flair, kWhiteMatter)) << "FLAIR: CSF (nearly) nulled";
    EXPECT_GT(h(flair, kWhiteMatter, 1.0), 1.5 * h(flair, kWhiteMatter)) << "FLAIR: edema bright";
    EXPECT_GT(h(t2, kWhiteMatter, 1.0), 1.5 * h(t2, kWhiteMatter)) << "T2: edema bright";
    EXPECT_LT(h(t1, kWhiteMatter, 1.0), h(t1, kWhiteMatter)) << "T1: edema darker";
    EXPECT_GT(t.tumour(t1ce, kEnhancing), 1.4 * h(t1ce, kWhiteMatter)) << "T1CE: enhancing tumour bright";
    EXPECT_LT(t.tumour(t1, kEnhancing), h(t1, kWhiteMatter)) << "T1: the same tissue before contrast is not";
    EXPECT_LT(t.tumour(t1ce, kNecrosis), h(t1ce, kGreyMatter)) << "T1CE: necrosis dark";
    EXPECT_GT(t.tumour(t2, kNonEnhancing), 1.5 * h(t2, kWhiteMatter)) << "T2: non-enhancing tumour bright";
    EXPECT_GT(t.tumour(t1ce, kFaintlyEnhancing), t.tumour(t1ce, kNonEnhancing)) << "faint enhancement";
    EXPECT_LT(t.tumour(t1ce, kFaintlyEnhancing), t.tumour(t1ce, kEnhancing));
  }
}
