// Prototype projection ("push", Chen et al., "This Looks Like That", NeurIPS 2019, section 2.2;
// class-specific as in MProtoNet, SPEC 6): every prototype is replaced by the closest latent
// vector among the unaugmented training subjects of its own class — for p_mode < 2 the add-on
// feature vector f(x) at the arg-min voxel, for p_mode >= 2 the subject's map-weighted vector
// g_p. The record says, per prototype, where its new value came from.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "mprotonet/data/cohort.h"
#include "mprotonet/nets/models.h"

namespace mprotonet {

/// Where one prototype's pushed value came from.
struct PushedPrototype {
  int64_t prototype = 0;          ///< prototype index p
  int cls = 0;                    ///< class of the prototype
  std::string subject_id;         ///< source subject ("" when the class had no training subject)
  int64_t subject_index = -1;     ///< cohort index of the source subject (-1: not pushed)
  double distance = 0.0;          ///< distance of the chosen vector to the prototype before push
  /// Feature-map voxel (D, H, W axes): the arg-min voxel (p_mode < 2) or the peak of the
  /// subject's occurrence map M_p (p_mode >= 2).
  std::array<int64_t, 3> voxel{0, 0, 0};
  /// Input-voxel region [begin, end) per axis seen by that feature voxel (ProtoPNet's
  /// receptive-field bookkeeping).
  std::array<std::array<int64_t, 2>, 3> receptive_field{};
};

/// One push.
struct PushRecord {
  int64_t epoch = 0;  ///< joint epoch (1-based) after which the push ran
  int p_mode = 0;
  std::vector<PushedPrototype> prototypes;
};

nlohmann::json to_json(const PushRecord& r);
PushRecord push_record_from_json(const nlohmann::json& j);

struct PushOptions {
  /// Subjects per forward pass. Default 32.
  int64_t batch_size = 32;
  /// Device of the model. Default CPU.
  torch::Device device = torch::kCPU;
};

/// Projects every prototype of `model` onto its closest own-class latent vector among the
/// cohort subjects `train_indices` (unaugmented, model in eval mode, no gradients; the model's
/// training mode is restored afterwards). Ties keep the first subject / voxel met. A class
/// without a training subject leaves its prototypes unchanged (subject_index -1).
PushRecord push_prototypes(nets::MProtoNet3DImpl& model, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& train_indices, const PushOptions& options = {});

}  // namespace mprotonet
