// SPDX-License-Identifier: MIT
// Helpers of the report tests: a hand-written demo folder (two run folders with run.json,
// results.json, evaluation.json and test predictions, no models); the headless-Chromium check is
// common/browser.h.
#pragma once

#include <filesystem>
#include <string>

#include "common/browser.h"

namespace mprotonet::test {

/// Writes DIR/runs/{MProtoNet3D_pm5,CNN3D}/ with hand-chosen numbers (see the .cpp); `odd_id`
/// is the first test subject's id (to test escaping), data_dir is a missing "/nonexistent/<b>data".
void write_fake_demo(const std::filesystem::path& dir, const std::string& odd_id);

}  // namespace mprotonet::test
