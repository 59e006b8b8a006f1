// SPDX-License-Identifier: MIT
// Entry point of the `mprotonet` CLI: builds the subcommands from the registry, parses, runs,
// and turns every error into a message and a non-zero exit code (never a crash).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <map>

#include "apps/commands.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/memory.h"
#include "mprotonet/core/version.h"

namespace mprotonet::cli {

std::vector<CommandSpec>& registry() {
  static std::vector<CommandSpec> commands;
  return commands;
}

CommandRegistration::CommandRegistration(std::string name, std::string description, Setup setup) {
  registry().push_back({std::move(name), std::move(description), std::move(setup)});
}

}  // namespace mprotonet::cli

int main(int argc, char** argv) {
  using namespace mprotonet::cli;
  mprotonet::keep_freed_memory_in_heap();  // before any tensor: 2-3x faster training steps (core/memory.h)
  CLI::App app{"MProtoNet: interpretable 3D CNN for glioma grading from multi-parametric MRI\n"
               "(Wei, Tam, Tang, MIDL 2023), in C++ on LibTorch."};
  // "mprotonet 0.1.0 (commit <hash>)": the first line is what help2man puts into the man page.
  app.set_version_flag("--version", "mprotonet " + mprotonet::version_line());
  // Every subcommand's options at once (one process: the man page is written from it).
  app.set_help_all_flag("--help-all", "Print the help of every subcommand and exit");
  app.require_subcommand(1);

  auto& specs = registry();
  std::sort(specs.begin(), specs.end(), [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; });
  std::map<CLI::App*, Action> actions;
  for (auto& spec : specs) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    actions[sub] = spec.setup(*sub);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  try {
    for (auto& [sub, action] : actions)
      if (sub->parsed()) return action();
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "mprotonet: error: " << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << "mprotonet: error: unknown failure\n";
    return 1;
  }
}
