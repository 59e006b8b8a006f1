// SPDX-License-Identifier: MIT
// Paired per-subject comparison of model rows (see comparison.h).
#include "mprotonet/engines/comparison.h"

#include <cmath>
#include <iomanip>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/core/text.h"
#include "mprotonet/engines/run_folder.h"
#include "mprotonet/metrics/significance.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The map a row is judged by: the prototype map for prototype models, GradCAM for the CNN.
std::string own_method(const std::string& model_name) { return model_name == "CNN3D" ? "gradcam" : "mprotonet"; }

json read_json(const fs::path& path) {
  try {
    return json::parse(read_text_file(path));
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// Adds ids[i] -> values[i] of two parallel arrays to `out`.
void collect(const json& ids, const json& values, std::map<std::string, double>& out, const std::string& what,
             const fs::path& source) {
  check(ids.is_array() && values.is_array() && ids.size() == values.size(),
        source.string() + ": per-subject " + what + " and its ids are not two arrays of the same length");
  for (size_t i = 0; i < ids.size(); ++i)
    out[ids[i].get<std::string>()] = values[i].is_number() ? values[i].get<double>() : std::nan("");
}

const char* direction(const std::string& metric) { return metric == "ids" ? "lower is better" : "higher is better"; }

}  // namespace

const std::vector<std::string>& compared_metrics() {
  static const std::vector<std::string> m{"ap", "ids", "bac", "dsc", "ias"};
  return m;
}

std::map<std::string, std::map<std::string, double>> per_subject_values(const json& evaluation, const fs::path& source) {
  std::map<std::string, std::map<std::string, double>> out;
  const std::string model = evaluation.value("model_name", "");
  const std::string method = own_method(model);
  check(evaluation.contains("folds") && evaluation["folds"].is_array(), source.string() + ": no folds array");
  for (const auto& f : evaluation["folds"]) {
    check(f.contains("per_subject"), source.string() +
                                         ": no per-subject records (written by an older version); run `mprotonet "
                                         "evaluate` on this run again");
    const json& c = f["per_subject"];
    check(c.contains("ids") && c.contains("label") && c.contains("prediction"),
          source.string() + ": per_subject lacks ids, label or prediction");
    json correct = json::array();
    for (size_t i = 0; i < c["label"].size(); ++i)
      correct.push_back(c["label"][i].get<int>() == c["prediction"][i].get<int>() ? 1.0 : 0.0);
    collect(c["ids"], correct, out["bac"], "classification", source);
    const json m = f.contains("methods") && f["methods"].contains(method) ? f["methods"][method] : json();
    if (!m.is_object()) continue;  // the row was evaluated without its own map: no localisation values
    if (m.contains("per_subject")) {
      collect(m["per_subject"]["ids"], m["per_subject"]["ap"], out["ap"], "ap", source);
      collect(m["per_subject"]["ids"], m["per_subject"]["dsc"], out["dsc"], "dsc", source);
    }
    if (m.contains("faithfulness_per_subject")) {
      const json& fp = m["faithfulness_per_subject"];
      collect(fp["ids"], fp["deletion_area"], out["ids"], "deletion", source);
      collect(fp["ids"], fp["addition_area"], out["ias"], "addition", source);
    }
  }
  return out;
}

json compare_runs(const fs::path& reference, const std::vector<fs::path>& run_dirs) {
  const json ref_run = read_json(RunFolder(reference).run_json());
  const json ref_eval = read_json(RunFolder(reference).evaluation_json());
  const std::string ref_model = ref_eval.value("model_name", "");
  const auto ref_values = per_subject_values(ref_eval, RunFolder(reference).evaluation_json());
  json rows = json::array();
  for (const auto& dir : run_dirs) {
    if (fs::equivalent(dir, reference)) continue;
    const json run = read_json(RunFolder(dir).run_json());
    check(run.value(json::json_pointer("/folds/test_ids"), json()) ==
              ref_run.value(json::json_pointer("/folds/test_ids"), json()),
          RunFolder(dir).run_json().string() + " holds other folds than " + RunFolder(reference).run_json().string() +
              "; a paired comparison needs the same held-out subjects");
    const json eval = read_json(RunFolder(dir).evaluation_json());
    const std::string model = eval.value("model_name", "");
    const auto values = per_subject_values(eval, RunFolder(dir).evaluation_json());
    json row{{"model", model}, {"method", own_method(model)}, {"metrics", json::object()}};
    for (const auto& metric : compared_metrics()) {
      const auto a_it = ref_values.find(metric), b_it = values.find(metric);
      if (a_it == ref_values.end() || b_it == values.end()) continue;
      std::vector<double> a, b;
      json subjects = json::array();
      for (const auto& [id, va] : a_it->second) {
        const auto vb = b_it->second.find(id);
        if (vb == b_it->second.end() || !std::isfinite(va) || !std::isfinite(vb->second)) continue;
        a.push_back(va);
        b.push_back(vb->second);
        subjects.push_back(id);
      }
      if (a.size() < 2) continue;
      json c = paired_comparison_json(a, b, "subjects");
      c["direction"] = direction(metric);
      c["subjects"] = subjects;
      row["metrics"][metric] = c;
    }
    rows.push_back(row);
  }
  return {{"format", "mprotonet-comparison-1"},
          {"reference", {{"model", ref_model}, {"method", own_method(ref_model)}, {"run", reference.string()}}},
          {"pairing", "per held-out subject, over the test subjects of all folds (the same folds in every row)"},
          {"tests", "two-sided Wilcoxon signed-rank (zero differences dropped) and paired t-test; a = reference row"},
          {"metrics",
           {{"ap", "activation precision of the row's own map (subjects with a segmentation)"},
            {"dsc", "Dice of the row's own map"},
            {"ids", "area under the subject's correctness curve under incremental deletion (lower is better)"},
            {"ias", "area under the subject's correctness curve under incremental addition"},
            {"bac", "1 if the subject is classified correctly, else 0 (the test is then a sign test)"}}},
          {"rows", rows}};
}

std::string comparison_markdown(const json& c) {
  std::ostringstream md;
  md << std::fixed << std::setprecision(3);
  const std::string ref = c["reference"].value("model", "");
  md << "# " << ref << " against every other row\n\n"
     << "Paired " << c.value("pairing", "") << ". " << c.value("tests", "") << ".\n\n"
     << "| row | metric | reference mean | row mean | Wilcoxon W | n (non-zero) | p |\n|---|---|---|---|---|---|---|\n";
  for (const auto& row : c["rows"]) {
    for (const auto& [metric, m] : row["metrics"].items()) {
      auto num = [](const json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
      md << "| " << row.value("model", "") << " (" << row.value("method", "") << ") | " << metric << " | "
         << num(m["a_mean"]) << " | " << num(m["b_mean"]) << " | " << num(m["wilcoxon"]["statistic"]) << " | "
         << m.value("n", 0) << " (" << m["wilcoxon"].value("n_nonzero", 0) << ") | " << std::setprecision(4)
         << num(m["wilcoxon"]["p_value"]) << std::setprecision(3) << " |\n";
    }
  }
  md << "\n";
  for (const auto& [metric, text] : c["metrics"].items()) md << "- **" << metric << "**: " << text.get<std::string>() << "\n";
  return md.str();
}

}  // namespace mprotonet
