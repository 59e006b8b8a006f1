// SPDX-License-Identifier: MIT
// Warm-up + cosine learning-rate schedule (see schedule.h).
#include "mprotonet/engines/schedule.h"

#include <cmath>
#include <string>

#include "mprotonet/core/error.h"

namespace mprotonet {

int64_t resolved_warmup_epochs(const LrScheduleOptions& o) {
  check(o.epochs >= 1, "learning-rate schedule: epochs must be >= 1, got " + std::to_string(o.epochs));
  check(o.base_lr > 0 && std::isfinite(o.base_lr),
        "learning-rate schedule: base_lr must be > 0, got " + std::to_string(o.base_lr));
  check(o.eta_min >= 0 && o.eta_min <= o.base_lr,
        "learning-rate schedule: eta_min must be in [0, base_lr], got " + std::to_string(o.eta_min));
  check(o.warmup_epochs >= -1, "learning-rate schedule: warmup_epochs must be -1 (= epochs / 5) "
                               "or >= 0, got " + std::to_string(o.warmup_epochs));
  const int64_t w = o.warmup_epochs < 0 ? o.epochs / 5 : o.warmup_epochs;
  check(w < o.epochs, "learning-rate schedule: warmup_epochs (" + std::to_string(w) +
                          ") must be smaller than epochs (" + std::to_string(o.epochs) + ")");
  return w;
}

double learning_rate(int64_t epoch, const LrScheduleOptions& o) {
  const int64_t w = resolved_warmup_epochs(o);
  check(epoch >= 0 && epoch < o.epochs, "learning-rate schedule: epoch " + std::to_string(epoch) +
                                            " is outside [0, " + std::to_string(o.epochs) + ")");
  if (epoch < w) return o.base_lr * static_cast<double>(epoch + 1) / static_cast<double>(w);
  const double t_max = static_cast<double>(o.epochs - w);
  return o.eta_min + (o.base_lr - o.eta_min) * (1.0 + std::cos(M_PI * static_cast<double>(epoch - w) / t_max)) / 2.0;
}

std::vector<double> learning_rates(const LrScheduleOptions& o) {
  std::vector<double> v;
  for (int64_t e = 0; e < o.epochs; ++e) v.push_back(learning_rate(e, o));
  return v;
}

}  // namespace mprotonet
