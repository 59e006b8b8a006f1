// SPDX-License-Identifier: MIT
// The record of a prototype projection ("push", engines/push.h): per prototype, the training
// subject and location its value came from and a small picture of that source. A model file
// stores it (nets/model_file.h), so a model alone can show each prototype ("this looks like
// that") without the training data; the report and explanations read it from there.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mprotonet {

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
/// One prototype's entry of that form (the picture only when it has one).
nlohmann::json to_json(const PushedPrototype& p);
nlohmann::json to_json(const PushRecord& r);
PushRecord push_record_from_json(const nlohmann::json& j);

/// The push record of a model file (nets::LoadedModel::push_record, JSON text): nullopt when the
/// model was never pushed ("null" or empty); Error naming the problem when the text is not a
/// readable push record (hand-made or damaged).
std::optional<PushRecord> read_push_record(const std::string& json_text);

}  // namespace mprotonet
