// SPDX-License-Identifier: MIT
// Fake demo folder and headless-Chromium page check (see report_test_util.h).
#include "report/report_test_util.h"

#include <cstdlib>
#include <regex>
#include <sstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/metrics/significance.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet::test {

namespace {

json ms(double mean, double sd) { return {{"mean", mean}, {"std", sd}, {"n", 3}}; }

json curve(double from, double to) {
  json c = json::array();
  for (int i = 0; i <= 50; ++i) c.push_back(from + (to - from) * i / 50.0);
  return c;
}

}  // namespace

void write_fake_demo(const fs::path& dir, const std::string& odd_id) {
  std::vector<std::string> ids{odd_id};
  for (int i = 1; i < 12; ++i) ids.push_back("S" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  json test_ids = json::array();
  for (int k = 0; k < 3; ++k) test_ids.push_back(json(std::vector<std::string>(ids.begin() + 4 * k, ids.begin() + 4 * k + 4)));
  const std::vector<double> proto_ap{0.62, 0.64, 0.66}, cnn_ap{0.10, 0.11, 0.12};
  for (const std::string model : {"MProtoNet3D_pm5", "CNN3D"}) {
    const bool proto = model != "CNN3D";
    const fs::path run = dir / "runs" / model;
    fs::create_directories(run / "fold_0");
    json cfg{{"model_name", model}, {"features", "resnet18_ri"}, {"n_layers", 5}, {"in_size", {4, 16, 16, 12}}};
    if (proto) {
      cfg["prototype_shape"] = {4, 8, 1, 1, 1};
      cfg["f_dist"] = "cos";
    }
    json r{{"format", "mprotonet-run-1"},
           {"model_name", model},
           {"model_config", cfg},
           {"train", {{"epochs", 2}, {"batch_size", 2}, {"lr", 0.001}, {"device", "cpu"}, {"precision", "bf16"},
                      {"push_interval", 1}, {"last_layer_epochs", 1}}},
           {"preprocess", {{"spacing_mm", 12.0}, {"shape", {16, 16, 12}}}},
           {"cache_dir", "/nonexistent/cache/x"},
           {"data_dir", "/nonexistent/<b>data"},
           {"dataset", {{"subjects", 12}, {"hgg", 6}, {"lgg", 6}, {"grade_source", "name_mapping.csv"}}},
           {"folds", {{"n", 3}, {"seed", 0}, {"method", "StratifiedKFold(shuffle=True)"}, {"test_ids", test_ids}}}};
    write_text_atomically(run / "run.json", r.dump(2));
    json folds = json::array();
    for (int k = 0; k < 3; ++k) folds.push_back({{"fold", k}, {"train_seconds", 30.0}, {"bac", 0.9}});
    json results{{"model_name", model},
                 {"n_folds", 3},
                 {"folds", folds},
                 {"mean", {{"accuracy", 0.9}, {"bac", proto ? 0.875 : 0.85}, {"sensitivity", 0.9}, {"specificity", 0.85}, {"auc", 0.95}}},
                 {"std", {{"accuracy", 0.05}, {"bac", 0.125}, {"sensitivity", 0.1}, {"specificity", 0.1}, {"auc", 0.02}}}};
    write_text_atomically(run / "results.json", results.dump(2));
    json methods = proto ? json::array({"mprotonet", "gradcam"}) : json::array({"gradcam"});
    json summary_methods = json::object();
    json mean_curves = json::object();
    for (const auto& m : methods) {
      const bool own = m == "mprotonet";
      const double ap = own ? 0.64 : (proto ? 0.3 : 0.11);
      summary_methods[m.get<std::string>()] = {{"ap", ms(ap, own ? 0.02 : 0.01)},
                                               {"dsc", ms(ap / 2, 0.01)},
                                               {"ids", ms(own ? 0.1 : 0.2, 0.01)},
                                               {"ias", ms(own ? 0.8 : 0.6, 0.02)},
                                               {"ap_per_channel", {ms(ap, 0.1), ms(ap, 0.1), ms(ap, 0.1), ms(ap, 0.1)}}};
      mean_curves[m.get<std::string>()] = {{"deletion_bac", curve(0.9, own ? 0.5 : 0.6)}, {"addition_bac", curve(0.5, 0.9)}};
    }
    json eval_folds = json::array();
    for (int k = 0; k < 3; ++k) {
      json fm = json::object();
      for (const auto& m : methods) {
        const double ap = m == "mprotonet" ? proto_ap[static_cast<size_t>(k)] : cnn_ap[static_cast<size_t>(k)];
        fm[m.get<std::string>()] = {{"localization", {{"ap", ap}, {"dsc", ap / 2}}},
                                    {"faithfulness", {{"ids", 0.1 + 0.01 * k}, {"ias", 0.8 - 0.01 * k}}}};
      }
      eval_folds.push_back({{"fold", k}, {"seconds", 20.0}, {"methods", fm}});
    }
    json significance = json::object();
    if (proto) significance["mprotonet_vs_gradcam_ap"] = paired_comparison_json(proto_ap, {0.30, 0.29, 0.33});
    json evaluation{{"format", "mprotonet-evaluation-1"},
                    {"model_name", model},
                    {"methods", methods},
                    {"folds", eval_folds},
                    {"summary",
                     {{"classification", {{"full", {{"bac", ms(0.875, 0.125)}}}, {"t1+t1ce", {{"bac", ms(0.7, 0.1)}}}}},
                      {"methods", summary_methods}}},
                    {"significance", significance},
                    {"mean_curves", mean_curves},
                    {"notes", proto ? json::array() : json::array({"method mprotonet skipped: it needs a prototype model"})}};
    write_text_atomically(run / "evaluation.json", evaluation.dump(2));
    json preds = json::array();
    const int labels[4] = {1, 0, 1, 1}, predicted[4] = {1, 0, 0, 1};
    const double p_hgg[4] = {0.95, 0.2, 0.4, 0.7};
    for (int i = 0; i < 4; ++i)
      preds.push_back({{"id", ids[static_cast<size_t>(i)]},
                       {"index", i},
                       {"label", labels[i]},
                       {"prediction", predicted[i]},
                       {"probabilities", {1 - p_hgg[i], p_hgg[i]}}});
    write_text_atomically(run / "fold_0" / "test_predictions.json", json{{"fold", 0}, {"predictions", preds}}.dump(2));
  }
}

}  // namespace mprotonet::test
