// SPDX-License-Identifier: MIT
// `mprotonet merge RUN_DIR`: aggregates folds trained as separate jobs (`train --fold K`) into
// RUN_DIR/results.json and results.md.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/engines/cross_validation.h"
#include "mprotonet/engines/run_folder.h"

namespace mprotonet::cli {
namespace {

CommandRegistration register_merge("merge", "Aggregate the folds of a run folder into results.json and results.md",
                        [](CLI::App& sub) -> Action {
                          auto dir = std::make_shared<std::filesystem::path>();
                          sub.add_option("RUN_DIR", *dir, "run folder written by `mprotonet train`")
                              ->required()
                              ->check(CLI::ExistingDirectory);
                          return [dir] {
                            merge_run(*dir);
                            std::cout << read_text_file(RunFolder(*dir).results_md());
                            return 0;
                          };
                        });

}  // namespace
}  // namespace mprotonet::cli
