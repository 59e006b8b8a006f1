// SPDX-License-Identifier: MIT
// `mprotonet export`: writes a model file's weights as a PyTorch state_dict that the reference's
// `net.load_state_dict(torch.load(path))` accepts.
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/model_file.h"

namespace {

struct ExportOptions {
  std::string model;       ///< model file
  std::string state_dict;  ///< output .pt
  std::string config;      ///< optional output configuration JSON
};

mprotonet::cli::CommandRegistration register_export(
    "export", "Export a model file's weights as a PyTorch state_dict (and its configuration)",
    [](CLI::App& sub) -> mprotonet::cli::Action {
      auto o = std::make_shared<ExportOptions>();
      sub.add_option("--model", o->model, "model file")->required();
      sub.add_option("--state-dict", o->state_dict, "output state_dict file for torch.load")->required();
      sub.add_option("--config", o->config, "also write the reference-keyword configuration JSON here");
      return [o] {
        using namespace mprotonet;
        auto loaded = nets::load_model_file(o->model);
        write_state_dict(o->state_dict, nets::model_state(*loaded.model));
        if (!o->config.empty()) nets::write_model_config(o->config, loaded.model->config());
        std::cout << "exported " << loaded.model->config().model_name << " -> " << o->state_dict << "\n";
        return 0;
      };
    });

}  // namespace
