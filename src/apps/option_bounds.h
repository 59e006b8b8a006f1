// SPDX-License-Identifier: MIT
// CLI11 validators over core/bounds.h, for every numeric option of every command: the text is
// checked whole before CLI11 converts it, so "2.7" is not read as 2, "nan" is refused, and the
// message says the option, the value and the range ("--epochs: is 99999999999; expected an
// integer from 1 to 100000"). Bad values are usage errors (exit status 2).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "mprotonet/core/bounds.h"
#include "mprotonet/core/error.h"

namespace mprotonet::cli {

/// An integer option in [lo, hi].
inline CLI::Validator integer_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        try {
          bounds::parse_integer(text, "", lo, hi);
        } catch (const Error& e) {
          return e.message();
        }
        return "";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

/// A finite number option in [lo, hi] ((lo, hi] when lo_open).
inline CLI::Validator number_in(double lo, double hi, bool lo_open = false) {
  return CLI::Validator(
      [lo, hi, lo_open](std::string& text) -> std::string {
        try {
          bounds::parse_number(text, "", lo, hi, lo_open);
        } catch (const Error& e) {
          return e.message();
        }
        return "";
      },
      std::string("NUMBER in ") + (lo_open ? "(" : "[") + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]");
}

}  // namespace mprotonet::cli
