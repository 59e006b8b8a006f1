// `mprotonet predict`: class probabilities and explanation maps for preprocessed inputs.
// The input kinds sit behind PredictInput so a case-folder input (preprocessing + NIfTI maps
// on the case's own grid) plugs in beside --tensor.
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/inference.h"
#include "mprotonet/nets/model_file.h"

namespace {

struct PredictOptions {
  std::string model;    ///< model file
  std::string tensor;   ///< float32 [N, 4, D, H, W] written by torch.save
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
    return t.to(torch::kFloat).contiguous();
  });
  in.write_map = [](const std::filesystem::path& dir, const std::string& method, const torch::Tensor& map) {
    mprotonet::write_tensor_file(dir / (method + ".pt"), map);
  };
  return in;
}

std::vector<mprotonet::attribution::Method> parse_methods(const std::string& list, const mprotonet::nets::ClassifierImpl& m) {
  using mprotonet::attribution::Method;
  std::vector<Method> out;
  if (list.empty()) {
    if (m.is_prototype_model()) out.push_back(Method::MProtoNet);
    out.push_back(Method::GradCAM);
    return out;
  }
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    out.push_back(mprotonet::attribution::parse_method(item));
    mprotonet::check(m.is_prototype_model() || out.back() != Method::MProtoNet,
                     "method \"mprotonet\" needs a prototype model, but the model is " + m.config().model_name);
  }
  return out;
}

int run_predict(const PredictOptions& o) {
  using namespace mprotonet;
  auto loaded = nets::load_model_file(o.model);
  nets::ClassifierImpl& model = *loaded.model;
  const auto methods = parse_methods(o.methods, model);
  const PredictInput input = tensor_input(o.tensor);
  check(input.tensor.size(1) == model.config().in_size[0],
        "input " + o.tensor + " has " + std::to_string(input.tensor.size(1)) + " channels; the model expects " +
            std::to_string(model.config().in_size[0]));

  const nets::Prediction p = nets::predict(model, input.tensor);
  write_text_atomically(o.json, nets::prediction_to_json(p).dump(2) + "\n");

  if (!o.maps.empty()) {
    std::filesystem::create_directories(o.maps);
    for (auto method : methods) {
      std::vector<torch::Tensor> rows;  // one case at a time keeps memory at one case's
      for (int64_t i = 0; i < input.tensor.size(0); ++i)
        rows.push_back(attribution::attribute(model, method, input.tensor.slice(0, i, i + 1),
                                              p.predicted.slice(0, i, i + 1)));
      input.write_map(o.maps, attribution::method_name(method), torch::cat(rows));
    }
  }
  std::cout << "predicted:";
  for (int64_t i = 0; i < p.predicted.size(0); ++i) std::cout << " " << p.predicted[i].item<int64_t>();
  std::cout << "\n";
  return 0;
}

mprotonet::cli::CommandRegistration reg(
    "predict", "Predict HGG (1) / LGG (0) for preprocessed inputs, with optional explanation maps",
    [](CLI::App& sub) -> mprotonet::cli::Action {
      auto o = std::make_shared<PredictOptions>();
      sub.add_option("--model", o->model, "model file (from import or training)")->required();
      sub.add_option("--tensor", o->tensor, "preprocessed float32 input [N, 4, D, H, W] saved by torch.save")
          ->required();
      sub.add_option("--json", o->json, "output JSON: logits, probabilities, predicted")->required();
      sub.add_option("--maps", o->maps, "folder for explanation maps of the predicted class, <method>.pt each");
      sub.add_option("--methods", o->methods,
                     "comma-separated methods among mprotonet, gradcam; default: all the model supports");
      return [o] { return run_predict(*o); };
    });

}  // namespace
