// SPDX-License-Identifier: MIT
// Pictures of prototypes ("this looks like that", Chen et al., NeurIPS 2019; MProtoNet, Wei et
// al., MIDL 2023): renders the PrototypePicture a push stored in the model file — the source
// subject's four modalities (T1, T1CE, T2, FLAIR; 2 x 2 by default), with the prototype's occurrence
// map overlaid (p_mode >= 2) or its receptive-field box drawn (p_mode < 2). Display convention of
// png.h (radiological axial view: anterior up, patient left on the image right).
#pragma once

#include "mprotonet/nets/push_record.h"
#include "mprotonet/report/png.h"

namespace mprotonet {

struct PrototypeViewOptions {
  /// Pixels per voxel; 0 = the smallest zoom giving panels at least `min_panel` pixels wide.
  /// Default 0.
  int zoom = 0;
  /// Smallest panel width in pixels when zoom is 0. Default 112.
  int min_panel = 112;
  /// Opacity of the occurrence map. Default 0.5.
  double map_alpha = 0.5;
  /// Map values (fraction of the map's maximum) below this are not drawn. Default 0.15.
  double map_threshold = 0.15;
  /// Colour of the receptive-field box. Default cyan.
  Rgb box_colour{0, 220, 255};
  /// Gap between the modality panels in pixels. Default 2.
  int gap = 2;
  /// Panels per row: 2 (T1 T1CE / T2 FLAIR, a square picture) or 4 (one row). Default 2.
  int columns = 2;
};

/// The prototype's picture as one image (the four panels tiled). Error when the prototype has
/// no picture (a model file written before pictures were recorded, or an unpushed prototype).
RgbImage render_prototype(const PushedPrototype& prototype, const PrototypeViewOptions& options = {});

}  // namespace mprotonet
