// SPDX-License-Identifier: MIT
// Short text of foreign exceptions (see error_text.h).
#include "mprotonet/core/error_text.h"

#include <c10/util/Exception.h>

namespace mprotonet {

std::string brief_error_text(const std::exception& e, size_t max_chars) {
  const auto* c10e = dynamic_cast<const c10::Error*>(&e);
  std::string text = c10e != nullptr ? std::string(c10e->what_without_backtrace()) : std::string(e.what());
  // c10 appends "Exception raised from <function> at <file>:<line> ..." on a later line.
  const size_t nl = text.find_first_of("\r\n");
  if (nl != std::string::npos) text.resize(nl);
  const size_t raised = text.find("Exception raised from");
  if (raised != std::string::npos) text.resize(raised);
  while (!text.empty() && (text.back() == ' ' || text.back() == '.')) text.pop_back();
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (text.size() > max_chars) {
    size_t cut = text.rfind(' ', max_chars);
    if (cut == std::string::npos || cut < max_chars / 2) cut = max_chars;
    text = text.substr(0, cut) + " ...";
  }
  return text.empty() ? "unknown error" : text;
}

}  // namespace mprotonet
