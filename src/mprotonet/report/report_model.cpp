// SPDX-License-Identifier: MIT
// JSON reading and the run accessors of the report's data (see report_model.h).
#include "mprotonet/report/report_model.h"

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json_file(const fs::path& path) {
  const std::string text = read_text_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw Error(path.string() + ": not valid JSON (" + e.what() + ")");
  }
}

json read_optional_json(const fs::path& path) { return fs::exists(path) ? read_json_file(path) : json(nullptr); }

// ------------------------------------------------------------------------------ runs
std::string ReportRun::model_name() const { return run.value("model_name", label); }

int ReportRun::p_mode() const {
  const std::string n = model_name();
  const std::string prefix = "MProtoNet3D_pm";
  if (n.rfind(prefix, 0) == 0 && n.size() == prefix.size() + 1 && n.back() >= '0' && n.back() <= '5') return n.back() - '0';
  return -1;
}

int ReportRun::folds() const {
  const auto p = json::json_pointer("/folds/n");
  return run.contains(p) && run.at(p).is_number_integer() ? run.at(p).get<int>() : 0;
}

int ReportRun::fold_of(const std::string& subject_id) const {
  const auto p = json::json_pointer("/folds/test_ids");
  if (!run.contains(p) || !run.at(p).is_array()) return -1;
  const auto& t = run.at(p);
  for (size_t k = 0; k < t.size(); ++k)
    if (t[k].is_array())
      for (const auto& id : t[k])
        if (id.is_string() && id.get<std::string>() == subject_id) return static_cast<int>(k);
  return -1;
}

}  // namespace mprotonet
