// SPDX-License-Identifier: MIT
// Numeric option checks (see bounds.h).
#include "mprotonet/core/bounds.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"

namespace mprotonet::bounds {

namespace {

std::string show(double v) {
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text.substr(0, 60)) out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  return out + (text.size() > 60 ? "...\"" : "\"");
}

// "<name> is <value> (<why>); <expected>", or without a name (a command-line value, whose
// option CLI11 names) "<value> is <why>; <expected>".
[[noreturn]] void refuse(const std::string& name, const std::string& shown, const std::string& why,
                         const std::string& expected) {
  if (name.empty()) throw Error(shown + " is " + (why.empty() ? "out of range" : why) + "; " + expected);
  throw Error(name + " is " + shown + (why.empty() ? "" : " (" + why + ")") + "; " + expected);
}

std::string integer_range(int64_t lo, int64_t hi) {
  return "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
}

std::string number_range(double lo, double hi, bool lo_open) {
  return "expected a number " + std::string(lo_open ? "above " : "from ") + show(lo) + (lo_open ? " up to " : " to ") + show(hi);
}

}  // namespace

int64_t check_integer(int64_t v, const std::string& name, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) refuse(name, std::to_string(v), "", integer_range(lo, hi));
  return v;
}

double check_number(double v, const std::string& name, double lo, double hi, bool lo_open) {
  const bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!ok) refuse(name, show(v), std::isfinite(v) ? "" : "not a finite number", number_range(lo, hi, lo_open));
  return v;
}

int64_t parse_integer(const std::string& text, const std::string& name, int64_t lo, int64_t hi) {
  const char* s = text.c_str();
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s, &end, 10);
  const bool whole = !text.empty() && end == s + text.size() && text.find_first_of(" \t\n") == std::string::npos;
  if (!whole) {
    char* dend = nullptr;
    std::strtod(s, &dend);
    const bool number = !text.empty() && dend == s + text.size();
    refuse(name, quoted(text), number ? "not an integer" : "not a number", integer_range(lo, hi));
  }
  if (errno == ERANGE) refuse(name, quoted(text), "", integer_range(lo, hi));
  if (v < lo || v > hi) refuse(name, std::to_string(v), "", integer_range(lo, hi));
  return v;
}

double parse_number(const std::string& text, const std::string& name, double lo, double hi, bool lo_open) {
  const char* s = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (text.empty() || end != s + text.size() || text.find_first_of(" \t\n") != std::string::npos)
    refuse(name, quoted(text), "not a number", number_range(lo, hi, lo_open));
  if (!std::isfinite(v)) refuse(name, quoted(text), "not a finite number", number_range(lo, hi, lo_open));
  return check_number(v, name, lo, hi, lo_open);
}

int64_t json_integer(const nlohmann::json& v, const std::string& name, int64_t lo, int64_t hi) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      refuse(name, v.dump(), "", integer_range(lo, hi));
    return check_integer(v.get<int64_t>(), name, lo, hi);
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2.0 is an integer written with a point; 2.7 is not one, and 1e20 does not fit any range.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15)
      return check_integer(static_cast<int64_t>(d), name, lo, hi);
    refuse(name, v.dump(), std::isfinite(d) && d == std::floor(d) ? "" : "not an integer", integer_range(lo, hi));
  }
  refuse(name, v.dump(), std::string("a JSON ") + v.type_name(), integer_range(lo, hi));
}

double json_number(const nlohmann::json& v, const std::string& name, double lo, double hi, bool lo_open) {
  if (!v.is_number()) refuse(name, v.dump(), std::string("a JSON ") + v.type_name(), number_range(lo, hi, lo_open));
  return check_number(v.get<double>(), name, lo, hi, lo_open);
}

}  // namespace mprotonet::bounds
