// SPDX-License-Identifier: MIT
// The project's one error type. It carries a message plus a stack of context lines
// ("while reading header of X"), innermost first, so a failure deep in a loader reaches the
// user as one readable chain (the MRtrix3 idea).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace mprotonet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);

  /// Adds an outer context line ("while loading subject BraTS20_Training_001").
  Error& add_context(const std::string& context);

  /// The innermost message without context.
  const std::string& message() const { return message_; }
  const std::vector<std::string>& context() const { return context_; }

  /// Full text: outer context first, then the message, joined with ": ".
  const char* what() const noexcept override { return full_.c_str(); }

 private:
  void rebuild();
  std::string message_;
  std::vector<std::string> context_;  // innermost first
  std::string full_;
};

/// Throws Error(message) when cond is false. For user-facing preconditions.
inline void check(bool cond, const std::string& message) {
  if (!cond) throw Error(message);
}

/// Runs fn; if it throws Error, prepends context and rethrows. Other std::exceptions are
/// wrapped into Error so callers see one type.
template <typename Fn>
auto with_context(const std::string& context, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (Error& e) {
    e.add_context(context);
    throw;
  } catch (const std::exception& e) {
    Error wrapped(e.what());
    wrapped.add_context(context);
    throw wrapped;
  }
}

}  // namespace mprotonet
