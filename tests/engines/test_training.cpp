// SPDX-License-Identifier: MIT
// Engine tests: loader, push (against a brute-force search), the schedule and optimiser groups
// the trainer uses, determinism, resume equality, NaN handling.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "engines/engine_fixture.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/loader.h"
#include "mprotonet/engines/push.h"
#include "mprotonet/engines/trainer.h"
#include "mprotonet/nets/model_file.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

// 10 subjects (6 HGG, 4 LGG), preprocessed once for every test of this file.
struct Shared {
  test::TempDir dir;
  std::unique_ptr<PreprocessedCohort> cohort;
  Shared() {
    test::write_synthetic_cohort(dir / "data", {1, 0, 1, 1, 0, 1, 0, 1, 0, 1});
    cohort = std::make_unique<PreprocessedCohort>(test::build_small_cohort(dir / "data", dir / "cache"));
  }
};
Shared& shared() {
  static Shared s;
  return s;
}
std::vector<int64_t> all_indices() {
  std::vector<int64_t> v(static_cast<size_t>(shared().cohort->size()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i);
  return v;
}

TrainOptions tiny_options() {
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 4;
  o.push_interval = 1;
  o.last_layer_epochs = 1;
  o.threads = 2;
  o.verbose = false;
  o.seed = 3;
  return o;
}

bool same_state(nets::ClassifierImpl& a, nets::ClassifierImpl& b) {
  const auto sa = nets::model_state(a), sb = nets::model_state(b);
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i)
    if (sa[i].first != sb[i].first || !torch::equal(sa[i].second, sb[i].second)) {
      ADD_FAILURE() << "tensor " << sa[i].first << " differs";
      return false;
    }
  return true;
}

// ------------------------------------------------------------------------------ loader
TEST(Loader, ShuffledDropLastBatchesAreDeterministicAndThreadIndependent) {
  const auto& cohort = *shared().cohort;
  LoaderOptions o;
  o.batch_size = 3;
  o.seed = 11;
  auto collect = [&](int workers, int64_t epoch) {
    o.workers = workers;
    BatchLoader loader(cohort, all_indices(), o);
    EXPECT_EQ(loader.batches_per_epoch(), 3);  // 10 subjects, batches of 3, last one dropped
    std::vector<Batch> out;
    loader.start_epoch(epoch);
    while (auto b = loader.next()) out.push_back(*b);
    return out;
  };
  const auto a = collect(0, 5), b = collect(2, 5), c = collect(1, 6);
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  std::set<int64_t> seen;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].indices, b[i].indices);
    EXPECT_TRUE(torch::equal(a[i].images, b[i].images)) << "augmentation depends on the worker thread";
    EXPECT_EQ(a[i].images.sizes(), (std::vector<int64_t>{3, 4, 32, 32, 24}));
    for (size_t k = 0; k < a[i].indices.size(); ++k) {
      seen.insert(a[i].indices[k]);
      EXPECT_EQ(a[i].labels[static_cast<int64_t>(k)].item<int64_t>(), cohort.label(a[i].indices[k]));
    }
  }
  EXPECT_EQ(seen.size(), 9u);  // 9 distinct subjects, one dropped
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs = differs || a[i].indices != c[i].indices;
  EXPECT_TRUE(differs) << "another epoch should give another order";
  EXPECT_EQ(epoch_order(all_indices(), true, 11, 5), epoch_order(all_indices(), true, 11, 5));
}

TEST(Loader, EvaluationBatchesAreInOrderUnaugmentedAndKeepTheLastBatch) {
  const auto& cohort = *shared().cohort;
  const auto before = cohort.image(0).clone();
  BatchLoader loader(cohort, all_indices(), LoaderOptions::evaluation(4));
  EXPECT_EQ(loader.batches_per_epoch(), 3);
  loader.start_epoch(0);
  std::vector<int64_t> order;
  while (auto b = loader.next()) {
    for (size_t k = 0; k < b->indices.size(); ++k) {
      order.push_back(b->indices[k]);
      EXPECT_TRUE(torch::equal(b->images[static_cast<int64_t>(k)], cohort.image(b->indices[k])));
    }
  }
  EXPECT_EQ(order, all_indices());
  // Training batches are augmented from the mapped tensors without writing into them.
  LoaderOptions t;
  t.batch_size = 5;
  t.augment.affine_p = 1.0;
  BatchLoader train(cohort, all_indices(), t);
  train.start_epoch(0);
  while (train.next()) {
  }
  EXPECT_TRUE(torch::equal(before, cohort.image(0)));
}

TEST(Loader, TooFewSubjectsForOneBatchIsAnError) {
  LoaderOptions o;
  o.batch_size = 32;
  try {
    BatchLoader loader(*shared().cohort, all_indices(), o);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--batch-size"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------------------ push
// Brute force: distance of prototype p to every candidate latent vector of every own-class
// subject, computed here from the definition of the cosine distance relu(1 - cos).
void check_push(const std::string& model_name) {
  SCOPED_TRACE(model_name);
  const auto& cohort = *shared().cohort;
  const auto config = test::tiny_config(model_name, 6);
  auto model = std::dynamic_pointer_cast<nets::MProtoNet3DImpl>(nets::build_model(config, 5));
  ASSERT_TRUE(model);
  const std::vector<int64_t> train{0, 1, 2, 3, 5, 6, 7};  // subjects 4, 8, 9 are "test"
  const auto old_protos = model->prototype_vectors.detach().clone().view({6, 16});

  std::vector<torch::Tensor> cand_vec(6);
  std::vector<double> cand_d(6, 1e30);
  std::vector<int64_t> cand_subject(6, -1);
  std::vector<std::array<int64_t, 3>> cand_voxel(6);  // feature voxel: arg-min (pm < 2), map peak (pm >= 2)
  const auto unravel3 = [](int64_t k, const at::IntArrayRef& s) {
    return std::array<int64_t, 3>{k / (s[1] * s[2]), (k / s[2]) % s[1], k % s[2]};
  };
  {
    torch::NoGradGuard ng;
    model->eval();
    for (int64_t s : train) {
      const auto x = cohort.image(s).unsqueeze(0);
      auto f = model->add_ons->forward(model->features->forward(x))[0];  // [D, d, h, w]
      torch::Tensor vectors;                                             // [P or 1, K, D]
      if (model->p_mode() >= 2) {
        const auto maps = model->occurrence_maps(model->features->forward(x))[0];  // [P, d, h, w]
        const auto n = static_cast<double>(maps[0].numel());
        vectors = (torch::einsum("pn,dn->pd", {maps.reshape({6, -1}), f.reshape({16, -1})}) / n).unsqueeze(1);  // [P,1,D]
      } else {
        vectors = f.reshape({16, -1}).t().unsqueeze(0);  // [1, K, D]
      }
      for (int64_t p = 0; p < 6; ++p) {
        const int cls = p < 3 ? 0 : 1;
        if (cohort.label(s) != cls) continue;
        const auto v = vectors[model->p_mode() >= 2 ? p : 0];  // [K, D]
        const auto cos = torch::mv(torch::nn::functional::normalize(v, torch::nn::functional::NormalizeFuncOptions().dim(1)),
                                   torch::nn::functional::normalize(old_protos[p], torch::nn::functional::NormalizeFuncOptions().dim(0)));
        const auto d = torch::relu(1 - cos);
        const auto k = d.argmin().item<int64_t>();
        if (d[k].item<double>() < cand_d[static_cast<size_t>(p)] - 1e-6) {
          cand_d[static_cast<size_t>(p)] = d[k].item<double>();
          cand_vec[static_cast<size_t>(p)] = v[k].clone();
          cand_subject[static_cast<size_t>(p)] = s;
          if (model->p_mode() >= 2) {
            const auto m = model->occurrence_maps(model->features->forward(x))[0][p];
            cand_voxel[static_cast<size_t>(p)] = unravel3(m.reshape({-1}).argmax().item<int64_t>(), m.sizes());
          } else {
            cand_voxel[static_cast<size_t>(p)] = unravel3(k, f.sizes().slice(1));
          }
        }
      }
    }
    model->train();
  }
  PushOptions po;
  po.batch_size = 3;
  const PushRecord rec = push_prototypes(*model, cohort, train, po);
  EXPECT_TRUE(model->is_training()) << "push must restore the training mode";
  ASSERT_EQ(rec.prototypes.size(), 6u);
  for (int64_t p = 0; p < 6; ++p) {
    const auto& r = rec.prototypes[static_cast<size_t>(p)];
    EXPECT_EQ(r.cls, p < 3 ? 0 : 1);
    EXPECT_EQ(cohort.label(r.subject_index), r.cls) << "prototype " << p << " pushed onto another class";
    EXPECT_NE(std::find(train.begin(), train.end(), r.subject_index), train.end()) << "pushed onto a test subject";
    EXPECT_EQ(r.subject_index, cand_subject[static_cast<size_t>(p)]) << "prototype " << p;
    EXPECT_EQ(r.subject_id, cohort.id(r.subject_index));
    EXPECT_NEAR(r.distance, cand_d[static_cast<size_t>(p)], 1e-4);
    const auto now = model->prototype_vectors[p].detach().view({16});
    EXPECT_TRUE(torch::allclose(now, cand_vec[static_cast<size_t>(p)], 1e-4, 1e-5))
        << "prototype " << p << " is not the closest own-class latent vector";
    EXPECT_EQ(r.voxel, cand_voxel[static_cast<size_t>(p)]) << "prototype " << p;
    // Receptive field of feature voxel v along each axis (docs/method.md#explanations), by hand
    // for resnet18 with n_layers 5 (conv1 7/2 pad 3, maxpool 3/2 pad 1, layer1: four 3x3 convs,
    // all centred): jump 4, size 7 + 2 * 2 + 4 * 2 * 4 = 43, centre 0.5 + 4 v (start 0.5, the
    // centre of input voxel 0), [centre - 21.5, centre + 21.5) truncated and clipped to the input.
    const auto& v = cand_voxel[static_cast<size_t>(p)];
    std::array<int64_t, 3> centre{};
    for (size_t a = 0; a < 3; ++a) {
      const auto begin = std::max<int64_t>(static_cast<int64_t>(0.5 + 4.0 * v[a] - 21.5), 0);
      const auto end = std::min<int64_t>(static_cast<int64_t>(0.5 + 4.0 * v[a] + 21.5), config.in_size[a + 1]);
      EXPECT_EQ(r.receptive_field[a][0], begin) << "prototype " << p << " axis " << a;
      EXPECT_EQ(r.receptive_field[a][1], end) << "prototype " << p << " axis " << a;
      centre[a] = (begin + end - 1) / 2;
    }
    // The picture's location: the centre of that region (pm < 2), or the peak of the source
    // subject's occurrence map upsampled trilinearly to the input (pm >= 2).
    ASSERT_TRUE(r.picture.has_value());
    if (model->p_mode() >= 2) {
      torch::NoGradGuard ng;
      model->eval();
      const auto x = cohort.image(r.subject_index).unsqueeze(0);
      const auto m = model->occurrence_maps(model->features->forward(x))[0][p];
      const auto up = torch::nn::functional::interpolate(
          m.view({1, 1, m.size(0), m.size(1), m.size(2)}),
          torch::nn::functional::InterpolateFuncOptions()
              .size(std::vector<int64_t>{config.in_size[1], config.in_size[2], config.in_size[3]})
              .mode(torch::kTrilinear)
              .align_corners(false))[0][0];
      EXPECT_EQ(r.picture->input_voxel, unravel3(up.reshape({-1}).argmax().item<int64_t>(), up.sizes())) << p;
      model->train();
    } else {
      EXPECT_EQ(r.picture->input_voxel, centre) << "prototype " << p;
    }
    // The hand-computed region holds every input voxel the feature voxel depends on (non-zero
    // gradient of its features with respect to the input).
    model->eval();
    auto x = cohort.image(r.subject_index).unsqueeze(0).clone().requires_grad_(true);
    model->features->forward(x)[0].index({torch::indexing::Slice(), v[0], v[1], v[2]}).sum().backward();
    const auto support = x.grad()[0].abs().sum(0).gt(0);  // [X, Y, Z]
    model->train();
    for (int64_t a = 0; a < 3; ++a) {
      std::vector<int64_t> dims{0, 1, 2};
      dims.erase(dims.begin() + a);
      const auto along = support.any(dims[1]).any(dims[0]).nonzero();
      ASSERT_GT(along.numel(), 0);
      EXPECT_GE(along.min().item<int64_t>(), r.receptive_field[static_cast<size_t>(a)][0]) << p << " axis " << a;
      EXPECT_LT(along.max().item<int64_t>(), r.receptive_field[static_cast<size_t>(a)][1]) << p << " axis " << a;
    }
  }
  // The check tells axes apart only where a recorded voxel differs between axes 0 and 2.
  EXPECT_TRUE(std::any_of(cand_voxel.begin(), cand_voxel.end(), [](const auto& v) { return v[0] != v[2]; }));
  // Round trip of the record.
  const auto back = push_record_from_json(to_json(rec));
  EXPECT_EQ(back.prototypes[2].subject_id, rec.prototypes[2].subject_id);
  EXPECT_EQ(back.prototypes[2].voxel, rec.prototypes[2].voxel);
}

TEST(Push, VoxelModeTakesTheClosestOwnClassFeatureVector) { check_push("MProtoNet3D_pm0"); }
TEST(Push, OccurrenceModeTakesTheClosestOwnClassPooledVector) { check_push("MProtoNet3D_pm5"); }
TEST(Push, TopKModeRecordsTheArgMinVoxelAndItsRegion) { check_push("MProtoNet3D_pm1"); }
TEST(Push, XProtoNetModeRecordsTheMapPeakAndItsRegion) { check_push("MProtoNet3D_pm2"); }

// ------------------------------------------------------------------------------ trainer
TEST(Trainer, StepSequenceFollowsThePushInterval) {
  TrainOptions o;
  o.epochs = 5;
  o.push_interval = 2;
  o.last_layer_epochs = 2;
  std::string seq;
  for (const auto& s : training_steps(true, o))
    seq += (s.kind == StepKind::kJoint ? "J" : s.kind == StepKind::kPush ? "P" : "L") + std::to_string(s.epoch) + " ";
  EXPECT_EQ(seq, "J1 J2 P2 L2 L2 J3 J4 P4 L4 L4 J5 P5 L5 L5 ");
  EXPECT_EQ(training_steps(false, o).size(), 5u);  // CNN3D: joint epochs only
}

TEST(Trainer, ScheduleAndParameterGroupsAsSpecified) {
  test::TempDir dir;
  const auto& cohort = *shared().cohort;
  TrainOptions o = tiny_options();
  o.epochs = 5;  // warm-up E/5 = 1 epoch, then cosine over 4
  o.push_interval = 0;
  o.last_layer_epochs = 1;
  o.stop_after_steps = 5;  // the joint epochs only
  const auto config = test::tiny_config("MProtoNet3D_pm2");
  const auto init = nets::build_model(config, o.seed);
  auto r = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, dir.path(), 0, false);
  ASSERT_FALSE(r.completed);
  ASSERT_EQ(r.history.size(), 5u);
  for (int64_t e = 0; e < 5; ++e) {
    const double expected = e < 1 ? 1e-3 * (e + 1) / 1.0 : 0.5 * 1e-3 * (1 + std::cos(M_PI * (e - 1) / 4.0));
    EXPECT_NEAR(r.history[static_cast<size_t>(e)].lr, expected, 1e-15) << "epoch " << e + 1;
  }
  auto trained = std::dynamic_pointer_cast<nets::MProtoNet3DImpl>(r.model);
  auto start = std::dynamic_pointer_cast<nets::MProtoNet3DImpl>(init);
  // Joint epochs: the last layer is not updated; backbone, head and prototypes are.
  EXPECT_TRUE(torch::equal(trained->last_layer->weight, start->last_layer->weight));
  EXPECT_FALSE(torch::equal(trained->prototype_vectors, start->prototype_vectors));
  EXPECT_FALSE(torch::equal(trained->p_map->parameters()[0], start->p_map->parameters()[0]));
  // Resume for the push and one last-layer epoch: only last_layer (and BN statistics) change
  // in the last-layer epoch.
  o.stop_after_steps = 6;
  auto after_push = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, dir.path(), 0, true);
  ASSERT_FALSE(after_push.completed);
  const auto snapshot = nets::model_state(*after_push.model);
  o.stop_after_steps = -1;
  auto done = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, dir.path(), 0, true);
  ASSERT_TRUE(done.completed);
  ASSERT_TRUE(done.push);
  EXPECT_EQ(done.push->epoch, 5);
  const auto final_state = nets::model_state(*done.model);
  for (size_t i = 0; i < snapshot.size(); ++i) {
    const auto& name = snapshot[i].first;
    const bool is_param = name.find("running_") == std::string::npos && name.find("num_batches") == std::string::npos;
    if (!is_param) continue;
    if (name == "last_layer.weight")
      EXPECT_FALSE(torch::equal(snapshot[i].second, final_state[i].second)) << name;
    else
      EXPECT_TRUE(torch::equal(snapshot[i].second, final_state[i].second)) << name << " changed in a last-layer epoch";
  }
  // epochs.jsonl has one line per step.
  const std::string text = read_text_file(dir / "epochs.jsonl");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 7);
}

TEST(Trainer, SameSeedGivesIdenticalWeights) {
  test::TempDir a, b;
  const auto& cohort = *shared().cohort;
  const auto config = test::tiny_config("MProtoNet3D_pm5");
  TrainOptions o = tiny_options();
  o.loader_workers = 2;
  auto ra = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, a.path(), 0, false);
  o.loader_workers = 0;
  auto rb = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, b.path(), 0, false);
  EXPECT_TRUE(same_state(*ra.model, *rb.model));
  // Another seed gives other weights.
  test::TempDir c;
  o.seed = 4;
  auto rc = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, c.path(), 0, false);
  EXPECT_FALSE(torch::equal(nets::model_state(*ra.model)[0].second, nets::model_state(*rc.model)[0].second));
}

TEST(Trainer, ResumedRunEndsWithBitwiseTheSameWeights) {
  const auto& cohort = *shared().cohort;
  const auto config = test::tiny_config("MProtoNet3D_pm5");
  const TrainOptions o = tiny_options();  // steps: J1 P1 L1 J2 P2 L2
  test::TempDir full, killed;
  auto uninterrupted = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, full.path(), 0, false);
  ASSERT_TRUE(uninterrupted.completed);
  TrainOptions k = o;
  k.stop_after_steps = 1;  // "killed" after joint epoch 1
  auto first = train_fold(config, k, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, killed.path(), 0, false);
  ASSERT_FALSE(first.completed);
  // Without --resume an unfinished run is not silently overwritten.
  EXPECT_THROW(train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, killed.path(), 0, false), Error);
  k.stop_after_steps = 3;  // killed again after the first last-layer epoch
  ASSERT_FALSE(train_fold(config, k, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, killed.path(), 0, true).completed);
  auto resumed = train_fold(config, o, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, killed.path(), 0, true);
  ASSERT_TRUE(resumed.completed);
  EXPECT_TRUE(same_state(*uninterrupted.model, *resumed.model));
  ASSERT_EQ(resumed.history.size(), uninterrupted.history.size());
  for (size_t i = 0; i < resumed.history.size(); ++i)
    EXPECT_EQ(resumed.history[i].losses, uninterrupted.history[i].losses) << "step " << i + 1;
  ASSERT_TRUE(resumed.push);
  EXPECT_EQ(to_json(*resumed.push), to_json(*uninterrupted.push));
  // A checkpoint of other settings is refused.
  TrainOptions other = o;
  other.lr = 5e-4;
  k.stop_after_steps = 1;
  test::TempDir third;
  train_fold(config, k, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, third.path(), 0, false);
  try {
    train_fold(config, other, cohort, {0, 1, 2, 3, 5, 6, 7}, {}, third.path(), 0, true);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different settings"), std::string::npos) << e.what();
  }
}

TEST(Trainer, NonFiniteLossStopsWithFoldEpochAndBatch) {
  test::TempDir dir;
  TrainOptions o = tiny_options();
  LossOptions l = LossOptions::for_p_mode(0);
  l.cluster = std::nan("");
  o.loss = l;
  try {
    train_fold(test::tiny_config("MProtoNet3D_pm0"), o, *shared().cohort, {0, 1, 2, 3, 5, 6, 7}, {}, dir.path(), 2, false);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("fold 2"), std::string::npos) << w;
    EXPECT_NE(w.find("epoch 1"), std::string::npos) << w;
    EXPECT_NE(w.find("batch 1/"), std::string::npos) << w;
    EXPECT_NE(w.find("not finite"), std::string::npos) << w;
  }
}

TEST(Trainer, BF16AutocastTrainsAndPredicts) {
  test::TempDir dir;
  TrainOptions o = tiny_options();
  o.precision = "bf16";
  o.epochs = 1;
  o.last_layer_epochs = 1;
  auto r = train_fold(test::tiny_config("MProtoNet3D_pm5"), o, *shared().cohort, {0, 1, 2, 3, 5, 6, 7}, {}, dir.path(), 0, false);
  ASSERT_TRUE(r.completed);
  EXPECT_EQ(r.model->parameters()[0].scalar_type(), torch::kFloat) << "weights stay fp32 under autocast";
  for (const auto& h : r.history)
    for (const auto& [k, v] : h.losses) EXPECT_TRUE(std::isfinite(v)) << k;
  const auto pred = predict(*r.model, *shared().cohort, {4, 8, 9}, 2, torch::kCPU, "bf16");
  ASSERT_EQ(pred.size(), 3u);
  EXPECT_NEAR(pred[0].probability[0] + pred[0].probability[1], 1.0, 1e-6);

  // The same steps in fp32 (same seed, same batches): bf16 keeps 8 bits of mantissa (relative
  // rounding 2^-8 = 0.4 % per operation), so losses and probabilities agree to a few percent,
  // not bit for bit. Stated tolerances: each step's mean loss terms within 8 % (relative, or
  // 0.02 absolute for terms near 0; measured up to 3.4 %), test-subject probabilities within 0.02
  // (measured 0.002).
  test::TempDir dir32;
  o.precision = "fp32";
  auto r32 = train_fold(test::tiny_config("MProtoNet3D_pm5"), o, *shared().cohort, {0, 1, 2, 3, 5, 6, 7}, {},
                        dir32.path(), 0, false);
  ASSERT_TRUE(r32.completed);
  ASSERT_EQ(r32.history.size(), r.history.size());
  double worst = 0;
  for (size_t i = 0; i < r.history.size(); ++i)
    for (const auto& [k, v] : r32.history[i].losses) {
      ASSERT_TRUE(r.history[i].losses.count(k)) << k;
      const double b = r.history[i].losses.at(k);
      EXPECT_NEAR(b, v, std::max(0.08 * std::abs(v), 0.02)) << "step " << i << " loss " << k;
      worst = std::max(worst, std::abs(b - v) / std::max(std::abs(v), 0.4));
    }
  std::cout << "[ bf16 ] largest loss difference to fp32: " << 100 * worst << " % (relative, or of 0.4 when smaller)\n";
  const auto pred32 = predict(*r32.model, *shared().cohort, {4, 8, 9}, 2, torch::kCPU, "fp32");
  const auto same_model = predict(*r.model, *shared().cohort, {4, 8, 9}, 2, torch::kCPU, "fp32");
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(pred[i].probability[1], pred32[i].probability[1], 0.02) << "subject " << pred[i].id;
    // bf16 inference against fp32 inference of one model: only the forward's rounding differs.
    EXPECT_NEAR(pred[i].probability[1], same_model[i].probability[1], 0.02) << "subject " << pred[i].id;
    std::cout << "[ bf16 ] " << pred[i].id << ": p(HGG) bf16-trained " << pred[i].probability[1] << ", fp32-trained "
              << pred32[i].probability[1] << ", bf16 model in fp32 " << same_model[i].probability[1] << "\n";
  }
}

// Precise BN: after recalibration bn1's running mean / variance are the cumulative average of the
// per-batch statistics of conv1's output over the given subjects, computed here independently
// from the conv weights; momentum and the training mode are restored.
TEST(Trainer, RecalibratedBatchNormHoldsTheAverageBatchStatistics) {
  const auto& cohort = *shared().cohort;
  auto model = nets::build_model(test::tiny_config("CNN3D"), 5);
  model->eval();
  std::shared_ptr<torch::nn::Conv3dImpl> conv;
  std::shared_ptr<torch::nn::BatchNorm3dImpl> bn;
  for (const auto& item : model->named_modules()) {
    if (item.key() == "features.conv1") conv = std::dynamic_pointer_cast<torch::nn::Conv3dImpl>(item.value());
    if (item.key() == "features.bn1") bn = std::dynamic_pointer_cast<torch::nn::BatchNorm3dImpl>(item.value());
  }
  ASSERT_TRUE(conv && bn);
  const std::vector<int64_t> idx{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (int64_t batch : {10, 4}) {  // one batch; batches of 4, 4, 2
    recalibrate_batchnorm(*model, cohort, idx, batch, torch::kCPU);
    torch::NoGradGuard ng;
    torch::Tensor mean = torch::zeros({conv->options.out_channels()}, torch::kDouble), var = torch::zeros_like(mean);
    int64_t batches = 0;
    for (size_t b = 0; b < idx.size(); b += static_cast<size_t>(batch), ++batches) {
      std::vector<int64_t> part(idx.begin() + static_cast<long>(b),
                                idx.begin() + static_cast<long>(std::min(idx.size(), b + static_cast<size_t>(batch))));
      const auto y = conv->forward(cohort.images(part)).to(torch::kDouble);  // [B, C, d, h, w]
      mean += y.mean(torch::IntArrayRef{0, 2, 3, 4});
      var += y.var(torch::IntArrayRef{0, 2, 3, 4}, /*unbiased=*/true);
    }
    mean /= static_cast<double>(batches);
    var /= static_cast<double>(batches);
    EXPECT_TRUE(torch::allclose(bn->running_mean.to(torch::kDouble), mean, 1e-4, 1e-5)) << "batch " << batch;
    EXPECT_TRUE(torch::allclose(bn->running_var.to(torch::kDouble), var, 1e-4, 1e-5)) << "batch " << batch;
    EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), batches);
    ASSERT_TRUE(bn->options.momentum().has_value());
    EXPECT_DOUBLE_EQ(*bn->options.momentum(), 0.1);
    EXPECT_FALSE(model->is_training());
  }
}

TEST(Trainer, CudaWithoutCudaIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "CUDA is available here";
  test::TempDir dir;
  TrainOptions o = tiny_options();
  o.device = "cuda";
  try {
    train_fold(test::tiny_config("CNN3D"), o, *shared().cohort, {0, 1, 2, 3}, {}, dir.path(), 0, false);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mprotonet
