// SPDX-License-Identifier: MIT
// Text and JSON forms of values (see text.h).
#include "mprotonet/core/text.h"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

namespace mprotonet {

std::string shape_string(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace mprotonet
