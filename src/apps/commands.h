// SPDX-License-Identifier: MIT
// Subcommand registry of the `mprotonet` CLI. Each cmd_<name>.cpp defines one subcommand with
// a static CommandRegistration: a setup function that declares its options on the CLI11
// subcommand and returns the action to run after parsing. The CLI only parses, fills options
// structs and calls the library.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace mprotonet::cli {

/// Runs the parsed command; returns the process exit code (0 = success).
using Action = std::function<int()>;

/// Declares options on `sub` (which already has name and description) and returns the action.
using Setup = std::function<Action(CLI::App& sub)>;

struct CommandSpec {
  std::string name;
  std::string description;
  Setup setup;
};

/// All registered subcommands, sorted by name.
std::vector<CommandSpec>& registry();

struct CommandRegistration {
  CommandRegistration(std::string name, std::string description, Setup setup);
};

/// `help` followed by " (default V)", V the value of the option's field when it is declared: an
/// option bound to a field of the library's options struct shows the library's default, which is
/// then written in one place.
template <typename T>
std::string with_default(const std::string& help, const T& value) {
  std::ostringstream s;
  s << value;
  return help + " (default " + s.str() + ")";
}

}  // namespace mprotonet::cli
