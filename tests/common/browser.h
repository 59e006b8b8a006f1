// SPDX-License-Identifier: MIT
// Headless Chromium for the page tests (report, explain): opens a copy of a page with a small
// checking script added, under WebGL2 through SwiftShader, bounded by a timeout, and reports what
// the page saw: images that did not load, error events and console errors, console messages
// Chromium logged, and the verdicts of the interactive viewers' self-test (`#selftest`,
// resources/viewer/viewer.js).
#pragma once

#include <filesystem>
#include <string>

namespace mprotonet::test {

/// Path of the Chromium binary, or "" when none is installed.
std::string chromium_path();

struct BrowserCheck {
  int images = -1;           ///< <img> elements on the page
  std::string broken;        ///< JSON array of the images that did not load
  std::string errors;        ///< JSON array of error events / console errors and warnings seen by the page
  std::string console;       ///< console messages Chromium logged (GL driver performance notes left out)
  std::string viewers;       ///< data-viewer-selftest: JSON array of the viewers' verdicts ("" when not run)
  int exit_code = -1;        ///< Chromium's (124: killed by the timeout)
  std::string output;        ///< Chromium's whole output (for failure messages)
};

/// Opens a copy of `html` (same folder, so relative links work) at `fragment` (e.g. "#selftest")
/// in headless Chromium (--headless=new, WebGL2 through SwiftShader, --virtual-time-budget), killed
/// after `timeout_s` seconds, and reports what it saw.
BrowserCheck check_in_browser(const std::filesystem::path& html, const std::string& fragment = "",
                              int timeout_s = 180);

/// Writes a PNG screenshot of `html` (at `fragment`) of the given window size; returns Chromium's
/// exit status (0 when the file was written).
int screenshot_in_browser(const std::filesystem::path& html, const std::filesystem::path& png, int width, int height,
                          const std::string& fragment = "", int timeout_s = 180);

}  // namespace mprotonet::test
