// SPDX-License-Identifier: MIT
// Learning-rate schedule of MProtoNet's joint epochs (docs/method.md#training): linear warm-up over
// E/5 epochs, lr = base * (e + 1) / warmup, then cosine annealing over the remaining
// E - warmup epochs, stepped once per epoch. This is what the reference's
// SequentialLR([LambdaLR((e + 1) / wu), CosineAnnealingLR(T_max = E - wu)], milestones=[wu])
// produces; as a pure function of the epoch it needs no scheduler state to resume.
#pragma once

#include <cstdint>
#include <vector>

namespace mprotonet {

struct LrScheduleOptions {
  /// Peak learning rate (AdamW). Default 1e-3.
  double base_lr = 1e-3;
  /// Number of joint epochs E. Default 100.
  int64_t epochs = 100;
  /// Warm-up epochs; -1 = E / 5 (integer division, the reference's default). 0 = no warm-up.
  int64_t warmup_epochs = -1;
  /// Floor of the cosine (CosineAnnealingLR's eta_min). Default 0.
  double eta_min = 0.0;
};

/// The warm-up length in effect (resolves -1 to E / 5); Error when the options are invalid
/// (E < 1, warm-up < -1 or >= E, base_lr <= 0).
int64_t resolved_warmup_epochs(const LrScheduleOptions& o);

/// Learning rate used during epoch `epoch` (0-based, 0 <= epoch < E):
///   epoch < w:  base * (epoch + 1) / w
///   otherwise:  eta_min + (base - eta_min) * (1 + cos(pi * (epoch - w) / (E - w))) / 2
double learning_rate(int64_t epoch, const LrScheduleOptions& o);

/// learning_rate for every epoch 0..E-1.
std::vector<double> learning_rates(const LrScheduleOptions& o);

}  // namespace mprotonet
