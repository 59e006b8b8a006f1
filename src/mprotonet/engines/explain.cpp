// SPDX-License-Identifier: MIT
// One case's explanation: prediction, maps per method, panels, top prototypes, the 3D viewer page
// (docs/method.md#explanations).
#include "mprotonet/engines/explain.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/preprocess_case.h"
#include "mprotonet/engines/evaluator.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/volume_tensor.h"
#include "mprotonet/metrics/missing_modalities.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/push_record.h"
#include "mprotonet/report/png.h"
#include "mprotonet/report/prototype_view.h"
#include "mprotonet/report/viewer.h"

namespace mprotonet {

namespace fs = std::filesystem;
using nlohmann::json;
using attribution::MapMethod;

double spacing_for_model(const nets::ModelConfig& config, double requested) {
  if (requested > 0) return requested;
  const PreprocessOptions defaults;
  const double s = defaults.fov_mm[0] / static_cast<double>(config.in_size[1]);
  for (int a = 0; a < 3; ++a) {
    const double sa = defaults.fov_mm[static_cast<size_t>(a)] / static_cast<double>(config.in_size[static_cast<size_t>(a) + 1]);
    check(std::fabs(sa - s) < 1e-6, "the model's in_size " + std::to_string(config.in_size[1]) + "x" + std::to_string(config.in_size[2]) +
                                        "x" + std::to_string(config.in_size[3]) +
                                        " is not the 192x192x144 mm field of view at one isotropic spacing; give --spacing");
  }
  return s;
}

void check_input_size(const std::array<int64_t, 3>& shape, const nets::ModelConfig& config, const std::string& input,
                      const std::string& hint) {
  const std::array<int64_t, 3> expected{config.in_size[1], config.in_size[2], config.in_size[3]};
  auto str = [](const std::array<int64_t, 3>& a) {
    return std::to_string(a[0]) + "x" + std::to_string(a[1]) + "x" + std::to_string(a[2]);
  };
  check(shape == expected, "input " + input + " is " + str(shape) + " voxels; the model was trained on " + str(expected) + hint);
}

CaseInput prepare_case(const fs::path& dir, const nets::ModelConfig& config, double spacing_mm, PreprocessGrid grid,
                       bool with_seg) {
  CaseInput in;
  in.files = with_context("while reading the case " + dir.string(), [&] { return find_case_files(dir); });
  PreprocessOptions options;
  options.spacing_mm = spacing_for_model(config, spacing_mm);
  options.grid = grid;
  // Before preprocessing: --spacing 0.5 with a 4 mm model would build a 384x384x288 input.
  std::ostringstream given;
  given << options.spacing_mm;
  check_input_size(options.output_shape(), config, dir.string() + " preprocessed at " + given.str() + " mm",
                   "; leave out --spacing (it follows from the model) or give the model's spacing");
  CaseFiles files = in.files;
  if (!with_seg) files.seg.reset();
  in.preprocessed = preprocess_case(files, options);
  const auto shape = in.preprocessed.images[0].shape;
  in.x = torch::empty({1, kNumModalities, shape[0], shape[1], shape[2]});
  for (int m = 0; m < kNumModalities; ++m) in.x[0][m].copy_(volume_to_tensor(in.preprocessed.images[static_cast<size_t>(m)]));
  return in;
}

CaseExplanation explain_input(nets::ClassifierImpl& model, const torch::Tensor& x, const std::vector<MapMethod>& methods,
                              int64_t top, const PushRecord* record, const attribution::MapOptions& options) {
  model.eval();
  CaseExplanation e;
  e.prediction = nets::predict(model, x);
  e.predicted = e.prediction.predicted[0].item<int64_t>();
  e.p_hgg = e.prediction.probabilities[0][1].item<double>();
  const auto target = torch::tensor({e.predicted}, torch::kLong);
  for (const auto m : methods)
    if (attribution::method_applies(model, m)) e.maps.emplace_back(m, attribution::compute_map(model, m, x, target, options)[0]);
  if (auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model)) {
    torch::NoGradGuard ng;
    auto out = proto->forward_all(x);
    auto sim = proto->distance_to_similarity(out.min_distances)[0];  // [P]
    auto w = proto->last_layer->weight.detach();                    // [classes, P]
    const int64_t k = std::min<int64_t>(top, sim.size(0));
    auto order = std::get<1>(sim.topk(k));
    for (int64_t i = 0; i < k; ++i) {
      RankedPrototype r;
      r.prototype = order[i].item<int64_t>();
      r.similarity = sim[r.prototype].item<double>();
      r.cls = static_cast<int>(proto->prototype_class_identity[r.prototype].argmax().item<int64_t>());
      r.contribution = r.similarity * w[e.predicted][r.prototype].item<double>();
      if (record != nullptr)
        for (const auto& q : record->prototypes)
          if (q.prototype == r.prototype) r.source = q;
      e.top.push_back(std::move(r));
    }
  }
  return e;
}

json explain_case(const ExplainOptions& o) {
  const auto log = progress_or_stdout(o.log);
  auto loaded = nets::load_model_file(o.model_file);
  auto& model = *loaded.model;
  model.eval();
  const double spacing = spacing_for_model(model.config(), o.spacing_mm);
  log("explain: preprocessing " + o.case_dir.filename().string() + " at " + std::to_string(spacing) + " mm");
  const CaseInput in = prepare_case(o.case_dir, model.config(), spacing, o.preprocess_grid, true);
  const auto& files = in.files;
  const auto& pc = in.preprocessed;
  const auto grid = pc.images[0].shape;
  fs::create_directories(o.out_dir);

  for (auto m : o.methods) {
    if (!attribution::method_applies(model, m))
      log("explain: " + attribution::map_method_name(m) + " skipped (needs a prototype model)");
    else if (m == MapMethod::Occlusion)
      log("explain: occlusion needs " +
          std::to_string(attribution::occlusion_forward_count({4, grid[0], grid[1], grid[2]}, o.occlusion)) + " forwards");
  }
  attribution::MapOptions mo;
  mo.occlusion = o.occlusion;
  std::optional<PushRecord> record;
  std::string record_error;
  try {
    record = read_push_record(loaded.push_record);
  } catch (const std::exception& e) {
    record_error = e.what();
    log("explain: the model's push record cannot be read (" + record_error + "); prototypes are listed without their sources");
  }
  const CaseExplanation e = explain_input(model, in.x, o.methods, o.top_prototypes, record ? &*record : nullptr, mo);

  json pj = nets::prediction_to_json(e.prediction);
  pj["case"] = files.id;
  pj["predicted_grade"] = e.predicted == 1 ? "HGG" : "LGG";
  write_text_atomically(o.out_dir / "prediction.json", pj.dump(2) + "\n");
  log("explain: predicted " + pj["predicted_grade"].get<std::string>() + " (p(HGG) = " + std::to_string(e.p_hgg) + ")");

  const Volume t1 = read_nifti(files.images[0]);
  const Affine& grid_affine = pc.images[0].affine;
  json index{{"case", files.id}, {"prediction", "prediction.json"}, {"maps", json::object()}};
  ExplainPage page{files.id, pj["predicted_grade"].get<std::string>(), e.p_hgg,
                   {files.images.begin(), files.images.end()}, files.seg, {}, {"prediction.json", "explanation.json"}};
  for (const auto& [m, map] : e.maps) {
    const auto name = attribution::map_method_name(m);
    auto mean = map.mean(0);
    Volume mv = tensor_to_volume(mean, grid_affine);
    write_nifti(o.out_dir / (name + "_preprocessed.nii.gz"), mv, DataType::kFloat32);
    Volume back = resample(mv, t1.shape, t1.affine, Interpolation::kLinear);
    write_nifti(o.out_dir / (name + ".nii.gz"), back, DataType::kFloat32);
    page.files.push_back(name + ".nii.gz");
    page.maps.emplace_back(name, std::move(back));
    json entry{{"t1_grid", name + ".nii.gz"}, {"preprocessed_grid", name + "_preprocessed.nii.gz"}};
    const bool per_channel = (map - map[0].unsqueeze(0)).abs().max().item<double>() > 0;
    if (per_channel)
      for (int c = 0; c < 4; ++c) {
        const auto f = name + "_" + modality_names()[static_cast<size_t>(c)] + "_preprocessed.nii.gz";
        write_nifti(o.out_dir / f, tensor_to_volume(map[c], grid_affine), DataType::kFloat32);
        entry["per_modality"].push_back(f);
      }
    // Panels through the peak of |map| (signed maps: magnitude shown).
    auto shown = mean.abs();
    const int64_t peak = shown.flatten().argmax().item<int64_t>();
    const std::array<int64_t, 3> pv{peak / (grid[1] * grid[2]), (peak / grid[2]) % grid[1], peak % grid[2]};
    Volume heat = tensor_to_volume(shown, grid_affine);
    std::vector<RgbImage> panels;
    for (auto plane : {Plane::kAxial, Plane::kCoronal, Plane::kSagittal}) {
      const int axis = SliceView::normal_axis(pc.images[0], plane);
      SliceView view(pc.images[0], plane, pv[static_cast<size_t>(axis)], 2);
      for (const auto& img : pc.images) {
        auto panel = render_slice(img, view);
        overlay_heatmap(panel, heat, view);
        panels.push_back(panel);
      }
    }
    write_png(o.out_dir / (name + "_panels.png"), tile_images(panels, 4));
    entry["panels"] = name + "_panels.png";
    page.files.push_back(name + "_panels.png");
    entry["peak_voxel"] = pv;
    index["maps"][name] = entry;
    log("explain: wrote " + name + " maps and panels");
  }

  if (model.is_prototype_model()) {
    json list = json::array();
    for (const auto& r : e.top) {
      json q{{"prototype", r.prototype},
             {"similarity", r.similarity},
             {"class", r.cls},
             {"contribution_to_predicted", r.contribution}};
      if (r.source) {
        PushedPrototype listed = *r.source;
        listed.picture.reset();  // the bytes live in the model file; the PNG is below
        q["source"] = to_json(listed);
      }
      if (r.source && r.source->picture) {
        const std::string f = "prototype_" + std::to_string(r.prototype) + ".png";
        write_png(o.out_dir / f, render_prototype(*r.source));
        q["picture"] = f;
        q["picture_location"] = r.source->picture->input_voxel;
        index["prototype_pictures"].push_back(f);
      }
      list.push_back(q);
    }
    json pj2{{"predicted_class", e.predicted},
             {"top", list},
             {"pushed", record.has_value() || !record_error.empty()},
             {"picture_note",
              "prototype_P.png: the source subject's preprocessed axial slice (T1, T1CE, T2, FLAIR) through the "
              "prototype's location, with its occurrence map (p_mode >= 2) or receptive-field box (p_mode < 2)"}};
    if (!record_error.empty()) pj2["push_record_error"] = record_error;
    write_text_atomically(o.out_dir / "prototypes.json", pj2.dump(2) + "\n");
    index["prototypes"] = "prototypes.json";
  }
  write_explain_page(o.out_dir, page);  // index.html: the interactive viewer (report/viewer.h)
  index["viewer"] = "index.html";
  write_text_atomically(o.out_dir / "explanation.json", index.dump(2) + "\n");
  return index;
}

}  // namespace mprotonet
