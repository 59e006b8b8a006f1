// SPDX-License-Identifier: MIT
// Base64 (RFC 4648, standard alphabet with '=' padding): how small binary payloads travel inside
// JSON (prototype pictures in a push record) and inside HTML (data: URIs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mprotonet {

std::string base64_encode(const uint8_t* data, size_t size);
std::string base64_encode(const std::vector<uint8_t>& data);

/// Decodes standard base64 (padding required when the length is not a multiple of 4); Error
/// naming the offending character or length otherwise. `what` names the payload in messages.
std::vector<uint8_t> base64_decode(const std::string& text, const std::string& what = "base64 text");

}  // namespace mprotonet
