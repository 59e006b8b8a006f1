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
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include "mprotonet/data/cohort.h"
#include "mprotonet/nets/models.h"

namespace mprotonet {

class ProcessGroup;

/// A small picture of a prototype's source: the source subject's preprocessed input, one slice
/// across the third array axis (axial: the preprocessed grid is canonical RAS+) through the
/// prototype's location, cropped to at most `PushOptions::picture_size` voxels per side around
/// it. Stored as 8-bit values so a model file stays small (one slice per prototype).
struct PrototypePicture {
  /// The prototype's location in input voxels: the centre of the receptive field (p_mode < 2)
  /// or the peak of the occurrence map upsampled to the input size (p_mode >= 2).
  std::array<int64_t, 3> input_voxel{0, 0, 0};
  /// Input-voxel index of the crop's first element along axes 0 and 1; the slice is
  /// input_voxel[2] along axis 2.
  std::array<int64_t, 2> origin{0, 0};
  /// Crop size along axes 0 and 1.
  std::array<int64_t, 2> size{0, 0};
  /// [4, size0, size1] (numpy order): each modality windowed to 0..255 over its own slice's
  /// 0.5th..99.5th percentiles.
  std::vector<uint8_t> modalities;
  /// [size0, size1]: the occurrence map M_p upsampled trilinearly to the input size, divided by
  /// its maximum over the volume, times 255 (p_mode >= 2); empty for p_mode < 2 (the
  /// receptive-field box of PushedPrototype shows the region instead).
  std::vector<uint8_t> map;
};

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
  /// Picture of the source region (absent for records written before pictures existed, and
  /// when the prototype was not pushed or pictures were turned off).
  std::optional<PrototypePicture> picture;
};

/// One push.
struct PushRecord {
  int64_t epoch = 0;  ///< joint epoch (1-based) after which the push ran
  int p_mode = 0;
  std::vector<PushedPrototype> prototypes;
};

/// JSON form; a picture is {"input_voxel", "origin", "size", "encoding", "modalities", "map"}
/// with the bytes in base64. Records without pictures read back with picture unset.
nlohmann::json to_json(const PushRecord& r);
PushRecord push_record_from_json(const nlohmann::json& j);

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
