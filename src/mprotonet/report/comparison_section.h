// SPDX-License-Identifier: MIT
// The report's section on the paired comparison of the paper's experiment (comparison.json,
// engines/comparison.h): the reference row (MProtoNet C) against every other row on AP, IDS and
// BAC, paired per held-out subject, with the test statistic, the number of pairs and p.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mprotonet {

/// The HTML of the section (id "comparison"); a note when `comparison` is null (no comparison
/// was made: fewer than two rows, or the reference row is absent).
std::string comparison_section_html(const nlohmann::json& comparison);

}  // namespace mprotonet
