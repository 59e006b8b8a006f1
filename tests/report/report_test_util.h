// SPDX-License-Identifier: MIT
// Helpers of the report tests: a hand-written demo folder (two run folders with run.json,
// results.json, evaluation.json and test predictions, no models), and the headless-Chromium check
// that every image of a page loads and nothing is logged as an error.
#pragma once

#include <filesystem>
#include <string>

namespace mprotonet::test {

/// Writes DIR/runs/{MProtoNet3D_pm5,CNN3D}/ with hand-chosen numbers (see the .cpp); `odd_id`
/// is the first test subject's id (to test escaping), data_dir is a missing "/nonexistent/<b>data".
void write_fake_demo(const std::filesystem::path& dir, const std::string& odd_id);

/// Path of the Chromium binary, or "" when none is installed.
std::string chromium_path();

struct BrowserCheck {
  int images = -1;           ///< <img> elements on the page
  std::string broken;        ///< JSON array of the images that did not load
  std::string errors;        ///< JSON array of error events / console errors seen by the page
  std::string console;       ///< console messages Chromium logged (the report has no script, so any is a problem)
  std::string output;        ///< Chromium's whole output (for failure messages)
};

/// Opens a copy of `html` (same folder, with a small checking script added) in headless
/// Chromium (--headless --no-sandbox --disable-gpu) and reports what it saw.
BrowserCheck check_in_browser(const std::filesystem::path& html);

}  // namespace mprotonet::test
