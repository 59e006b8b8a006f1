// SPDX-License-Identifier: MIT
// `mprotonet model-info`: parameter count, feature-map size and receptive field of a model.
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"

namespace {

struct ModelInfoOptions {
  std::string config;  ///< configuration JSON
  std::string model;   ///< or a model file
};

int run_model_info(const ModelInfoOptions& o) {
  using namespace mprotonet;
  check(o.config.empty() != o.model.empty(), "give exactly one of --config or --model");
  nets::Classifier model =
      o.model.empty() ? nets::build_model(nets::read_model_config(o.config), 0) : nets::load_model_file(o.model).model;
  const nets::ModelConfig& c = model->config();
  const auto rf = nets::receptive_fields(c);
  std::cout << "model: " << c.model_name << " (" << c.features << ", n_layers " << c.n_layers << ")\n"
            << "input: [" << c.in_size[0] << ", " << c.in_size[1] << ", " << c.in_size[2] << ", " << c.in_size[3]
            << "]\n"
            << "trainable parameters: " << nets::count_parameters(*model) << "\n"
            << "backbone channels: " << nets::resnet3d_out_channels(c.backbone()) << "\n"
            << "feature map: [" << rf[0].size << ", " << rf[1].size << ", " << rf[2].size << "]\n";
  const char* axes[] = {"D", "H", "W"};
  for (int a = 0; a < 3; ++a)
    std::cout << "receptive field " << axes[a] << ": size " << rf[a].rf_size << ", jump " << rf[a].jump
              << ", start " << rf[a].start << "\n";
  if (c.is_prototype_model() && c.p_mode() >= 1) std::cout << "top-k k: " << nets::topk_count(c) << "\n";
  std::cout << "GradCAM layer: " << model->gradcam_layer_name() << "\n";
  return 0;
}

mprotonet::cli::CommandRegistration register_model_info(
    "model-info", "Print parameter count, feature-map size and receptive field of a model",
    [](CLI::App& sub) -> mprotonet::cli::Action {
      auto o = std::make_shared<ModelInfoOptions>();
      sub.add_option("--config", o->config, "reference-keyword configuration JSON");
      sub.add_option("--model", o->model, "model file");
      return [o] { return run_model_info(*o); };
    });

}  // namespace
