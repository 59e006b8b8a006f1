// SPDX-License-Identifier: MIT
// Dynamic loss scaling (see grad_scaler.h).
#include "mprotonet/engines/grad_scaler.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"

namespace mprotonet {

GradScaler::GradScaler(bool enabled, GradScalerOptions options)
    : enabled_(enabled), options_(options), scale_(options.init_scale) {
  check(options_.init_scale > 0 && std::isfinite(options_.init_scale), "loss scale must be a positive number");
  check(options_.growth_factor > 1 && options_.backoff_factor > 0 && options_.backoff_factor < 1,
        "loss scale growth factor must be > 1 and backoff factor in (0, 1)");
  check(options_.growth_interval >= 1, "loss scale growth interval must be at least 1");
}

torch::Tensor GradScaler::scale_loss(const torch::Tensor& loss) const {
  // In float32 as PyTorch does (the scale is a float32 tensor there): an fp16 loss times 65536
  // would overflow before backward starts.
  return enabled_ ? loss.to(torch::kFloat) * scale_ : loss;
}

bool GradScaler::unscale_and_update(const std::vector<torch::Tensor>& params) {
  if (!enabled_) return true;
  // PyTorch multiplies by the float32 reciprocal of the scale; so does this.
  const double inv = static_cast<double>(1.0f / static_cast<float>(scale_));
  bool finite = true;
  for (const auto& p : params) {
    auto g = p.grad();
    if (!g.defined()) continue;
    g.mul_(inv);
    finite = finite && torch::isfinite(g).all().item<bool>();
  }
  if (!finite) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    const double grown = scale_ * options_.growth_factor;
    if (std::isfinite(static_cast<float>(grown))) scale_ = grown;  // PyTorch keeps a float32 scale finite
    growth_tracker_ = 0;
  }
  return finite;
}

nlohmann::json GradScaler::to_json() const { return {{"scale", scale_}, {"growth_tracker", growth_tracker_}}; }

void GradScaler::from_json(const nlohmann::json& state) {
  const double s = state.at("scale").get<double>();
  const int64_t t = state.at("growth_tracker").get<int64_t>();
  check(s > 0 && std::isfinite(s) && t >= 0 && t < options_.growth_interval, "the checkpoint's loss-scaler state is invalid");
  scale_ = s;
  growth_tracker_ = t;
}

}  // namespace mprotonet
