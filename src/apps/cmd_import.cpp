// SPDX-License-Identifier: MIT
// `mprotonet import`: turns a reference checkpoint (torch.save(net.state_dict()) from the
// authors' PyTorch code) plus its keyword configuration into a project model file.
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/model_config.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"

namespace {

struct ImportOptions {
  std::string config;      ///< reference-keyword configuration JSON
  std::string state_dict;  ///< PyTorch state_dict file
  std::string out;         ///< model file to write
};

int run_import(const ImportOptions& o) {
  using namespace mprotonet;
  const nets::ModelConfig config = nets::read_model_config(o.config);
  nets::Classifier model = nets::build_model(config, 0);
  const NamedTensors tensors = read_state_dict(o.state_dict);
  nets::load_model_state(*model, tensors, "state_dict " + o.state_dict);
  nets::save_model_file(o.out, *model);
  std::cout << "imported " << config.model_name << " (" << tensors.size() << " tensors, "
            << nets::count_parameters(*model) << " trainable parameters) -> " << o.out << "\n";
  return 0;
}

mprotonet::cli::CommandRegistration register_import(
    "import", "Import a reference PyTorch state_dict and its configuration into a model file",
    [](CLI::App& sub) -> mprotonet::cli::Action {
      auto o = std::make_shared<ImportOptions>();
      sub.add_option("--config", o->config,
                     "reference-keyword configuration JSON (model_name, in_size, features, n_layers, ...)")
          ->required();
      sub.add_option("--state-dict", o->state_dict, "file written by torch.save(net.state_dict())")->required();
      sub.add_option("--out", o->out, "model file to write (atomically)")->required();
      return [o] { return run_import(*o); };
    });

}  // namespace
