// SPDX-License-Identifier: MIT
// Progress lines of long work (training, evaluation, explanation, the report).
#pragma once

#include <functional>
#include <iostream>
#include <string>

namespace mprotonet {

/// Receives one progress line (without newline).
using ProgressLog = std::function<void(const std::string&)>;

/// `log` when set, otherwise a log that prints each line to stdout.
inline ProgressLog progress_or_stdout(const ProgressLog& log) {
  if (log) return log;
  return [](const std::string& line) { std::cout << line << std::endl; };
}

}  // namespace mprotonet
