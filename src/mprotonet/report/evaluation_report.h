// SPDX-License-Identifier: MIT
// The human-readable side of an evaluation (engines/evaluator.h): evaluation.md from
// evaluation.json, and the line plots of the deletion / addition curves with one colour per
// attribution method.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mprotonet/attribution/methods.h"
#include "mprotonet/report/png.h"

namespace mprotonet {

/// Markdown report of an evaluation.json (tables of mean ± std over folds).
std::string evaluation_markdown(const nlohmann::json& evaluation);

/// A plain line plot: white background, axes, grid at quarters; x spans the points, y [0, 1].
RgbImage plot_curves(const std::vector<std::vector<double>>& curves, const std::vector<Rgb>& colours,
                     int width = 480, int height = 320);

/// Colour of a method in the plots (listed in evaluation.md).
Rgb method_colour(attribution::MapMethod method);

}  // namespace mprotonet
