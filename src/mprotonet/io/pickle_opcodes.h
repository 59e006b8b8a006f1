// SPDX-License-Identifier: MIT
// Internal to io/pickle_reader.cpp: the names of pickle opcodes, for error messages.
#pragma once

#include <string>

namespace mprotonet::pickle {

/// Name of a pickle opcode as CPython's pickletools calls it ("BINUNICODE", ...), also for the
/// opcodes the reader refuses; "0x.." for a byte that is no opcode.
std::string opcode_name(unsigned char op);

}  // namespace mprotonet::pickle
