// SPDX-License-Identifier: MIT
// Prototype projection ("push", Chen et al., "This Looks Like That", NeurIPS 2019, section 2.2;
// class-specific as in MProtoNet, docs/method.md#training): every prototype is replaced by the closest latent
// vector among the unaugmented training subjects of its own class — for p_mode < 2 the add-on
// feature vector f(x) at the arg-min voxel, for p_mode >= 2 the subject's map-weighted vector
// g_p. The record says, per prototype, where its new value came from, and keeps a small picture
// of that source (one axial slice of the source subject) so a model file alone can show each
// prototype ("this looks like that") without the training data.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "mprotonet/data/cohort.h"
#include "mprotonet/nets/models.h"
#include "mprotonet/nets/push_record.h"

namespace mprotonet {

class ProcessGroup;

/// The picture of one prototype from the source subject's preprocessed `image` [4, X, Y, Z]
/// (float, any device), its location `input_voxel`, and for p_mode >= 2 its occurrence map
/// already upsampled to [X, Y, Z] (undefined tensor otherwise). Error when the location is
/// outside the image or the map's shape differs.
PrototypePicture make_prototype_picture(const torch::Tensor& image, const std::array<int64_t, 3>& input_voxel,
                                        const torch::Tensor& upsampled_map, int64_t picture_size = 64);

struct PushOptions {
  /// Subjects per forward pass. Default 32.
  int64_t batch_size = 32;
  /// Device of the model. Default CPU.
  torch::Device device = torch::kCPU;
  /// Record a PrototypePicture per pushed prototype. Default true.
  bool pictures = true;
  /// Largest side of a picture's crop, in input voxels (the whole slice when smaller).
  /// Default 64 (the whole slice at 3 mm; 96 mm around the prototype at 1.5 mm).
  int64_t picture_size = 64;
  /// Data-parallel training (distributed.h): each rank passes its slice of the training subjects
  /// (contiguous, in training order; possibly empty) and every rank ends with the same, global
  /// result: per prototype the smallest distance over all ranks, ties to the lowest rank (the
  /// earliest subject, as in one process). Default none.
  ProcessGroup* group = nullptr;
};

/// Projects every prototype of `model` onto its closest own-class latent vector among the
/// cohort subjects `train_indices` (unaugmented, model in eval mode, no gradients; the model's
/// training mode is restored afterwards). Ties keep the first subject / voxel met. A class
/// without a training subject leaves its prototypes unchanged (subject_index -1). With
/// options.group, `train_indices` is this rank's slice (see PushOptions::group).
PushRecord push_prototypes(nets::MProtoNet3DImpl& model, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& train_indices, const PushOptions& options = {});

}  // namespace mprotonet
