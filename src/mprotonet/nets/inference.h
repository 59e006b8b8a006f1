// SPDX-License-Identifier: MIT
// Evaluation-mode prediction of a batch: logits, softmax probabilities and the predicted class,
// and their JSON form used by `mprotonet predict`.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "mprotonet/nets/models.h"

namespace mprotonet::nets {

struct Prediction {
  torch::Tensor logits;         ///< [N, classes] float32, CPU
  torch::Tensor probabilities;  ///< softmax over classes, [N, classes]
  torch::Tensor predicted;      ///< argmax, int64 [N] (class 1 = HGG)
};

/// Runs the model in evaluation mode without gradients (restores the caller's mode), one
/// sample at a time so memory stays that of a single case.
Prediction predict(ClassifierImpl& model, const torch::Tensor& input);

/// {"logits": [[...]], "probabilities": [[...]], "predicted": [...]} with every float printed
/// to full precision (max_digits10 round trip).
nlohmann::json prediction_to_json(const Prediction& prediction);

}  // namespace mprotonet::nets
