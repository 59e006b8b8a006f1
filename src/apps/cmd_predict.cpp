// SPDX-License-Identifier: MIT
// `mprotonet predict`: class probabilities and explanation maps for preprocessed inputs.
// The input kinds sit behind PredictInput so a case-folder input (preprocessing + NIfTI maps
// on the case's own grid) plugs in beside --tensor.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/preprocess_option.h"
#include "apps/option_bounds.h"
#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/preprocess_case.h"
#include "mprotonet/engines/explain.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/io/volume_tensor.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"

namespace {

struct PredictOptions {
  std::string model;    ///< model file
  std::string tensor;   ///< float32 [N, 4, D, H, W] written by torch.save
  std::string case_dir;  ///< BraTS-style case folder (preprocessed here)
  double spacing = 0;   ///< preprocessing spacing for --case; 0 = derived from the model's in_size
  mprotonet::PreprocessGrid grid = mprotonet::PreprocessGrid::kMillimetre;  ///< --preprocess for --case
  std::string json;     ///< output JSON
  std::string maps;     ///< output folder for maps; empty = no maps
  std::string methods;  ///< comma-separated methods; empty = every method the model supports
};

/// One kind of input: the model-ready tensor and how to write a map for it.
struct PredictInput {
  torch::Tensor tensor;  ///< [N, C, D, H, W] float32
  /// Writes the [N, C, D, H, W] map of `method` under `dir`.
  std::function<void(const std::filesystem::path& dir, const std::string& method, const torch::Tensor& map)> write_map;
};

PredictInput tensor_input(const std::string& path) {
  PredictInput in;
  in.tensor = mprotonet::with_context("while reading input tensor " + path, [&] {
    auto t = mprotonet::read_tensor_file(path);
    mprotonet::check(t.dim() == 5 && t.is_floating_point(),
                     "expected a float tensor [N, C, D, H, W], got " + c10::str(t.scalar_type(), " ", t.sizes()));
    t = t.to(torch::kFloat).contiguous();
    // A NaN voxel propagates to NaN logits; refused here, with the count, rather than answered.
    const int64_t bad = t.numel() - torch::isfinite(t).sum().item<int64_t>();
    mprotonet::check(bad == 0, std::to_string(bad) + " of " + std::to_string(t.numel()) +
                                   " values are NaN or infinite; refusing an input with non-finite values");
    return t;
  });
  in.write_map = [](const std::filesystem::path& dir, const std::string& method, const torch::Tensor& map) {
    mprotonet::write_tensor_file(dir / (method + ".pt"), map);
  };
  return in;
}

/// A case folder: preprocessed like the training data; maps are written as NIfTI both on the
/// preprocessed grid and resampled onto the case's own T1 grid (same affine, so they overlay in
/// any viewer). Multi-channel maps are averaged over the four modality channels.
PredictInput case_input(const std::string& dir, double spacing, mprotonet::PreprocessGrid grid_kind,
                        const mprotonet::nets::ModelConfig& config) {
  using namespace mprotonet;
  PredictInput in;
  const CaseInput prepared = prepare_case(dir, config, spacing, grid_kind, false);
  const PreprocessedCase& c = prepared.preprocessed;
  const CaseFiles& files = prepared.files;
  const auto shape = c.images[0].shape;
  in.tensor = prepared.x;
  const Affine grid = c.images[0].affine;
  const NiftiHeader t1 = read_nifti_header(files.images[0]);
  in.write_map = [grid, shape, t1](const std::filesystem::path& out, const std::string& method, const torch::Tensor& map) {
    const auto mean = map[0].to(torch::kFloat32).mean(0);
    check(mean.sizes() == c10::IntArrayRef(shape), "map of " + method + " does not have the preprocessed grid's size");
    const Volume v = tensor_to_volume(mean, grid);
    write_nifti(out / (method + "_preprocessed.nii.gz"), v, DataType::kFloat32);
    const Volume back = resample(v, {t1.dim[1], t1.dim[2], t1.dim[3]}, t1.affine, Interpolation::kLinear);
    write_nifti(out / (method + ".nii.gz"), back, DataType::kFloat32);
  };
  return in;
}

std::vector<mprotonet::attribution::MapMethod> parse_methods(const std::string& list,
                                                            const mprotonet::nets::ClassifierImpl& m) {
  using mprotonet::attribution::MapMethod;
  std::vector<MapMethod> out;
  if (list.empty()) {
    if (m.is_prototype_model()) out.push_back(MapMethod::MProtoNet);
    out.push_back(MapMethod::GradCAM);
    return out;
  }
  for (const MapMethod method : mprotonet::attribution::parse_map_methods(list)) {
    const std::string name = mprotonet::attribution::map_method_name(method);
    mprotonet::check(mprotonet::attribution::from_prediction_pass(method),
                     "predict computes the mprotonet and gradcam maps; for \"" + name +
                         "\" use `mprotonet explain` or `mprotonet evaluate`");
    mprotonet::check(mprotonet::attribution::method_applies(m, method),
                     "method \"mprotonet\" needs a prototype model, but the model is " + m.config().model_name);
    out.push_back(method);
  }
  return out;
}

int run_predict(const PredictOptions& o) {
  using namespace mprotonet;
  auto loaded = nets::load_model_file(o.model);
  nets::ClassifierImpl& model = *loaded.model;
  const auto methods = parse_methods(o.methods, model);
  const PredictInput input = o.case_dir.empty()
                                 ? tensor_input(o.tensor)
                                 : case_input(o.case_dir, spacing_for_model(model.config(), o.spacing), o.grid, model.config());
  const std::string input_name = o.case_dir.empty() ? o.tensor : o.case_dir;
  check(input.tensor.size(1) == model.config().in_size[0],
        "input " + input_name + " has " + std::to_string(input.tensor.size(1)) + " channels; the model expects " +
            std::to_string(model.config().in_size[0]));
  check_input_size({input.tensor.size(2), input.tensor.size(3), input.tensor.size(4)}, model.config(), input_name,
                   " (preprocess the case at the model's spacing)");

  // One backbone pass per case gives the prediction and every map (memory of one case).
  nets::Prediction p;
  std::vector<std::vector<torch::Tensor>> maps(o.maps.empty() ? 0 : methods.size());
  if (o.maps.empty()) {
    p = nets::predict(model, input.tensor);
  } else {
    std::vector<torch::Tensor> logits;
    for (int64_t i = 0; i < input.tensor.size(0); ++i) {
      auto e = attribution::predict_and_explain(model, input.tensor.slice(0, i, i + 1), methods);
      logits.push_back(e.logits);
      for (size_t k = 0; k < methods.size(); ++k) maps[k].push_back(e.maps[k]);
    }
    p.logits = logits.empty() ? torch::zeros({0, model.config().out_size}) : torch::cat(logits);
    p.probabilities = torch::softmax(p.logits, 1);
    p.predicted = p.logits.argmax(1);
  }
  // Non-finite logits (broken weights, an overflow) are an error, never a class.
  const auto finite = torch::isfinite(p.logits).all(1);
  for (int64_t i = 0; i < finite.size(0); ++i)
    check(finite[i].item<bool>(), "the model's output (logits) for case " + std::to_string(i) + " of " + input_name +
                                      " is not finite (NaN or infinite); the model or the input is broken");
  // The JSON and every map appear together, only on success (core/fs.h StagedOutputs).
  StagedOutputs outputs;
  if (!o.maps.empty()) {
    outputs.create_directories(o.maps);
    for (size_t k = 0; k < methods.size(); ++k)
      input.write_map(o.maps, attribution::map_method_name(methods[k]), torch::cat(maps[k]));
  }
  write_text_atomically(o.json, nets::prediction_to_json(p).dump(2) + "\n");
  outputs.commit();
  std::cout << "predicted:";
  for (int64_t i = 0; i < p.predicted.size(0); ++i) std::cout << " " << p.predicted[i].item<int64_t>();
  std::cout << "\n";
  return 0;
}

mprotonet::cli::CommandRegistration register_predict(
    "predict", "Predict HGG (1) / LGG (0) for preprocessed inputs, with optional explanation maps",
    [](CLI::App& sub) -> mprotonet::cli::Action {
      auto o = std::make_shared<PredictOptions>();
      sub.add_option("--model", o->model, "model file (from import or training)")->required();
      auto* tensor = sub.add_option("--tensor", o->tensor, "preprocessed float32 input [N, 4, D, H, W] saved by torch.save");
      auto* case_dir = sub.add_option("--case", o->case_dir,
                                      "BraTS-style case folder (t1, t1ce, t2, flair); preprocessed as in training, maps as NIfTI");
      tensor->excludes(case_dir);
      sub.add_option("--spacing", o->spacing,
                     "preprocessing spacing in mm for --case (default: from the model's in_size, 192 mm / in_size[1])")
          ->check(mprotonet::cli::number_in(mprotonet::bounds::kMinSpacingMm, mprotonet::bounds::kMaxSpacingMm));
      mprotonet::cli::add_preprocess_option(sub, &o->grid)->needs(case_dir);
      sub.add_option("--json", o->json, "output JSON: logits, probabilities, predicted")->required();
      sub.add_option("--maps", o->maps, "folder for explanation maps of the predicted class: <method>.pt for --tensor; <method>.nii.gz (case T1 grid) and <method>_preprocessed.nii.gz for --case");
      sub.add_option("--methods", o->methods,
                     "comma-separated methods among mprotonet, gradcam; default: all the model supports");
      return [o, tensor, case_dir] {
        mprotonet::check(tensor->count() + case_dir->count() == 1, "give exactly one input: --tensor X.pt or --case CASE_DIR");
        return run_predict(*o);
      };
    });

}  // namespace
