// SPDX-License-Identifier: MIT
// The project's model file: one file holding the reference-style configuration, every
// parameter and buffer under its state_dict name, and an optional push record (free-form JSON,
// filled by the training code). Written by torch::pickle_save, so Python's torch.load reads it
// too (a dict {"format", "config", "push_record", "state_dict"}). Saved atomically.
#pragma once

#include <filesystem>
#include <string>

#include "mprotonet/io/state_dict.h"
#include "mprotonet/nets/models.h"

namespace mprotonet::nets {

/// The model's parameters and buffers in the reference's state_dict order (per module: own
/// parameters, own buffers, then children), detached, on their current device.
NamedTensors model_state(const torch::nn::Module& module);

/// Copies `tensors` into the model's parameters and buffers. Every key must match both ways,
/// with equal shapes and a floating/integer dtype kind; otherwise one Error lists every
/// missing, unexpected and wrongly-shaped tensor, naming `source`.
void load_model_state(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source);

/// A loaded model file.
struct LoadedModel {
  Classifier model;
  std::string push_record;  ///< JSON text; "null" when the model was never pushed
};

/// Saves config + state + push record (JSON text, "null" for none) atomically.
void save_model_file(const std::filesystem::path& path, ClassifierImpl& model,
                     const std::string& push_record = "null");

/// Loads a model file written by save_model_file; Error naming the file for anything wrong.
LoadedModel load_model_file(const std::filesystem::path& path);

}  // namespace mprotonet::nets
