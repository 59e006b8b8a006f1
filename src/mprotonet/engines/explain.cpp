// SPDX-License-Identifier: MIT
// One case's explanation: prediction, maps per method, panels, top prototypes, the 3D viewer page
// (docs/method.md#explanations).
#include "mprotonet/engines/explain.h"

#include <algorithm>
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

json explain_case(const ExplainOptions& o) {
  const auto log = progress_or_stdout(o.log);
  auto loaded = nets::load_model_file(o.model_file);
  auto& model = *loaded.model;
  model.eval();
  const auto& cfg = model.config();
  auto files = with_context("while reading the case " + o.case_dir.string(), [&] { return find_case_files(o.case_dir); });
  PreprocessOptions popts;
  popts.spacing_mm = o.spacing_mm > 0 ? o.spacing_mm : popts.fov_mm[0] / static_cast<double>(cfg.in_size[1]);
  popts.grid = o.preprocess_grid;
  const auto grid = popts.output_shape();
  check(grid[0] == cfg.in_size[1] && grid[1] == cfg.in_size[2] && grid[2] == cfg.in_size[3],
        "preprocessing at " + std::to_string(popts.spacing_mm) + " mm gives " + std::to_string(grid[0]) + "x" +
            std::to_string(grid[1]) + "x" + std::to_string(grid[2]) + " voxels but the model " + o.model_file.string() +
            " expects " + std::to_string(cfg.in_size[1]) + "x" + std::to_string(cfg.in_size[2]) + "x" +
            std::to_string(cfg.in_size[3]) + "; pass the --spacing the model was trained with");
  log("explain: preprocessing " + files.id + " at " + std::to_string(popts.spacing_mm) + " mm");
  auto pc = preprocess_case(files, popts);
  std::vector<torch::Tensor> chans;
  for (const auto& v : pc.images) chans.push_back(volume_to_tensor(v));
  auto x = torch::stack(chans).unsqueeze(0);
  fs::create_directories(o.out_dir);

  auto pred = nets::predict(model, x);
  json pj = nets::prediction_to_json(pred);
  const int64_t predicted = pred.predicted[0].item<int64_t>();
  pj["case"] = files.id;
  pj["predicted_grade"] = predicted == 1 ? "HGG" : "LGG";
  write_text_atomically(o.out_dir / "prediction.json", pj.dump(2) + "\n");
  log("explain: predicted " + pj["predicted_grade"].get<std::string>() + " (p(HGG) = " +
      std::to_string(pred.probabilities[0][1].item<double>()) + ")");

  const Volume t1 = read_nifti(files.images[0]);
  const Affine& grid_affine = pc.images[0].affine;
  json index{{"case", files.id}, {"prediction", "prediction.json"}, {"maps", json::object()}};
  ExplainPage page{files.id, pj["predicted_grade"].get<std::string>(), pred.probabilities[0][1].item<double>(),
                   {files.images.begin(), files.images.end()}, files.seg, {}, {"prediction.json", "explanation.json"}};
  auto target = torch::tensor({predicted}, torch::kLong);
  for (auto m : o.methods) {
    const auto name = attribution::map_method_name(m);
    if (!attribution::method_applies(model, m)) {
      log("explain: " + name + " skipped (needs a prototype model)");
      continue;
    }
    attribution::MapOptions mo;
    mo.occlusion = o.occlusion;
    if (m == MapMethod::Occlusion)
      log("explain: occlusion needs " +
          std::to_string(attribution::occlusion_forward_count({4, grid[0], grid[1], grid[2]}, o.occlusion)) + " forwards");
    auto map = attribution::compute_map(model, m, x, target, mo)[0];  // [4, D, H, W]
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

  if (auto* proto = dynamic_cast<nets::MProtoNet3DImpl*>(&model)) {
    torch::NoGradGuard ng;
    auto out = proto->forward_all(x);
    auto sim = proto->distance_to_similarity(out.min_distances)[0];  // [P]
    auto w = proto->last_layer->weight.detach();                    // [classes, P]
    const int64_t k = std::min<int64_t>(o.top_prototypes, sim.size(0));
    auto top = std::get<1>(sim.topk(k));
    json record = json::parse(loaded.push_record.empty() ? "null" : loaded.push_record, nullptr, false);
    // Pictures of the prototypes' sources, when the push record has them (older records and
    // hand-made ones without every field simply give no pictures).
    std::map<int64_t, PushedPrototype> pictured;
    if (record.is_object()) {
      try {
        for (auto& q : push_record_from_json(record).prototypes)
          if (q.picture) pictured[q.prototype] = std::move(q);
      } catch (const std::exception&) {
        pictured.clear();
      }
    }
    json list = json::array();
    for (int64_t i = 0; i < k; ++i) {
      const int64_t p = top[i].item<int64_t>();
      json e{{"prototype", p},
             {"similarity", sim[p].item<double>()},
             {"class", proto->prototype_class_identity[p].argmax().item<int64_t>()},
             {"contribution_to_predicted", sim[p].item<double>() * w[predicted][p].item<double>()}};
      if (record.is_object() && record.contains("prototypes") && record["prototypes"].is_array())
        for (const auto& r : record["prototypes"])
          if (r.is_object() && r.value("prototype", int64_t{-1}) == p) {
            e["source"] = r;
            e["source"].erase("picture");  // the bytes live in the model file; the PNG is below
          }
      if (auto it = pictured.find(p); it != pictured.end()) {
        const std::string f = "prototype_" + std::to_string(p) + ".png";
        write_png(o.out_dir / f, render_prototype(it->second));
        e["picture"] = f;
        e["picture_location"] = it->second.picture->input_voxel;
        index["prototype_pictures"].push_back(f);
      }
      list.push_back(e);
    }
    json pj2{{"predicted_class", predicted},
             {"top", list},
             {"pushed", record.is_object()},
             {"picture_note",
              "prototype_P.png: the source subject's preprocessed axial slice (T1, T1CE, T2, FLAIR) through the "
              "prototype's location, with its occurrence map (p_mode >= 2) or receptive-field box (p_mode < 2)"}};
    write_text_atomically(o.out_dir / "prototypes.json", pj2.dump(2) + "\n");
    index["prototypes"] = "prototypes.json";
  }
  write_explain_page(o.out_dir, page);  // index.html: the interactive viewer (report/viewer.h)
  index["viewer"] = "index.html";
  write_text_atomically(o.out_dir / "explanation.json", index.dump(2) + "\n");
  return index;
}

}  // namespace mprotonet
