// SPDX-License-Identifier: MIT
// Error: message plus context chain.
#include "mprotonet/core/error.h"

namespace mprotonet {

Error::Error(const std::string& message) : std::runtime_error(message), message_(message) {
  rebuild();
}

Error& Error::add_context(const std::string& context) {
  context_.push_back(context);
  rebuild();
  return *this;
}

void Error::rebuild() {
  full_.clear();
  for (auto it = context_.rbegin(); it != context_.rend(); ++it) {
    full_ += *it;
    full_ += ": ";
  }
  full_ += message_;
}

}  // namespace mprotonet
