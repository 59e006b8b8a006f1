// SPDX-License-Identifier: MIT
// --preprocess, the option of every command that preprocesses cases (docs/method.md#preprocessing).
#pragma once

#include <CLI/CLI.hpp>

#include "mprotonet/transforms/preprocess.h"

namespace mprotonet::cli {

/// Declares --preprocess mm|reference on `sub`, stored into *grid (default: whatever *grid holds).
inline CLI::Option* add_preprocess_option(CLI::App& sub, PreprocessGrid* grid) {
  return sub
      .add_option_function<std::string>(
          "--preprocess", [grid](const std::string& text) { *grid = parse_preprocess_grid(text); },
          "grid of the preprocessing: mm (default: 192x192x144 mm about the volume centre, one interpolation) or "
          "reference (the authors' TorchIO pipeline: crop to 192x192x144 voxels, then resample; for imported "
          "reference models and 1 mm input)")
      ->check(CLI::IsMember({"mm", "reference"}));
}

}  // namespace mprotonet::cli
