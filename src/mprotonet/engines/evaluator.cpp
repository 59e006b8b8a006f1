// SPDX-License-Identifier: MIT
// Run evaluation (docs/method.md#metrics); one case's explanation is engines/explain.cpp.
#include "mprotonet/engines/evaluator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/version.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/engines/run_consistency.h"
#include "mprotonet/engines/run_folder.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/volume_tensor.h"
#include "mprotonet/metrics/classification.h"
#include "mprotonet/metrics/localization.h"
#include "mprotonet/metrics/missing_modalities.h"
#include "mprotonet/metrics/significance.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/report/evaluation_report.h"
#include "mprotonet/report/png.h"
#include "mprotonet/report/prototype_view.h"
#include "mprotonet/report/viewer.h"
#include "mprotonet/transforms/preprocess.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;
using attribution::MapMethod;

namespace {


json summary_json(const std::vector<double>& values) {
  auto s = summarize(values);
  return {{"mean", json_number(s.mean)}, {"std", json_number(s.std)}, {"n", s.n}};
}

// Folds' test subject ids from run.json.
std::vector<std::vector<std::string>> fold_test_ids(const json& run, const fs::path& run_json) {
  check(run.contains("folds") && run["folds"].contains("test_ids") && run["folds"]["test_ids"].is_array(),
        run_json.string() + ": no folds.test_ids array; expected a run.json written by `mprotonet train`");
  return run["folds"]["test_ids"].get<std::vector<std::vector<std::string>>>();
}

torch::Tensor seg_batch(const PreprocessedCohort& cohort, const std::vector<int64_t>& idx) {
  std::vector<torch::Tensor> s;
  for (auto i : idx) s.push_back(cohort.seg(i).to(torch::kFloat));
  return torch::stack(s);
}

std::vector<std::vector<int64_t>> batches(const std::vector<int64_t>& idx, int64_t size) {
  std::vector<std::vector<int64_t>> out;
  for (size_t i = 0; i < idx.size(); i += static_cast<size_t>(size))
    out.emplace_back(idx.begin() + static_cast<std::ptrdiff_t>(i),
                     idx.begin() + static_cast<std::ptrdiff_t>(std::min(idx.size(), i + static_cast<size_t>(size))));
  return out;
}

// What the summary over folds collects from each fold: per method and metric one value per fold,
// the AP per modality, the deletion / addition curves, the classification per input.
struct FoldValues {
  std::map<std::string, std::map<std::string, std::vector<double>>> per_method;
  std::map<std::string, std::vector<std::vector<double>>> per_method_channel_ap;
  std::map<std::string, std::map<std::string, std::vector<std::vector<double>>>> curves;
  std::map<std::string, std::vector<ClassificationMetrics>> per_subset;
};

// Classification of one fold's test subjects `idx` on the full input and, with
// o.missing_modalities, on every kept-modality subset: fold["classification"], ["per_subject"],
// ["missing_modalities"]. Returns the full input's metrics.
ClassificationMetrics classify_fold(nets::ClassifierImpl& model, const PreprocessedCohort& cohort,
                                    const std::vector<int64_t>& idx, const EvaluationOptions& o, json& fold,
                                    FoldValues& fv) {
  // Classification, full input and every kept subset; per subject for the paired comparisons.
  ClassificationAccumulator full;
  json per_subject_cls{{"ids", json::array()}, {"label", json::array()}, {"p_hgg", json::array()},
                       {"prediction", json::array()}};
  const auto subsets = kept_modality_subsets(4);
  std::vector<ClassificationAccumulator> subset_acc(subsets.size());
  {
    torch::NoGradGuard ng;
    for (const auto& b : batches(idx, o.batch_size)) {
      auto x = cohort.images(b).to(o.device);
      std::vector<int64_t> lab;
      for (auto i : b) lab.push_back(cohort.label(i));
      auto labels = torch::tensor(lab, torch::kLong);
      const auto logits = model.forward(x).cpu().to(torch::kFloat32);
      full.update(logits, labels);
      const auto prob = torch::softmax(logits.to(torch::kDouble), 1);
      for (size_t r = 0; r < b.size(); ++r) {
        per_subject_cls["ids"].push_back(cohort.id(b[r]));
        per_subject_cls["label"].push_back(lab[r]);
        per_subject_cls["p_hgg"].push_back(json_number(prob[static_cast<int64_t>(r)][1].item<double>()));
        per_subject_cls["prediction"].push_back(logits[static_cast<int64_t>(r)].argmax().item<int64_t>());
      }
      if (o.missing_modalities)
        for (size_t s = 0; s < subsets.size(); ++s)
          subset_acc[s].update(model.forward(drop_modalities(x, subsets[s])).cpu().to(torch::kFloat32), labels);
    }
  }
  fold["classification"] = to_json(full.aggregate());
  fold["per_subject"] = per_subject_cls;
  fv.per_subset["full"].push_back(full.aggregate());
  if (o.missing_modalities) {
    json mm = json::object();
    for (size_t s = 0; s < subsets.size(); ++s) {
      mm[subset_name(subsets[s])] = to_json(subset_acc[s].aggregate());
      fv.per_subset[subset_name(subsets[s])].push_back(subset_acc[s].aggregate());
    }
    fold["missing_modalities"] = mm;
  }
  return full.aggregate();
}

// One attribution method on one fold's test subjects with a segmentation: AP / DSC per subject
// and over the fold, and deletion / addition on `faith_set` when o.faithfulness. Returns the
// fold's entry for the method.
json evaluate_method(nets::ClassifierImpl& model, MapMethod m, const PreprocessedCohort& cohort,
                     const std::vector<int64_t>& with_seg, const std::vector<int64_t>& faith_set, int k,
                     const EvaluationOptions& o, const ProgressLog& log, FoldValues& fv) {
  const auto name = attribution::map_method_name(m);
  const auto tm = std::chrono::steady_clock::now();
  LocalizationAccumulator loc;
  FaithfulnessAccumulator faith;
  attribution::MapOptions mo;
  mo.occlusion = o.occlusion;
  int64_t done = 0;
  json per_subject{{"ids", json::array()}, {"ap", json::array()}, {"dsc", json::array()}};
  json faith_ids = json::array();
  for (const auto& b : batches(with_seg, o.batch_size)) {
    auto x = cohort.images(b).to(o.device);
    std::vector<int64_t> lab;
    for (auto i : b) lab.push_back(cohort.label(i));
    auto labels = torch::tensor(lab, torch::kLong);
    auto maps = attribution::compute_map(model, m, x, labels.to(o.device), mo).to(torch::kFloat32);
    const auto scores = loc.update(maps.cpu(), seg_batch(cohort, b));
    const auto ap_subject = scores.ap.mean(1), dsc_subject = scores.dsc.mean(1);
    for (size_t r = 0; r < b.size(); ++r) {
      per_subject["ids"].push_back(cohort.id(b[r]));
      per_subject["ap"].push_back(json_number(ap_subject[static_cast<int64_t>(r)].item<double>()));
      per_subject["dsc"].push_back(json_number(dsc_subject[static_cast<int64_t>(r)].item<double>()));
    }
    if (o.faithfulness) {
      // Only the batch members in the faithfulness subset.
      std::vector<int64_t> rows;
      for (size_t r = 0; r < b.size(); ++r)
        if (std::find(faith_set.begin(), faith_set.end(), b[r]) != faith_set.end())
          rows.push_back(static_cast<int64_t>(r));
      if (!rows.empty()) {
        const auto sel = torch::tensor(rows, torch::kLong);
        auto p = perturbation_predictions(model, x.index_select(0, sel.to(x.device())),
                                          maps.index_select(0, sel.to(maps.device())), o.faithfulness_options);
        faith.update(p.deletion, p.addition, labels.index_select(0, sel));
        for (auto r : rows) faith_ids.push_back(cohort.id(b[static_cast<size_t>(r)]));
      }
    }
    done += static_cast<int64_t>(b.size());
    log("evaluate: fold " + std::to_string(k) + " " + name + ": " + std::to_string(done) + "/" +
        std::to_string(with_seg.size()) + " subjects");
  }
  auto ls = loc.aggregate();
  json entry{{"localization", to_json(ls)},
             {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - tm).count()}};
  entry["per_subject"] = per_subject;
  fv.per_method[name]["ap"].push_back(with_seg.empty() ? kNaN : ls.ap);
  fv.per_method[name]["dsc"].push_back(with_seg.empty() ? kNaN : ls.dsc);
  fv.per_method_channel_ap[name].push_back(ls.ap_per_channel);
  if (o.faithfulness) {
    auto fr = faith.aggregate();
    entry["faithfulness"] = to_json(fr);
    json del = json::array(), add = json::array();
    for (const auto& [d, a] : faith.per_subject_areas()) {
      del.push_back(json_number(d));
      add.push_back(json_number(a));
    }
    entry["faithfulness_per_subject"] = {{"ids", faith_ids}, {"deletion_area", del}, {"addition_area", add}};
    fv.per_method[name]["ids"].push_back(fr.ids);
    fv.per_method[name]["ias"].push_back(fr.ias);
    fv.curves[name]["deletion_bac"].push_back(fr.deletion_bac);
    fv.curves[name]["addition_bac"].push_back(fr.addition_bac);
  }
  return entry;
}

// Mean ± std over folds of every metric: classification per input, localisation and
// faithfulness per method, AP per modality.
json summarize_folds(const FoldValues& fv) {
  json summary;
  json cls = json::object();
  for (const auto& [subset, ms] : fv.per_subset) {
    json s = json::object();
    for (const auto& metric : metric_names()) {
      std::vector<double> v;
      for (const auto& m : ms) v.push_back(metric_value(m, metric));
      s[metric] = summary_json(v);
    }
    cls[subset] = s;
  }
  summary["classification"] = cls;
  json ms = json::object();
  for (const auto& [name, values] : fv.per_method) {
    json s = json::object();
    for (const auto& [metric, v] : values) s[metric] = summary_json(v);
    json channels = json::array();
    for (size_t c = 0; c < 4; ++c) {
      std::vector<double> v;
      for (const auto& f : fv.per_method_channel_ap.at(name)) v.push_back(c < f.size() ? f[c] : kNaN);
      channels.push_back(summary_json(v));
    }
    s["ap_per_channel"] = channels;
    ms[name] = s;
  }
  summary["methods"] = ms;
  return summary;
}

// MProtoNet map vs GradCAM, paired across folds, per metric; `notes` says why a test is missing.
json compare_mprotonet_with_gradcam(FoldValues& fv, std::vector<std::string>& notes) {
  json significance = json::object();
  if (fv.per_method.count("mprotonet") && fv.per_method.count("gradcam")) {
    for (const char* metric : {"ap", "dsc", "ids", "ias"}) {
      // Pairs of the folds where both values are defined (IDS / IAS are NaN for a flat curve,
      // AP / DSC for a fold without segmentations); a NaN is no difference to rank.
      const auto& fa = fv.per_method["mprotonet"][metric];
      const auto& fb = fv.per_method["gradcam"][metric];
      std::vector<double> a, b;
      for (size_t i = 0; i < fa.size() && i < fb.size(); ++i)
        if (std::isfinite(fa[i]) && std::isfinite(fb[i])) a.push_back(fa[i]), b.push_back(fb[i]);
      if (a.size() >= 2) {
        significance[std::string("mprotonet_vs_gradcam_") + metric] = paired_comparison_json(a, b);
      } else if (!fa.empty()) {
        notes.push_back(std::string("no significance test for ") + metric + ": " + std::to_string(a.size()) +
                        " fold(s) with a defined value for both mprotonet and gradcam");
      }
    }
  } else {
    notes.push_back("no significance test: it compares the mprotonet and gradcam maps, which need both methods");
  }
  return significance;
}

// The deletion / addition curves averaged over folds, per method.
json mean_curves_over_folds(const FoldValues& fv) {
  json mean_curves = json::object();
  for (const auto& [name, cs] : fv.curves) {
    json c = json::object();
    for (const auto& [kind, per_fold] : cs) {
      std::vector<double> mean(per_fold.empty() ? 0 : per_fold.front().size(), 0.0);
      for (const auto& f : per_fold)
        for (size_t i = 0; i < mean.size() && i < f.size(); ++i) mean[i] += f[i] / static_cast<double>(per_fold.size());
      c[kind] = mean;
    }
    mean_curves[name] = c;
  }
  return mean_curves;
}

// evaluation.json, evaluation.md and the curve plots into the run folder.
void write_evaluation(const EvaluationOptions& o, const json& out, const std::vector<MapMethod>& methods) {
  write_text_atomically(RunFolder(o.run_dir).evaluation_json(), out.dump(2) + "\n");
  write_text_atomically(RunFolder(o.run_dir).evaluation_md(), evaluation_markdown(out));
  if (o.faithfulness && !methods.empty()) {
    for (const char* kind : {"deletion", "addition"}) {
      std::vector<std::vector<double>> cs;
      std::vector<Rgb> colours;
      for (auto m : methods) {
        const auto name = attribution::map_method_name(m);
        cs.push_back(out.at("mean_curves").at(name).at(std::string(kind) + "_bac").get<std::vector<double>>());
        colours.push_back(method_colour(m));
      }
      write_png(o.run_dir / (std::string(kind) + "_curves.png"), plot_curves(cs, colours));
    }
  }
}

}  // namespace

// At most n subjects of `ids` (0 = all): alternately one of each class, in cohort order, so the
// deletion / addition BAC of a small subset still sees both classes.
std::vector<int64_t> faithfulness_subset(const PreprocessedCohort& cohort, const std::vector<int64_t>& ids, int64_t n) {
  if (n <= 0 || static_cast<int64_t>(ids.size()) <= n) return ids;
  std::vector<int64_t> by_class[2];
  for (auto i : ids) by_class[cohort.label(i) == kLabelHGG ? 1 : 0].push_back(i);
  std::vector<int64_t> chosen;
  for (size_t r = 0; static_cast<int64_t>(chosen.size()) < n; ++r)
    for (auto& c : by_class)
      if (r < c.size() && static_cast<int64_t>(chosen.size()) < n) chosen.push_back(c[r]);
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

// ------------------------------------------------------------------------------ evaluate_run
json evaluate_run(const EvaluationOptions& o) {
  const auto log = progress_or_stdout(o.log);
  check(o.batch_size >= 1, "evaluation batch size = " + std::to_string(o.batch_size) + "; expected >= 1");
  const fs::path run_json = RunFolder(o.run_dir).run_json();
  check(fs::exists(run_json), run_json.string() + " does not exist; expected the folder of a `mprotonet train` run");
  json run;
  try {
    run = json::parse(read_text_file(run_json));
  } catch (const json::exception& e) {
    throw Error(run_json.string() + ": not valid JSON (" + e.what() + ")");
  }
  const auto test_ids = fold_test_ids(run, run_json);
  std::vector<int> folds = o.folds;
  if (folds.empty())
    for (int k = 0; k < static_cast<int>(test_ids.size()); ++k) folds.push_back(k);
  for (int k : folds)
    check(k >= 0 && k < static_cast<int>(test_ids.size()),
          "fold " + std::to_string(k) + " is not in the run (" + std::to_string(test_ids.size()) + " folds)");

  // Cohort, preprocessed as the run was.
  CohortOptions copts;
  copts.preprocess = run_preprocess_options(run);
  copts.cache_root = o.cache_dir.empty() ? default_cache_root() : o.cache_dir;
  copts.threads = o.preprocess_threads;
  copts.with_seg = true;
  DatasetOptions dopts;
  auto dataset = with_context("while reading the dataset " + o.data_dir.string(),
                              [&] { return discover_brats(o.data_dir, dopts); });
  check_dataset_matches_run(run, dataset, run_json);  // the run's subjects, with the run's grades
  log("evaluate: preprocessing / mapping " + std::to_string(dataset.subjects.size()) + " subjects at " +
      std::to_string(copts.preprocess.spacing_mm) + " mm");
  auto cohort = PreprocessedCohort::build(dataset, copts);
  std::map<std::string, int64_t> index_of;
  for (int64_t i = 0; i < cohort.size(); ++i) index_of[cohort.id(i)] = i;

  std::vector<MapMethod> methods;
  bool methods_chosen = false;
  std::vector<std::string> notes;
  json fold_results = json::array();
  FoldValues fv;  // per method, per fold values for the summary and significance
  std::string model_name;

  for (int k : folds) {
    const auto t0 = std::chrono::steady_clock::now();
    const fs::path model_path = RunFolder(o.run_dir).fold_model(k);
    auto loaded = nets::load_model_file(model_path);
    auto& model = *loaded.model;
    model.to(o.device);
    model.eval();
    model_name = model.config().model_name;
    if (!methods_chosen)
      for (auto m : o.methods) {
        if (attribution::method_applies(model, m)) {
          methods.push_back(m);
        } else {
          notes.push_back("method " + attribution::map_method_name(m) + " skipped: it needs a prototype model, not " +
                          model_name);
          log("evaluate: " + notes.back());
        }
      }
    methods_chosen = true;
    std::vector<int64_t> idx;
    for (const auto& id : test_ids[static_cast<size_t>(k)]) {
      auto it = index_of.find(id);
      check(it != index_of.end(), "fold " + std::to_string(k) + " test subject " + id + " (from " + run_json.string() +
                                      ") is not in the dataset " + o.data_dir.string());
      idx.push_back(it->second);
    }
    std::vector<int64_t> with_seg;
    for (auto i : idx)
      if (cohort.has_seg(i)) with_seg.push_back(i);
    const auto faith_set = faithfulness_subset(cohort, with_seg, o.faithfulness_subjects);
    const auto shape = cohort.shape();
    std::string plan = "fold " + std::to_string(k) + ": " + model_name + ", " + std::to_string(idx.size()) +
                       " test subjects (" + std::to_string(with_seg.size()) + " with segmentation)";
    if (o.faithfulness)
      plan += "; deletion/addition: " +
              std::to_string(faithfulness_forward_count(static_cast<int64_t>(faith_set.size()), o.faithfulness_options)) +
              " forwards per method (" + std::to_string(faith_set.size()) + " subjects)";
    for (auto m : methods)
      if (m == MapMethod::Occlusion)
        plan += "; occlusion: " +
                std::to_string(attribution::occlusion_forward_count({4, shape[0], shape[1], shape[2]}, o.occlusion) *
                               static_cast<int64_t>(with_seg.size())) +
                " forwards";
    log("evaluate: " + plan);

    json fold{{"fold", k}, {"model", model_path.string()}, {"subjects", idx.size()}};
    const AutocastGuard autocast(o.precision, o.device);
    const ClassificationMetrics full = classify_fold(model, cohort, idx, o, fold, fv);
    // Attribution methods.
    json mj = json::object();
    for (auto m : methods)
      mj[attribution::map_method_name(m)] = evaluate_method(model, m, cohort, with_seg, faith_set, k, o, log, fv);
    fold["methods"] = mj;
    fold["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    fold_results.push_back(fold);
    log("evaluate: fold " + std::to_string(k) + " done: BAC " + std::to_string(full.balanced_accuracy));
  }

  const json summary = summarize_folds(fv);
  const json significance = compare_mprotonet_with_gradcam(fv, notes);
  const json mean_curves = mean_curves_over_folds(fv);
  json methods_j = json::array();
  for (auto m : methods) methods_j.push_back(attribution::map_method_name(m));
  json out{{"format", "mprotonet-evaluation-1"},
           {"mprotonet", build_info_json()},
           {"run_dir", fs::absolute(o.run_dir).lexically_normal().string()},
           {"model_name", model_name},
           {"methods", methods_j},
           {"target", "ground-truth label"},
           {"faithfulness_steps", o.faithfulness_options.steps},
           {"faithfulness_subjects_per_fold", o.faithfulness_subjects},
           {"precision", precision_name(o.precision)},
           {"std_kind", "population (numpy default, ddof 0)"},
           {"folds", fold_results},
           {"summary", summary},
           {"significance", significance},
           {"mean_curves", mean_curves},
           {"notes", notes}};
  write_evaluation(o, out, methods);
  log("evaluate: wrote " + RunFolder(o.run_dir).evaluation_json().string() + " and evaluation.md");
  return out;
}

}  // namespace mprotonet
