// SPDX-License-Identifier: MIT
// Unit tests of nets/: backbone shapes and receptive fields, model outputs, gradients,
// configuration errors, state names and the model file.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"
#include "mprotonet/nets/resnet3d.h"

using namespace mprotonet;
using namespace mprotonet::nets;
using nlohmann::json;

namespace {

ModelConfig small_config(const std::string& name, const std::string& features = "resnet18_ri", int64_t n_layers = 6) {
  ModelConfig c;
  c.model_name = name;
  c.in_size = {4, 32, 32, 24};
  c.features = features;
  c.n_layers = n_layers;
  c.prototype_shape = {6, 16, 1, 1, 1};
  c.f_dist = "cos";
  c.topk_p = 5;
  return c;
}

std::string error_of(const json& j) {
  try {
    model_config_from_json(j, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Backbone, FeatureMapSizeAndChannelsPerNLayers) {
  // Input 32 x 32 x 24. conv1 (k7 s2 p3) halves: 16x16x12; maxpool (k3 s2 p1) halves: 8x8x6;
  // layer1 keeps; layer2..4 halve: 4x4x3, 2x2x2 (3 -> floor((3+2-3)/2)+1 = 2), 1x1x1.
  const std::vector<std::array<int64_t, 3>> sizes = {
      {16, 16, 12}, {16, 16, 12}, {8, 8, 6}, {8, 8, 6}, {4, 4, 3}, {2, 2, 2}, {1, 1, 1}};
  const std::vector<int64_t> basic = {64, 64, 64, 64, 128, 256, 512};
  const std::vector<int64_t> bottleneck = {64, 64, 64, 256, 512, 1024, 2048};
  torch::NoGradGuard no_grad;
  for (const std::string name : {"resnet18_ri", "resnet50_ri"}) {
    for (int64_t n = 2; n <= 8; ++n) {
      ResNet3dOptions o;
      o.name = name;
      o.n_layers = n;
      auto net = make_resnet3d(o);
      net->eval();
      auto y = net->forward(torch::randn({1, 4, 32, 32, 24}));
      const int64_t expect_c = (name == "resnet18_ri" ? basic : bottleneck)[n - 2];
      EXPECT_EQ(y.sizes().vec(), (std::vector<int64_t>{1, expect_c, sizes[n - 2][0], sizes[n - 2][1], sizes[n - 2][2]}))
          << name << " n_layers " << n;
      EXPECT_EQ(resnet3d_out_channels(o), expect_c);
      for (int a = 0; a < 3; ++a) EXPECT_EQ(receptive_field_axis(o, std::array<int64_t, 3>{32, 32, 24}[a]).size, sizes[n - 2][a]);
    }
  }
}

TEST(Backbone, BlockCountsMatchTorchvision) {
  // layer1..layer4 block counts of torchvision's resnet18/34/50/101/152.
  const std::map<std::string, std::array<int64_t, 4>> counts = {{"resnet18_ri", {2, 2, 2, 2}},
                                                                {"resnet34_ri", {3, 4, 6, 3}},
                                                                {"resnet50_ri", {3, 4, 6, 3}},
                                                                {"resnet101_ri", {3, 4, 23, 3}},
                                                                {"resnet152_ri", {3, 8, 36, 3}}};
  for (const auto& [name, c] : counts) {
    ResNet3dOptions o;
    o.name = name;
    // layer4 (3 blocks in every Bottleneck net) is left out of the two largest to keep this fast.
    const bool huge = name == "resnet101_ri" || name == "resnet152_ri";
    o.n_layers = huge ? 7 : 8;
    auto net = make_resnet3d(o);
    for (int l = 0; l < (huge ? 3 : 4); ++l) {
      auto layer = std::dynamic_pointer_cast<ResLayerImpl>(net->named_children()["layer" + std::to_string(l + 1)]);
      ASSERT_TRUE(layer);
      EXPECT_EQ(static_cast<int64_t>(layer->size()), c[l]) << name << " layer" << l + 1;
    }
  }
}

TEST(Backbone, ReceptiveFieldOfThePaperConfiguration) {
  // resnet152_ri, n_layers 6, input 128 x 128 x 96, by hand (ProtoPNet's [n, j, r, start]):
  //   conv1 k7 s2 p3: n 64/48, j 2, r 1 + 6*1 = 7, start 0.5 + (3 - 3) * 1 = 0.5
  //   maxpool k3 s2 p1: n 32/24, j 4, r 7 + 2*2 = 11
  //   layer1, 3 bottlenecks, one 3x3x3 conv each at j 4: r 11 + 3*8 = 35
  //   layer2 block 0, 3x3x3 stride 2 at j 4: r 43, j 8, n 16/12 (the 1x1 stride-2 downsample is skipped)
  //   layer2 blocks 1..7, one 3x3x3 conv each at j 8: r 43 + 7*16 = 155
  // 1x1x1 convs leave the record unchanged; every (k-1)/2 equals the padding, so start stays 0.5.
  const auto rf = receptive_fields(ModelConfig::paper(5));
  EXPECT_EQ(rf[0].size, 16);
  EXPECT_EQ(rf[1].size, 16);
  EXPECT_EQ(rf[2].size, 12);
  for (const auto& r : rf) {
    EXPECT_EQ(r.jump, 8);
    EXPECT_EQ(r.rf_size, 155);
    EXPECT_DOUBLE_EQ(r.start, 0.5);
  }
  // k = int(16 * 16 * 12 * 1 / 100) = int(30.72) = 30.
  EXPECT_EQ(topk_count(ModelConfig::paper(1)), 30);
  // resnet18, n_layers 6: 7, 11, layer1 4 convs at j 4 -> 43, layer2 conv(s2) at j 4 -> 51, then 3 convs at j 8 -> 99.
  auto c = ModelConfig::paper(0);
  c.features = "resnet18_ri";
  EXPECT_EQ(receptive_fields(c)[0].rf_size, 99);
  // Feature voxel 0: centre 0.5, field [int(0.5 - 77.5), int(0.5 + 77.5)] clipped -> [0, 78).
  EXPECT_EQ(receptive_field_span(rf[0], 0, 128), (std::pair<int64_t, int64_t>{0, 78}));
  // Voxel 15: centre 0.5 + 120 = 120.5 -> [43, 128).
  EXPECT_EQ(receptive_field_span(rf[0], 15, 128), (std::pair<int64_t, int64_t>{43, 128}));
}

TEST(Models, OutputShapesForSeveralInputSizes) {
  torch::NoGradGuard no_grad;
  for (int pm = -1; pm <= 5; ++pm) {
    auto c = small_config(pm < 0 ? "CNN3D" : "MProtoNet3D_pm" + std::to_string(pm));
    auto model = build_model(c, 1);
    model->eval();
    for (auto size : std::vector<std::array<int64_t, 3>>{{32, 32, 24}, {40, 24, 32}, {33, 31, 29}}) {
      auto out = model->forward_all(torch::randn({3, 4, size[0], size[1], size[2]}));
      // Feature size after stride 8 with paddings: ceil-like n -> ((n - 1) / 2 + 1) three times.
      auto down = [](int64_t n) { for (int i = 0; i < 3; ++i) n = (n - 1) / 2 + 1; return n; };
      EXPECT_EQ(out.logits.sizes().vec(), (std::vector<int64_t>{3, 2}));
      EXPECT_EQ(out.backbone_features.sizes().vec(),
                (std::vector<int64_t>{3, 128, down(size[0]), down(size[1]), down(size[2])}));
      EXPECT_EQ(out.gradcam_activation.size(2), down(size[0]));
      if (pm >= 0) {
        EXPECT_EQ(out.min_distances.sizes().vec(), (std::vector<int64_t>{3, 6}));
        EXPECT_EQ(out.add_on_features.size(1), 16);
        EXPECT_EQ(out.gradcam_activation.size(1), pm >= 2 ? 6 : 16);
      }
      if (pm >= 2) {
        EXPECT_EQ(out.occurrence_maps.sizes().vec(),
                  (std::vector<int64_t>{3, 6, down(size[0]), down(size[1]), down(size[2])}));
        EXPECT_GE(out.occurrence_maps.min().item<float>(), 0.0f);
        EXPECT_LE(out.occurrence_maps.max().item<float>(), 1.0f);
      }
    }
  }
}

TEST(Models, PiecesForLossesAndPush) {
  torch::NoGradGuard no_grad;
  auto model = std::dynamic_pointer_cast<MProtoNet3DImpl>(build_model(small_config("MProtoNet3D_pm5"), 2));
  model->eval();
  auto x = torch::randn({2, 4, 32, 32, 24});
  auto out = model->forward_all(x);
  auto push = model->push_forward(x);
  EXPECT_EQ(push.latent.sizes().vec(), (std::vector<int64_t>{2, 6, 16}));
  EXPECT_TRUE(torch::allclose(push.distances, out.min_distances));
  EXPECT_EQ(model->online_cam_logits(out.backbone_features).sizes().vec(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(model->occurrence_hidden(out.backbone_features).size(1), 16);
  // Soft masking: the maps span sigmoid(-5) .. sigmoid(5) per sample.
  EXPECT_NEAR(out.occurrence_maps[0].max().item<float>(), 1.0f / (1.0f + std::exp(-5.0f)), 1e-5);
  EXPECT_NEAR(out.occurrence_maps[0].min().item<float>(), 1.0f / (1.0f + std::exp(5.0f)), 1e-5);
  // LSE pooling lies between the mean and the max and reaches the max for a constant row.
  auto h = torch::rand({2, 3, 50});
  auto lse = MProtoNet3DImpl::lse_pooling(h);
  EXPECT_TRUE((lse <= std::get<0>(h.max(-1)) + 1e-6).all().item<bool>());
  EXPECT_TRUE((lse >= h.mean(-1) - 1e-6).all().item<bool>());
  EXPECT_TRUE(torch::allclose(MProtoNet3DImpl::lse_pooling(torch::full({1, 7}, 0.3)), torch::full({1}, 0.3)));
  // Last layer: +1 own class, -0.5 other; first P/2 prototypes are class 0.
  EXPECT_FLOAT_EQ(model->last_layer->weight[0][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(model->last_layer->weight[1][0].item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(model->last_layer->weight[1][5].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(model->prototype_class_identity[2][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(model->prototype_class_identity[3][1].item<float>(), 1.0f);

  auto pm1 = std::dynamic_pointer_cast<MProtoNet3DImpl>(build_model(small_config("MProtoNet3D_pm1"), 2));
  pm1->eval();
  // N = 4*4*3 = 48 voxels, topk_p 5 -> k = int(2.4) = 2: the mean of the two smallest distances.
  EXPECT_EQ(pm1->topk(), 2);
  auto pp = pm1->push_forward(x);
  auto sorted = std::get<0>(pp.distances.flatten(2).sort(2));
  EXPECT_TRUE(torch::allclose(pm1->forward_all(x).min_distances, sorted.slice(2, 0, 2).mean(2)));
  EXPECT_EQ(pm1->similarity_maps(x).sizes().vec(), (std::vector<int64_t>{2, 6, 4, 4, 3}));
}

TEST(Models, SoftMaskScalesOncePerSampleOverPrototypesAndVoxels) {
  // docs/method.md#prototype-models: m = relu(h), one min and one max per sample over all
  // prototypes and voxels, M = sigmoid(10 (m~ - 0.5)). Sample 0: prototype 0 = [-1, 1, 3] ->
  // m [0, 1, 3], prototype 1 = [0, 2, 4] -> m [0, 2, 4]; joint min 0, max 4 -> m~ [0, .25, .75],
  // [0, .5, 1]. Scaling each prototype on its own range would give prototype 0 [0, 1/3, 1].
  // Sample 1 = 10 x sample 0 + a constant negative part: the same m~ (its own min and max, not
  // the batch's). Sample 2 is constant: m - min m = 0 everywhere -> sigmoid(-5).
  auto h = torch::zeros({3, 2, 1, 1, 3});
  h[0][0] = torch::tensor({-1.f, 1.f, 3.f}).view({1, 1, 3});
  h[0][1] = torch::tensor({0.f, 2.f, 4.f}).view({1, 1, 3});
  h[1] = h[0] * 10;
  h[2] = 7.0;
  const auto m = MProtoNet3DImpl::soft_mask(h);
  const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-10.0 * (v - 0.5))); };
  const double expected[2][3] = {{0.0, 0.25, 0.75}, {0.0, 0.5, 1.0}};
  for (int b = 0; b < 2; ++b)
    for (int p = 0; p < 2; ++p)
      for (int v = 0; v < 3; ++v)
        EXPECT_NEAR(m[b][p][0][0][v].item<double>(), sig(expected[p][v]), 1e-6) << b << "," << p << "," << v;
  EXPECT_TRUE(torch::allclose(m[2], torch::full({2, 1, 1, 3}, sig(0.0)), 0, 1e-7));
}

TEST(Models, SeedMakesInitialisationReproducible) {
  auto a = build_model(small_config("MProtoNet3D_pm2"), 7);
  auto b = build_model(small_config("MProtoNet3D_pm2"), 7);
  auto c = build_model(small_config("MProtoNet3D_pm2"), 8);
  auto sa = model_state(*a), sb = model_state(*b), sc = model_state(*c);
  bool any_diff = false;
  for (size_t i = 0; i < sa.size(); ++i) {
    EXPECT_TRUE(torch::equal(sa[i].second, sb[i].second)) << sa[i].first;
    any_diff |= !torch::equal(sa[i].second, sc[i].second);
  }
  EXPECT_TRUE(any_diff);
  // Kaiming fan-out: std of conv1 = sqrt(2 / (64 * 7^3)).
  auto w = a->named_parameters()["features.conv1.weight"];
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / (64 * 343)), 0.05 * std::sqrt(2.0 / (64 * 343)));
}

TEST(Models, GradientsReachEveryTrainableParameterInTrainingMode) {
  for (const std::string name : {"CNN3D", "MProtoNet3D_pm0", "MProtoNet3D_pm1", "MProtoNet3D_pm3", "MProtoNet3D_pm5"}) {
    auto c = small_config(name);
    c.f_dist = name.back() == '0' ? "l2" : "cos";
    auto model = build_model(c, 3);
    model->train();
    auto x = torch::randn({2, 4, 32, 32, 24});
    auto out = model->forward_all(x);
    auto target = torch::tensor({0, 1}, torch::kLong);
    auto loss = torch::nn::functional::cross_entropy(out.logits, target);
    if (model->is_prototype_model()) loss = loss + out.min_distances.mean();
    if (model->p_mode() >= 4) {
      auto* m = dynamic_cast<MProtoNet3DImpl*>(model.get());
      loss = loss + torch::nn::functional::cross_entropy(m->online_cam_logits(out.backbone_features), target);
    }
    loss.backward();
    for (const auto& p : model->named_parameters()) {
      if (!p.value().requires_grad()) continue;
      ASSERT_TRUE(p.value().grad().defined()) << name << ": no gradient for " << p.key();
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << name << ": zero gradient for " << p.key();
    }
    // BatchNorm statistics moved in training mode.
    EXPECT_EQ(model->named_buffers()["features.bn1.num_batches_tracked"].item<int64_t>(), 1);
  }
}

TEST(Models, StateNamesFollowTheReference) {
  auto names = [](const Classifier& m) {
    std::set<std::string> s;
    for (const auto& [k, v] : model_state(*m)) s.insert(k);
    return s;
  };
  auto pm5 = names(build_model(small_config("MProtoNet3D_pm5", "resnet50_ri"), 0));
  for (const std::string key :
       {"features.conv1.weight", "features.bn1.weight", "features.bn1.bias", "features.bn1.running_mean",
        "features.bn1.running_var", "features.bn1.num_batches_tracked", "features.layer1.0.conv1.weight",
        "features.layer1.0.downsample.0.weight", "features.layer2.0.downsample.1.running_var",
        "features.layer2.3.conv3.weight", "add_ons.0.weight", "add_ons.1.weight", "add_ons.3.weight",
        "add_ons.4.running_mean", "p_map.0.weight", "p_map.1.bias", "p_map.3.weight", "p_map.4.num_batches_tracked",
        "prototype_vectors", "prototype_class_identity", "ones", "last_layer.weight"})
    EXPECT_TRUE(pm5.count(key)) << key;
  EXPECT_FALSE(pm5.count("features.layer3.0.conv1.weight"));  // n_layers 6 stops after layer2
  auto pm0 = names(build_model(small_config("MProtoNet3D_pm0"), 0));
  EXPECT_FALSE(pm0.count("p_map.0.weight"));
  EXPECT_FALSE(pm0.count("features.layer1.0.downsample.0.weight"));  // BasicBlock layer1 has none
  auto cnn = names(build_model(small_config("CNN3D"), 0));
  EXPECT_TRUE(cnn.count("fc.weight"));
  EXPECT_FALSE(cnn.count("fc.bias"));
  EXPECT_FALSE(cnn.count("add_ons.0.bias"));
  // Non-trainable reference "parameters" are buffers here: never in the optimiser's way.
  auto m = build_model(small_config("MProtoNet3D_pm1"), 0);
  EXPECT_FALSE(m->named_parameters().contains("ones"));
  EXPECT_TRUE(m->named_buffers().contains("prototype_class_identity"));
  EXPECT_EQ(m->gradcam_layer_name(), "add_ons.3");
  EXPECT_EQ(build_model(small_config("MProtoNet3D_pm4"), 0)->gradcam_layer_name(), "p_map.3");
}

TEST(Config, JsonRoundTripAndPaperExample) {
  const json j = json::parse(R"({"model_name": "MProtoNet3D_pm5", "in_size": [4,128,128,96], "out_size": 2,
      "features": "resnet152_ri", "n_layers": 6, "prototype_shape": [30,128,1,1,1], "f_dist": "cos", "topk_p": 1})");
  const ModelConfig c = model_config_from_json(j);
  EXPECT_EQ(c.p_mode(), 5);
  EXPECT_EQ(c.prototype_shape[0], 30);
  const ModelConfig back = model_config_from_json(model_config_to_json(c));
  EXPECT_EQ(model_config_to_json(back), model_config_to_json(c));
  EXPECT_EQ(model_config_to_json(ModelConfig::paper(5)), model_config_to_json(c));
  // Accepted extra keywords; a short prototype shape is padded with 1s as in the reference.
  const ModelConfig d = model_config_from_json(json::parse(
      R"({"model_name": "MProtoNet3D", "p_mode": 3, "in_size": [4,32,32,24], "features": "resnet18_ri",
          "n_layers": 6, "prototype_shape": [6, 16], "topk_p": 5, "init_weights": true, "prototype_activation_function": "linear"})"));
  EXPECT_EQ(d.model_name, "MProtoNet3D_pm3");
  EXPECT_EQ(d.prototype_shape[4], 1);
  EXPECT_EQ(d.f_dist, "l2");  // the reference's default
}

TEST(Config, ErrorsSayWhatIsWrong) {
  const json base = json::parse(R"({"model_name": "MProtoNet3D_pm2", "in_size": [4,32,32,24],
      "features": "resnet18_ri", "n_layers": 6, "prototype_shape": [6,16,1,1,1], "f_dist": "cos", "topk_p": 5})");
  auto with = [&](const std::string& key, const json& v) { json j = base; j[key] = v; return error_of(j); };
  EXPECT_EQ(error_of(base), "(no error)");
  EXPECT_NE(with("learning_rate", 1).find("unknown field \"learning_rate\""), std::string::npos);
  EXPECT_NE(with("learning_rate", 1).find("cfg.json"), std::string::npos);
  EXPECT_NE(with("prototype_shape", json::array({5, 16, 1, 1, 1})).find("cannot be split evenly over out_size = 2"),
            std::string::npos);
  // 48 feature voxels * 1 % = 0.48 -> k = 0, also for p_mode 2 (the reference checks every p_mode >= 1).
  const std::string topk = with("topk_p", 1);
  EXPECT_NE(topk.find("k = floor(48 * 1"), std::string::npos) << topk;
  EXPECT_NE(topk.find("topk_p >= 2.08"), std::string::npos) << topk;
  json pm0 = base;
  pm0["model_name"] = "MProtoNet3D_pm0";
  pm0["topk_p"] = 1;
  EXPECT_EQ(error_of(pm0), "(no error)");
  EXPECT_NE(with("in_size", json::array({4, 4, 32, 24})).find("in_size[1] = 4 is smaller than the stride 8"),
            std::string::npos);
  const std::string backbone = with("features", "resnet19_ri");
  EXPECT_NE(backbone.find("unknown backbone \"resnet19_ri\""), std::string::npos);
  EXPECT_NE(backbone.find("resnet18_ri, resnet34_ri, resnet50_ri, resnet101_ri, resnet152_ri"), std::string::npos);
  EXPECT_NE(with("n_layers", "6").find("\"n_layers\" = \"6\" must be an integer"), std::string::npos);
  EXPECT_NE(with("n_layers", 9).find("n_layers = 9 is out of range"), std::string::npos);
  EXPECT_NE(with("p_mode", 4).find("p_mode = 4 disagrees with model_name \"MProtoNet3D_pm2\""), std::string::npos);
  EXPECT_NE(with("f_dist", "l1").find("expected one of: cos, l2"), std::string::npos);
  EXPECT_NE(with("model_name", "ProtoPNet").find("expected \"CNN3D\" or \"MProtoNet3D_pmK\""), std::string::npos);
  EXPECT_NE(with("in_size", json::array({4, 32, 32})).find("\"in_size\""), std::string::npos);
  json missing = base;
  missing.erase("model_name");
  EXPECT_NE(error_of(missing).find("missing field \"model_name\""), std::string::npos);
}

TEST(ModelFile, RoundTripKeepsEveryTensorAndThePushRecord) {
  test::TempDir dir;
  auto model = build_model(small_config("MProtoNet3D_pm5"), 4);
  {
    torch::NoGradGuard no_grad;
    for (auto& b : model->named_buffers())
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
  }
  const std::string record = R"({"prototypes": [{"subject": "BraTS20_Training_001", "rf": [0, 10]}]})";
  save_model_file(dir / "m.mpn", *model, record);
  auto loaded = load_model_file(dir / "m.mpn");
  EXPECT_EQ(json::parse(loaded.push_record), json::parse(record));
  EXPECT_EQ(model_config_to_json(loaded.model->config()), model_config_to_json(model->config()));
  auto a = model_state(*model), b = model_state(*loaded.model);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(torch::equal(a[i].second, b[i].second)) << a[i].first;
  }
  model->eval();
  auto x = torch::randn({1, 4, 32, 32, 24});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(model->forward(x), loaded.model->forward(x)));
  // No temporary file left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) { (void)e; ++files; }
  EXPECT_EQ(files, 1);
}

TEST(ModelFile, BadFilesAndMismatchedStatesAreErrors) {
  test::TempDir dir;
  {
    std::ofstream(dir / "junk.mpn") << "not a model";
  }
  try {
    load_model_file(dir / "junk.mpn");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("junk.mpn"), std::string::npos) << e.what();
  }
  auto model = build_model(small_config("MProtoNet3D_pm0"), 0);
  auto state = model_state(*model);
  state.erase(state.begin());                                              // prototype_vectors missing
  state.emplace_back("p_map.0.weight", torch::zeros({16, 128, 1, 1, 1}));   // unexpected
  for (auto& [k, v] : state)
    if (k == "last_layer.weight") v = torch::zeros({2, 7});                  // wrong shape
  try {
    load_model_state(*model, state, "state_dict X.pt");
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("X.pt"), std::string::npos) << w;
    EXPECT_NE(w.find("1 missing, 1 unexpected, 1 wrongly shaped"), std::string::npos) << w;
    EXPECT_NE(w.find("missing: prototype_vectors [6, 16, 1, 1, 1]"), std::string::npos) << w;
    EXPECT_NE(w.find("unexpected: p_map.0.weight"), std::string::npos) << w;
    EXPECT_NE(w.find("last_layer.weight (file [2, 7]"), std::string::npos) << w;
  }
}
