// SPDX-License-Identifier: MIT
// Reading and preprocessing one case (see preprocess_case.h).
#include "mprotonet/data/preprocess_case.h"

#include <cmath>
#include <set>
#include <sstream>

#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"

namespace mprotonet {

PreprocessedCase preprocess_case(const CaseFiles& files, const PreprocessOptions& options) {
  return with_context("while preprocessing case " + files.id, [&] {
    PreprocessedCase out;
    out.id = files.id;
    for (int m = 0; m < kNumModalities; ++m) {
      const auto& path = files.images[static_cast<size_t>(m)];
      out.images[static_cast<size_t>(m)] = with_context(path.string(), [&] {
        return preprocess_volume(read_nifti(path), options, Interpolation::kLinear);
      });
    }
    if (files.seg) {
      out.seg = with_context(files.seg->string(), [&] {
        Volume seg = read_nifti(*files.seg);
        std::set<float> bad;
        for (float x : seg.data)
          if (x != 0.0f && x != 1.0f && x != 2.0f && x != 4.0f && bad.size() < 8) bad.insert(x);
        if (!bad.empty()) {
          std::ostringstream s;
          s << "segmentation has label(s) outside {0, 1, 2, 4}:";
          for (float b : bad) s << " " << b;
          throw Error(s.str());
        }
        return preprocess_volume(seg, options, Interpolation::kNearest);
      });
    }
    // The reference grid's size depends on the input voxel size; a cohort and a model need one
    // size, and the segmentation the images' grid.
    const auto expected = options.output_shape();
    for (int m = 0; options.grid == PreprocessGrid::kReference && m <= kNumModalities; ++m) {
      const bool seg = m == kNumModalities;
      if (seg && !out.seg) break;
      const auto& v = seg ? *out.seg : out.images[static_cast<size_t>(m)];
      if (v.shape != expected)
        throw Error((seg ? *files.seg : files.images[static_cast<size_t>(m)]).string() + ": the reference preprocessing (crop to " +
                    std::to_string(options.reference_crop[0]) + "x" + std::to_string(options.reference_crop[1]) + "x" +
                    std::to_string(options.reference_crop[2]) + " voxels, then resample) gives " + std::to_string(v.shape[0]) +
                    "x" + std::to_string(v.shape[1]) + "x" + std::to_string(v.shape[2]) + " voxels, not the " +
                    std::to_string(expected[0]) + "x" + std::to_string(expected[1]) + "x" + std::to_string(expected[2]) +
                    " of a 1 mm volume: the reference pipeline expects 1 mm input (use --preprocess mm)");
    }
    // Every modality must sit on the same grid (co-registered input).
    for (int m = 1; m < kNumModalities; ++m)
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c)
          if (std::fabs(out.images[static_cast<size_t>(m)].affine[r][c] - out.images[0].affine[r][c]) > 1e-3)
            throw Error(files.images[static_cast<size_t>(m)].string() + " is not on the same grid as " + files.images[0].string() +
                        " (different affine): the modalities must be co-registered");
    return out;
  });
}

}  // namespace mprotonet
