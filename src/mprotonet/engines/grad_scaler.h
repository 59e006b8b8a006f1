// SPDX-License-Identifier: MIT
// Dynamic loss scaling for fp16 autocast (docs/method.md#precision), the rule of PyTorch's
// torch.amp.GradScaler, which LibTorch's C++ API lacks: the loss is multiplied by a scale before
// backward; the gradients are divided by it before the optimiser step; a step whose gradients hold
// an inf or NaN is skipped and the scale halved; after `growth_interval` good steps in a row the
// scale doubles. Disabled (scale 1, every step taken) for fp32 and bf16, which need no scaling.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

namespace mprotonet {

struct GradScalerOptions {
  double init_scale = 65536.0;   ///< 2^16, PyTorch's default
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(bool enabled, GradScalerOptions options = {});

  bool enabled() const { return enabled_; }
  /// The current scale (1 when disabled).
  double scale() const { return enabled_ ? scale_ : 1.0; }
  int64_t growth_tracker() const { return growth_tracker_; }

  /// loss * scale (loss itself when disabled): call backward on this.
  torch::Tensor scale_loss(const torch::Tensor& loss) const;

  /// Divides the defined gradients of `params` by the scale in place, then updates the scale.
  /// Returns true when every gradient is finite, i.e. when the optimiser should step; false
  /// (gradients left as they are, scale backed off) otherwise. Always true when disabled.
  bool unscale_and_update(const std::vector<torch::Tensor>& params);

  /// {"scale", "growth_tracker"}, for checkpoints; from_json restores it.
  nlohmann::json to_json() const;
  void from_json(const nlohmann::json& state);

 private:
  bool enabled_;
  GradScalerOptions options_;
  double scale_;
  int64_t growth_tracker_ = 0;
};

}  // namespace mprotonet
