// SPDX-License-Identifier: MIT
// Sim to real: a model trained only on the synthetic cohort must find the tumour in a real scan.
// Each test generates a cohort with `mprotonet synth`, trains MProtoNet C (MProtoNet3D_pm5,
// resnet18_ri, n_layers 5, 4 mm input, precision auto) with `mprotonet train`, explains the real
// TCGA-DU-7294 case (tests/data/brats, a TCGA-LGG patient in BraTS space) with `predict --case
// --maps` and scores the MProtoNet map against the case's segmentation with `localization`
// (activation precision: the share of the map's activated voxels that lie in the tumour).
//
//   Sim2Real.SmallModelFindsTheTumour   40 cases at 6 mm, 20 epochs (about 6 min on 2 free
//                                       cores); runs with MPROTONET_SIM2REAL=1
//   Sim2Real.MainJobModelFindsTheTumour the main job's settings (80 cases, 16 epochs, fold 0 of
//                                       3; a few minutes); runs with MPROTONET_SIM2REAL_FULL=1
//
// Both are opt-in: they cost minutes of training, and neither passes yet (README, *Sim to real*:
// the main job's fold models learn the synthetic grade but reach AP 0.004-0.064 on the real case
// and call it high grade). The real case is a check, never a tuning
// target: the generator was not fitted to it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;
using mprotonet::test::TempDir;

namespace {

struct Transfer {
  double ap = -1;        // MProtoNet map vs the whole tumour
  double p_hgg = -1;     // probability of class 1 (HGG); the case is low grade
  std::string log;
};

std::string q(const fs::path& p) { return mprotonet::test::shell_quote(p.string()); }

// synth + train fold 0 + predict + localization; fails the test on any command error.
Transfer run_transfer(const fs::path& dir, int cases, double synth_spacing, double input_spacing, int epochs,
                      int last_layer_epochs) {
  const std::string cli = q(mprotonet::test::cli_path());
  const fs::path real = mprotonet::test::data_path("brats/TCGA-DU-7294");
  Transfer t;
  auto run = [&](const std::string& command) {
    const auto r = mprotonet::test::run_command(command);
    t.log += "$ " + command + "\n" + r.output.substr(r.output.size() > 2000 ? r.output.size() - 2000 : 0) + "\n";
    return r.exit_code == 0;
  };
  const int64_t x = std::lround(240 / synth_spacing), z = std::lround(155 / synth_spacing);
  if (!run(cli + " synth --out " + q(dir / "data") + " --cases " + std::to_string(cases) + " --hgg-fraction 0.6 --seed 0" +
           " --shape " + std::to_string(x) + "," + std::to_string(x) + "," + std::to_string(z) +
           " --spacing " + std::to_string(synth_spacing)))
    return t;
  if (!run(cli + " train --data " + q(dir / "data") + " --out " + q(dir / "run") + " --cache " + q(dir / "cache") +
           " --model-name MProtoNet3D_pm5 --folds 3 --fold 0 --features resnet18_ri --n-layers 5 --spacing " +
           std::to_string(input_spacing) +
           " --epochs " + std::to_string(epochs) + " --batch-size 2 --precision auto --augment fl0 --recalibrate-bn" +
           " --push-interval 0 --last-layer-epochs " + std::to_string(last_layer_epochs) + " --seed 0 --quiet"))
    return t;
  if (!run(cli + " predict --model " + q(dir / "run" / "fold_0" / "model.mpn") + " --case " + q(real) + " --json " +
           q(dir / "predict.json") + " --maps " + q(dir / "maps") + " --methods mprotonet"))
    return t;
  if (!run(cli + " localization --maps " + q(dir / "maps" / "mprotonet.nii.gz") + " --seg " +
           q(real / "TCGA-DU-7294_seg.nii.gz") + " --json " + q(dir / "localization.json")))
    return t;
  const auto loc = nlohmann::json::parse(mprotonet::read_text_file(dir / "localization.json"));
  const auto pred = nlohmann::json::parse(mprotonet::read_text_file(dir / "predict.json"));
  t.ap = loc.at("ap").get<double>();
  t.p_hgg = pred.at("probabilities").at(0).at(1).get<double>();
  return t;
}

}  // namespace

TEST(Sim2Real, SmallModelFindsTheTumour) {
  if (!std::getenv("MPROTONET_SIM2REAL")) GTEST_SKIP() << "set MPROTONET_SIM2REAL=1 (minutes of training)";
  TempDir tmp;
  const Transfer t = run_transfer(tmp.path(), 40, 6.0, 6.0, 20, 3);
  ASSERT_GE(t.ap, 0) << t.log;
  std::cout << "sim2real (40 cases at 6 mm, 20 epochs): AP " << t.ap << ", p(HGG) " << t.p_hgg << "\n";
  // A map that ignores the tumour scores about 0.02 (the tumour's share of the brain); the
  // generator this one replaced scored 0.015 with the main job's model. 5x chance:
  EXPECT_GE(t.ap, 0.1) << t.log;
}

TEST(Sim2Real, MainJobModelFindsTheTumour) {
  if (!std::getenv("MPROTONET_SIM2REAL_FULL")) GTEST_SKIP() << "set MPROTONET_SIM2REAL_FULL=1 (tens of minutes)";
  TempDir tmp;
  const Transfer t = run_transfer(tmp.path(), 80, 2.0, 4.0, 16, 5);
  ASSERT_GE(t.ap, 0) << t.log;
  std::cout << "sim2real (main job settings, fold 0): AP " << t.ap << ", p(HGG) " << t.p_hgg << "\n";
  EXPECT_GE(t.ap, 0.5) << t.log;
}
