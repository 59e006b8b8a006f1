// SPDX-License-Identifier: MIT
// The interactive 3D viewer (issue 21) of the report's test cases and of `mprotonet explain`:
// NiiVue (vendored in third_party/niivue/, found at run time as the resource
// "niivue/niivue.umd.js" and copied beside the page) shows a case's four modalities
// (switchable), its tumour labels (outline or translucent), each method's map as a colour overlay
// with opacity and colour bar, in multiplanar views plus a 3D render, with a click-to-navigate
// crosshair showing the voxel values. The volumes travel inside the page as base64 gzipped
// NIfTI (uint8 with scl_slope / scl_inter, so the values shown are the real ones to 1/255 of the
// range), so the page opens from file:// with no network. The controls are HTML written here
// (every string from data escaped); resources/viewer/viewer.{js,css} are put inline.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mprotonet/io/volume.h"

namespace mprotonet {

/// One embedded volume: a gzipped uint8 NIfTI as base64, with its display range.
struct ViewerVolume {
  std::string label;        ///< shown in the controls (from data: escaped when written)
  std::string base64;       ///< encode_nifti_gz bytes as base64
  double cal_min = 0.0;     ///< display range, in the volume's real values
  double cal_max = 1.0;
};

/// A method's map: one volume, or four (one per modality, in T1, T1CE, T2, FLAIR order) when
/// the map differs between the input channels; the viewer overlays the one of the modality shown.
struct ViewerMap {
  std::string label;
  std::vector<ViewerVolume> volumes;
};

/// A prototype's source case, opened in the same viewer instead of the case: the training case
/// the prototype was pushed to, with the prototype's occurrence map (p_mode >= 2) or its
/// receptive-field box (p_mode < 2).
struct ViewerSource {
  std::string label;     ///< e.g. "MProtoNet3D_pm5 · prototype #3 (source BraTS20_Training_012)"
  size_t images = 0;     ///< index into CaseViewer::source_images
  ViewerVolume map;
};

/// Everything one viewer shows.
struct CaseViewer {
  std::vector<ViewerVolume> modalities;  ///< T1, T1CE, T2, FLAIR
  std::optional<ViewerVolume> labels;    ///< tumour labels (BraTS 1, 2, 4), when known
  std::vector<ViewerMap> maps;
  /// The four modalities of each prototype source subject (subject id, volumes), shared by the
  /// prototypes pushed to the same subject.
  std::vector<std::pair<std::string, std::vector<ViewerVolume>>> source_images;
  std::vector<ViewerSource> sources;
  /// Why the viewer is not shown (set by limit_viewer or by the caller); shown in the page.
  std::string note;
  /// Why the prototype sources are not in the viewer (set by limit_viewer); shown under it.
  std::string sources_note;

  /// Embedded characters (the base64 of every volume).
  size_t embedded_size() const;
};

/// A modality: window [0.5, 99.5] percentiles of the non-zero voxels -> 0..255.
ViewerVolume viewer_intensity(const Volume& v, const std::string& label);
/// Integer labels 0..255 (rounded); the display range is 0..4 (BraTS labels).
ViewerVolume viewer_labels(const Volume& seg, const std::string& label);
/// A map: |v| over [0, peak] -> 0..255; display range from 15 % of the peak (as the PNGs) to the peak.
ViewerVolume viewer_map_volume(const Volume& v, const std::string& label);

/// Default limit on one viewer's embedded data: 6 MB of base64 (the report's cases on the
/// model-input grid need a few hundred kB each).
inline constexpr size_t kMaxViewerEmbedded = 6u << 20;

/// When the viewer's data exceed `limit` characters, first drops the prototype sources (saying so
/// in `sources_note`), then, if still too large, every volume (saying so in `note`: the page then
/// shows the note instead of an empty viewer, never nothing).
void limit_viewer(CaseViewer& viewer, size_t limit = kMaxViewerEmbedded);

/// The viewer's block: controls, canvas, status line and the embedded data; or, when it has a
/// note or no modality, the note. `dom_id` must be unique in the page ([A-Za-z0-9_-]).
std::string viewer_html(const CaseViewer& viewer, const std::string& dom_id);

/// A button that opens source `source` of the viewer `dom_id` (for the prototype cards).
std::string viewer_source_button(const std::string& dom_id, size_t source);

/// The viewer's stylesheet (resources/viewer/viewer.css) as a <style> element.
std::string viewer_style();
/// The scripts that start every viewer of a page: NiiVue from `niivue_url` (relative URL of the
/// copied bundle) and resources/viewer/viewer.js inline. Put at the end of <body>.
std::string viewer_scripts(const std::string& niivue_url);

/// Copies the NiiVue bundle to dir/niivue.umd.js (atomically); Error naming the file when the
/// bundle is not found (an installation without share/mprotonet/niivue/).
void copy_viewer_bundle(const std::filesystem::path& dir);

/// What `mprotonet explain` shows in DIR/index.html.
struct ExplainPage {
  std::string case_id;
  std::string predicted;   ///< "HGG" / "LGG"
  double p_hgg = 0.0;
  std::vector<std::filesystem::path> modalities;         ///< the case's four NIfTI files
  std::optional<std::filesystem::path> seg;              ///< its segmentation, if any
  std::vector<std::pair<std::string, Volume>> maps;      ///< (method, map on the T1 grid)
  std::vector<std::string> files;                        ///< output files listed with links
};

/// Writes out_dir/index.html (the case's own grid, as the NIfTI maps of explain) and
/// out_dir/niivue.umd.js, both atomically. A case too large to embed (limit
/// 8 * kMaxViewerEmbedded) gets a page that says so.
void write_explain_page(const std::filesystem::path& out_dir, const ExplainPage& page);

}  // namespace mprotonet
