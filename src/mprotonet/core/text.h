// SPDX-License-Identifier: MIT
// Text and JSON forms of values, shared by error messages and result files.
#pragma once

#include <limits>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

namespace mprotonet {

/// Quiet NaN: a metric that is undefined (e.g. a one-class AUC).
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// "[2, 4, 8]" for a tensor's sizes; "undefined" for an undefined tensor.
std::string shape_string(const torch::Tensor& t);

/// A finite value as a JSON number, NaN and infinities as null (JSON has no NaN).
nlohmann::json json_number(double v);

}  // namespace mprotonet
