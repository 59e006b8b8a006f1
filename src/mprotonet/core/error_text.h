// SPDX-License-Identifier: MIT
// Short, single-line text of a foreign exception for a user-facing message. LibTorch's c10::Error
// carries a C++ stack trace in what() ("Exception raised from ... frame #0 ..."), which means
// nothing to a user and used to be cut mid-word; only its message is kept.
#pragma once

#include <exception>
#include <string>

namespace mprotonet {

/// The message of e without a stack trace: c10::Error's what_without_backtrace(), cut at the
/// first line break and at `max_chars` characters (cut at a word boundary, "..." appended),
/// control characters shown as '?'.
std::string brief_error_text(const std::exception& e, size_t max_chars = 240);

}  // namespace mprotonet
