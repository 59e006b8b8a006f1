// SPDX-License-Identifier: MIT
// Tests of the synthetic cohort generator: label sets, biology-vs-grade relation, class balance,
// determinism (including across thread counts), intensity relations between tissues, every
// subject's own brain, and the BraTS 2020 layout, skull stripping and label geometry as read by
// nibabel (tests/helpers/synthetic_check.py). The building blocks (atlas, growth, deformation,
// signal equations) are tested in test_growth.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/synthetic.h"

namespace fs = std::filesystem;
using namespace mprotonet;
using mprotonet::test::TempDir;

namespace {

// 64 x 64 x 40 at 3.75 mm covers the BraTS field of view (240 x 240 x 150 mm) cheaply.
SyntheticOptions small_options(int cases = 6) {
  SyntheticOptions o;
  o.cases = cases;
  o.seed = 7;
  o.shape = {64, 64, 40};
  o.spacing = 3.75;
  o.threads = 2;
  return o;
}

SyntheticOptions tiny_options(int cases) {
  SyntheticOptions o = small_options(cases);
  o.shape = {32, 32, 20};
  o.spacing = 7.5;
  return o;
}

std::string slurp(const fs::path& p) { return read_text_file(p); }

}  // namespace

TEST(Synthetic, LabelsAreBratsLabelsAndTumourIsInsideTheBrain) {
  const SyntheticOptions o = small_options();
  for (int i = 0; i < 8; ++i) {
    const SyntheticCase c = generate_synthetic_case(o, i);
    ASSERT_EQ(c.seg.shape, o.shape);
    std::map<int, int64_t> counts;
    for (int64_t v = 0; v < c.seg.numel(); ++v) {
      const float label = c.seg.data[static_cast<size_t>(v)];
      ASSERT_TRUE(label == 0 || label == 1 || label == 2 || label == 4) << "label " << label;
      counts[static_cast<int>(label)]++;
      if (label != 0) {
        ASSERT_NE(c.tissue[static_cast<size_t>(v)], 0) << "tumour voxel outside the brain mask, case " << i;
        for (const auto& image : c.images) ASSERT_GT(image.data[static_cast<size_t>(v)], 0.0f);
      }
    }
    for (const auto& image : c.images)
      for (float x : image.data) {
        ASSERT_GE(x, 0.0f);
        ASSERT_LE(x, 32767.0f);
        ASSERT_EQ(x, std::round(x));
      }
    EXPECT_EQ(c.info.label_voxels.at(1), counts[1]);
    EXPECT_EQ(c.info.label_voxels.at(2), counts[2]);
    EXPECT_EQ(c.info.label_voxels.at(4), counts[4]);
    EXPECT_GT(counts[1] + counts[2] + counts[4], 20) << "every case has a visible tumour";
    // Background is exactly 0 (skull-stripped), and the brain is a plausible size (~1.1-1.6 l).
    EXPECT_EQ(c.images[0].at(0, 0, 0), 0.0f);
    const double brain_ml = static_cast<double>(c.info.brain_voxels) * std::pow(o.spacing, 3) / 1000.0;
    EXPECT_GT(brain_ml, 900);
    EXPECT_LT(brain_ml, 1900);
    // The recorded tumour centre is a tumour voxel or close to one.
    const auto& tv = c.info.tumour_centre_voxel;
    EXPECT_NE(c.seg.at(tv[0], tv[1], tv[2]), 0.0f) << "case " << i;
  }
}

TEST(Synthetic, GradeIsDecidedByEnhancement) {
  SyntheticOptions o = small_options(30);
  o.atypical_fraction = 0.3;  // make sure both variants of both grades occur
  double hgg_enh = 0, lgg_enh = 0;
  int hgg = 0, lgg = 0, typical_lgg = 0, typical_hgg = 0;
  for (int i = 0; i < o.cases; ++i) {
    const SyntheticCase c = generate_synthetic_case(o, i);
    const auto& n = c.info.label_voxels;
    const double core = static_cast<double>(n.at(1) + n.at(4));
    const double enh_fraction = core > 0 ? n.at(4) / core : 0;
    if (c.info.hgg) {
      hgg_enh += enh_fraction;
      ++hgg;
      if (!c.info.atypical) {
        ++typical_hgg;
        EXPECT_GT(enh_fraction, 0.15) << c.info.subject_id << ": typical HGG needs an enhancing rim";
        EXPECT_GT(n.at(1), 0) << c.info.subject_id << ": typical HGG needs a necrotic core";
      }
    } else {
      lgg_enh += enh_fraction;
      ++lgg;
      if (!c.info.atypical) {
        ++typical_lgg;
        EXPECT_EQ(n.at(4), 0) << c.info.subject_id << ": typical LGG must not enhance";
      }
    }
  }
  ASSERT_GT(hgg, 0);
  ASSERT_GT(lgg, 0);
  ASSERT_GT(typical_lgg, 0);
  ASSERT_GT(typical_hgg, 0);
  EXPECT_GT(hgg_enh / hgg, 4 * (lgg_enh / lgg) + 0.1) << "HGG must have far more enhancing tumour than LGG";
}

TEST(Synthetic, ClassBalanceFollowsHggFraction) {
  for (double fraction : {0.79, 0.5}) {
    SyntheticOptions o = tiny_options(150);
    o.hgg_fraction = fraction;
    int hgg = 0, atypical = 0;
    for (int i = 0; i < o.cases; ++i) {
      const SyntheticGrade g = synthetic_grade(o, i);
      hgg += g.hgg;
      atypical += g.atypical;
      if (i % 50 == 0) {  // the grade a generated case reports is the planned one
        const SyntheticCaseInfo info = generate_synthetic_case(o, i).info;
        EXPECT_EQ(info.hgg, g.hgg);
        EXPECT_EQ(info.atypical, g.atypical);
      }
    }
    EXPECT_NEAR(hgg / 150.0, fraction, 0.03) << "hgg_fraction " << fraction;
    EXPECT_NEAR(atypical / 150.0, o.atypical_fraction, 0.08);
  }
}

TEST(Synthetic, SameSeedSameCaseDifferentSeedDifferentCase) {
  const SyntheticOptions o = small_options();
  const SyntheticCase a = generate_synthetic_case(o, 3);
  const SyntheticCase b = generate_synthetic_case(o, 3);
  for (int m = 0; m < 4; ++m) EXPECT_EQ(a.images[m].data, b.images[m].data);
  EXPECT_EQ(a.seg.data, b.seg.data);
  // A case does not depend on how many cases the cohort has.
  SyntheticOptions bigger = o;
  bigger.cases = 50;
  EXPECT_EQ(generate_synthetic_case(bigger, 3).images[1].data, a.images[1].data);
  SyntheticOptions other = o;
  other.seed = o.seed + 1;
  EXPECT_NE(generate_synthetic_case(other, 3).images[0].data, a.images[0].data);
  EXPECT_NE(generate_synthetic_case(o, 4).images[0].data, a.images[0].data);
}

// --ageing widens the CSF spaces of the same subject (same brain mask, same grade, same pose):
// more CSF voxels and a brighter T2 over the brain (CSF is the T2-brightest tissue).
TEST(Synthetic, AgeingWidensTheCsfSpacesOfTheSameSubject) {
  SyntheticOptions young = small_options(4), aged = young;
  aged.ageing = true;
  int64_t csf_young = 0, csf_aged = 0;
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const SyntheticCase a = generate_synthetic_case(young, i), b = generate_synthetic_case(aged, i);
    EXPECT_EQ(a.info.brain_voxels, b.info.brain_voxels) << "ageing must not move the brain mask";
    EXPECT_EQ(a.info.hgg, b.info.hgg);
    double t2_young = 0, t2_aged = 0;
    for (size_t v = 0; v < a.tissue.size(); ++v) {
      csf_young += a.tissue[v] == static_cast<uint8_t>(Tissue::kCsf);
      csf_aged += b.tissue[v] == static_cast<uint8_t>(Tissue::kCsf);
      // Tissue is only where the brain is; both cases share it.
      EXPECT_EQ(a.tissue[v] == 0, b.tissue[v] == 0);
      t2_young += a.images[2].data[v];
      t2_aged += b.images[2].data[v];
    }
    // Scanner scale is drawn before the ageing and the noise has its own stream over the same
    // mask: both are the same per case, so the T2 sums compare.
    EXPECT_GT(t2_aged, t2_young);
  }
  EXPECT_GT(static_cast<double>(csf_aged), 1.15 * static_cast<double>(csf_young))
      << "CSF voxels: " << csf_young << " without ageing, " << csf_aged << " with";
}

TEST(Synthetic, IntensityRelationsBetweenTissues) {
  const SyntheticOptions o = small_options();
  for (int i = 0; i < 4; ++i) {
    const SyntheticCase c = generate_synthetic_case(o, i);
    // mean[modality][class]: class 0..4 = Tissue codes outside the tumour, 5 = edema (label 2)
    double sum[4][6] = {}, n[6] = {};
    for (int64_t v = 0; v < c.seg.numel(); ++v) {
      const int label = static_cast<int>(c.seg.data[static_cast<size_t>(v)]);
      int cls = -1;
      if (label == 2) cls = 5;
      else if (label == 0) cls = c.tissue[static_cast<size_t>(v)];
      if (cls <= 0) continue;
      n[cls] += 1;
      for (int m = 0; m < 4; ++m) sum[m][cls] += c.images[m].data[static_cast<size_t>(v)];
    }
    auto mean = [&](int m, int cls) { return sum[m][cls] / std::max(n[cls], 1.0); };
    const int csf = 1, gm = 2, wm = 3, edema = 5, t1 = 0, t2 = 2, flair = 3;
    ASSERT_GT(n[csf], 10);
    ASSERT_GT(n[gm], 10);
    ASSERT_GT(n[wm], 10);
    SCOPED_TRACE("case " + std::to_string(i));
    EXPECT_LT(mean(t1, csf), 0.6 * mean(t1, wm)) << "CSF dark on T1";
    EXPECT_LT(mean(flair, csf), 0.6 * mean(flair, wm)) << "CSF dark on FLAIR";
    EXPECT_GT(mean(t2, csf), 1.8 * mean(t2, wm)) << "CSF bright on T2";
    EXPECT_GT(mean(t1, wm), mean(t1, gm)) << "T1: WM brighter than GM";
    EXPECT_GT(mean(t2, gm), mean(t2, wm)) << "T2: GM brighter than WM";
    EXPECT_GT(mean(flair, gm), mean(flair, wm)) << "FLAIR: GM brighter than WM";
    if (n[edema] > 10) {
      EXPECT_GT(mean(flair, edema), 1.3 * mean(flair, wm)) << "edema bright on FLAIR";
      EXPECT_GT(mean(t2, edema), 1.5 * mean(t2, wm)) << "edema bright on T2";
    }
  }
}

TEST(Synthetic, AffineIsBratsLikeLps) {
  const Affine a = synthetic_affine({240, 240, 155}, 1.0);
  EXPECT_EQ(a[0][0], -1.0);
  EXPECT_EQ(a[1][1], -1.0);
  EXPECT_EQ(a[2][2], 1.0);
  EXPECT_EQ(a[1][3], 239.0);
  const Affine b = synthetic_affine({120, 120, 78}, 2.0);
  EXPECT_EQ(b[0][0], -2.0);
  EXPECT_EQ(b[1][3], 238.0);
  EXPECT_EQ(synthetic_subject_id(0), "BraTS20_Training_001");
  EXPECT_EQ(synthetic_subject_id(368), "BraTS20_Training_369");
}

TEST(Synthetic, SameBrainAtAnotherResolution) {
  // Anatomy is defined in mm: the tumour centre in world coordinates and the tumour volume in
  // ml agree between 3.75 mm and 7.5 mm grids over the same field of view.
  SyntheticOptions fine = small_options();
  SyntheticOptions coarse = tiny_options(6);
  for (int i = 0; i < 3; ++i) {
    const auto a = generate_synthetic_case(fine, i).info;
    const auto b = generate_synthetic_case(coarse, i).info;
    for (int d = 0; d < 3; ++d) EXPECT_NEAR(a.tumour_centre_mm[d], b.tumour_centre_mm[d], 4.0);
    auto whole_ml = [](const SyntheticCaseInfo& info, double s) {
      return static_cast<double>(info.label_voxels.at(1) + info.label_voxels.at(2) + info.label_voxels.at(4)) * s * s * s / 1000;
    };
    const double va = whole_ml(a, fine.spacing), vb = whole_ml(b, coarse.spacing);
    EXPECT_NEAR(va, vb, 0.25 * va + 3) << "whole tumour ml at 3.75 mm vs 7.5 mm, case " << i;
  }
}

TEST(Synthetic, CohortLayoutReadableByNibabel) {
  TempDir tmp;
  const fs::path dir = tmp / "cohort";
  const SyntheticOptions o = small_options(5);
  int last_done = 0;
  const auto infos = write_synthetic_cohort(dir, o, [&](int done, int total) {
    EXPECT_EQ(total, 5);
    EXPECT_GT(done, last_done);
    last_done = done;
  });
  EXPECT_EQ(last_done, 5);
  ASSERT_EQ(infos.size(), 5u);

  // CSV: header, grade first, subject id last, one row per case in order.
  std::istringstream csv(slurp(dir / "name_mapping.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "Grade,BraTS_2017_subject_ID,BraTS_2018_subject_ID,TCGA_TCIA_subject_ID,BraTS_2019_subject_ID,BraTS_2020_subject_ID");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(std::getline(csv, line));
    EXPECT_EQ(line.substr(0, 3), infos[i].hgg ? "HGG" : "LGG");
    EXPECT_EQ(line.substr(line.rfind(',') + 1), synthetic_subject_id(i));
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "name_mapping.csv" || name == "synthetic.json" || name.rfind("BraTS20_Training_", 0) == 0)
        << "unexpected leftover " << name;
  }
  const auto r = test::run_python_helper("synthetic_check.py", "cohort " + test::shell_quote(dir.string()) + " 64 64 40 3.75");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"cases\": 5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"files\": 25"), std::string::npos) << r.output;
}

TEST(Synthetic, LabelsFollowTheGrowthModel) {
  // Every variant of both grades at 3.75 mm. The core (1, 4) grows inside the visible tumour:
  // of the faces between the core and the rest, few touch healthy parenchyma (label 0 on grey
  // or white matter; next to CSF is fine: tumour cells do not live in CSF). Few, not none: in
  // grey matter the front is steep (its width falls with sqrt(D)) and a 3.75 mm step can cross
  // it; about 6 % here. Typical LGG never enhance and typical HGG have enhancing tumour and
  // necrosis (the Python oracle checks the written files for that).
  SyntheticOptions o = small_options(16);
  o.atypical_fraction = 0.3;
  o.hgg_fraction = 0.5;
  int64_t core = 0, boundary = 0, exposed = 0;
  for (int i = 0; i < o.cases; ++i) {
    const SyntheticCase c = generate_synthetic_case(o, i);
    const auto& s = c.seg;
    for (int64_t x = 1; x + 1 < s.shape[0]; ++x)
      for (int64_t y = 1; y + 1 < s.shape[1]; ++y)
        for (int64_t z = 1; z + 1 < s.shape[2]; ++z) {
          const float label = s.at(x, y, z);
          if (label != 1 && label != 4) continue;
          ++core;
          const int64_t nb[6][3] = {{x - 1, y, z}, {x + 1, y, z}, {x, y - 1, z}, {x, y + 1, z}, {x, y, z - 1}, {x, y, z + 1}};
          for (const auto& n : nb) {
            const int64_t v = s.index(n[0], n[1], n[2]);
            const auto tissue = static_cast<Tissue>(c.tissue[static_cast<size_t>(v)]);
            const float other = s.data[static_cast<size_t>(v)];
            boundary += other != 1 && other != 4;
            exposed += other == 0 && (tissue == Tissue::kGreyMatter || tissue == Tissue::kWhiteMatter);
          }
        }
  }
  ASSERT_GT(core, 100);
  EXPECT_LT(exposed, boundary * 15 / 100) << exposed << " of " << boundary << " core boundary faces touch healthy parenchyma";
  TempDir tmp;
  o.cases = 8;
  write_synthetic_cohort(tmp / "c", o);
  const auto r = test::run_python_helper("synthetic_check.py", "cohort " + test::shell_quote((tmp / "c").string()) + " 64 64 40 3.75");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

TEST(Synthetic, EverySubjectHasItsOwnBrain) {
  // Same atlas, different deformation, pose and size: brain masks differ between subjects,
  // and brain volumes vary around the atlas's 1.26 l.
  const SyntheticOptions o = small_options();
  const SyntheticCase a = generate_synthetic_case(o, 0), b = generate_synthetic_case(o, 1);
  int64_t differ = 0, brain = 0;
  for (size_t v = 0; v < a.tissue.size(); ++v) {
    differ += (a.tissue[v] != 0) != (b.tissue[v] != 0);
    brain += a.tissue[v] != 0;
  }
  EXPECT_GT(differ, brain / 20) << "brain masks of two subjects nearly identical";
  double lo = 1e9, hi = 0;
  for (int i = 0; i < 8; ++i) {
    const double ml = static_cast<double>(generate_synthetic_case(o, i).info.brain_voxels) * std::pow(o.spacing, 3) / 1000;
    lo = std::min(lo, ml);
    hi = std::max(hi, ml);
  }
  EXPECT_GT(hi - lo, 50) << "brain volumes " << lo << " to " << hi << " ml";
}

TEST(Synthetic, ThreadCountNeverChangesTheBytes) {
  TempDir tmp;
  SyntheticOptions o = small_options(4);
  o.threads = 1;
  write_synthetic_cohort(tmp / "one", o);
  o.threads = 3;
  write_synthetic_cohort(tmp / "three", o);
  int compared = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string id = synthetic_subject_id(i);
    for (const char* m : {"t1", "t1ce", "t2", "flair", "seg"}) {
      const std::string f = id + "/" + id + "_" + m + ".nii.gz";
      EXPECT_EQ(slurp(tmp / "one" / f), slurp(tmp / "three" / f)) << f;
      ++compared;
    }
  }
  EXPECT_EQ(compared, 20);
  EXPECT_EQ(slurp(tmp / "one" / "name_mapping.csv"), slurp(tmp / "three" / "name_mapping.csv"));
  EXPECT_EQ(slurp(tmp / "one" / "synthetic.json"), slurp(tmp / "three" / "synthetic.json"));
}

TEST(Synthetic, RefusesForeignNonEmptyFolderAndReplacesPreviousCohort) {
  TempDir tmp;
  const fs::path foreign = tmp / "foreign";
  fs::create_directories(foreign);
  std::ofstream(foreign / "notes.txt") << "precious";
  try {
    write_synthetic_cohort(foreign, small_options(2));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(foreign.string()), std::string::npos) << e.what();
  }
  EXPECT_EQ(slurp(foreign / "notes.txt"), "precious");

  const fs::path dir = tmp / "cohort";
  write_synthetic_cohort(dir, small_options(3));
  const auto t1 = dir / "BraTS20_Training_001" / "BraTS20_Training_001_t1.nii.gz";
  const auto stamp = fs::last_write_time(t1);
  // Identical options: the complete cohort is kept as is.
  write_synthetic_cohort(dir, small_options(3));
  EXPECT_EQ(fs::last_write_time(t1), stamp);
  // Fewer cases: replaced, stale case folders removed, CSV shortened.
  write_synthetic_cohort(dir, small_options(2));
  EXPECT_FALSE(fs::exists(dir / "BraTS20_Training_003"));
  EXPECT_TRUE(fs::exists(dir / "BraTS20_Training_002" / "BraTS20_Training_002_seg.nii.gz"));
  std::istringstream csv(slurp(dir / "name_mapping.csv"));
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 3);
}

TEST(Synthetic, BadOptionsNameTheField) {
  auto expect_error = [](SyntheticOptions o, const std::string& field) {
    try {
      validate(o);
      ADD_FAILURE() << "expected an Error for " << field;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  SyntheticOptions o = small_options();
  o.hgg_fraction = 1.5;
  expect_error(o, "hgg_fraction");
  o = small_options();
  o.cases = 0;
  expect_error(o, "cases");
  o = small_options();
  o.spacing = -1;
  expect_error(o, "spacing");
  o = small_options();
  o.shape = {16, 16, 16};
  expect_error(o, "field of view");
  o = small_options();
  o.atypical_fraction = -0.1;
  expect_error(o, "atypical_fraction");
}

TEST(SyntheticCli, WritesCohortAndPreview) {
  TempDir tmp;
  const fs::path out = tmp / "cohort", png = tmp / "preview.png";
  const auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " synth --out " +
                                   test::shell_quote(out.string()) + " --cases 3 --seed 2 --shape 64,64,40 --spacing 3.75" +
                                   " --threads 2 --preview " + test::shell_quote(png.string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3/3 cases"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out / "name_mapping.csv"));
  // 64 voxels, zoom ceil(200 / 64) = 4 -> 256 px panels; 6 columns x 3 rows with 4 px gaps.
  const auto p = test::run_python_helper("synthetic_check.py", "png " + test::shell_quote(png.string()));
  EXPECT_NE(p.output.find("\"width\": " + std::to_string(6 * 256 + 7 * 4)), std::string::npos) << p.output.substr(0, 200);
  EXPECT_NE(p.output.find("\"height\": " + std::to_string(3 * 256 + 4 * 4)), std::string::npos) << p.output.substr(0, 200);
}

TEST(SyntheticCli, PreviewShowsARealCaseFirst) {
  TempDir tmp;
  const fs::path out = tmp / "cohort", png = tmp / "preview.png";
  const auto r = test::run_command(test::shell_quote(test::cli_path().string()) + " synth --out " +
                                   test::shell_quote(out.string()) + " --cases 2 --seed 2 --shape 64,64,40 --spacing 3.75" +
                                   " --threads 2 --preview " + test::shell_quote(png.string()) + " --preview-real " +
                                   test::shell_quote(test::data_path("brats/TCGA-DU-7294").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Real case (240 voxels, zoom 1 -> 240 px cells) first, then 2 synthetic rows: 3 rows of 6.
  const auto p = test::run_python_helper("synthetic_check.py", "png " + test::shell_quote(png.string()));
  EXPECT_NE(p.output.find("\"width\": " + std::to_string(6 * 256 + 7 * 4)), std::string::npos) << p.output.substr(0, 200);
  EXPECT_NE(p.output.find("\"height\": " + std::to_string(3 * 256 + 4 * 4)), std::string::npos) << p.output.substr(0, 200);
  // A folder that is not a case: a clear error before anything is generated.
  const auto bad = test::run_command(test::shell_quote(test::cli_path().string()) + " synth --out " +
                                     test::shell_quote((tmp / "x").string()) + " --cases 1 --preview " +
                                     test::shell_quote(png.string()) + " --preview-real " + test::shell_quote(tmp.path().string()));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("--preview-real"), std::string::npos) << bad.output;
  EXPECT_FALSE(fs::exists(tmp / "x" / "name_mapping.csv"));
}

TEST(SyntheticCli, BadInputGivesClearErrors) {
  TempDir tmp;
  const std::string cli = test::shell_quote(test::cli_path().string());
  auto r = test::run_command(cli + " synth --out " + test::shell_quote((tmp / "a").string()) + " --shape 64,64");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--shape 64,64 is invalid"), std::string::npos) << r.output;
  r = test::run_command(cli + " synth --out " + test::shell_quote((tmp / "a").string()) + " --hgg-fraction 2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("hgg_fraction"), std::string::npos) << r.output;
  std::ofstream(tmp / "file.txt") << "x";
  r = test::run_command(cli + " synth --out " + test::shell_quote(tmp.path().string()) + " --cases 1 --shape 32,32,20 --spacing 7.5");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("refusing"), std::string::npos) << r.output;
  r = test::run_command(cli + " synth --cases 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;  // --out is required: a parse error
}
