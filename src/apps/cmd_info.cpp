// SPDX-License-Identifier: MIT
// `mprotonet info`: what this binary is (version, commit), its licence, how to cite it, and where
// it looks for its run-time data (core/resources.h); `--resource FILE` prints the path a data file
// resolves to, so scripts and the install test can see which copy of the data a binary reads.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "apps/commands.h"
#include "mprotonet/core/resources.h"
#include "mprotonet/core/version.h"

namespace mprotonet::cli {
namespace {

namespace fs = std::filesystem;

int print_info() {
  std::cout << "mprotonet " << version_line() << "\n"
            << "Licence: MIT; third-party notices in THIRD_PARTY.md (installed copies: <prefix>/share/doc/mprotonet/)\n"
            << "Cite: Wei Y., Tam R., Tang X. MProtoNet: A Case-Based Interpretable Model for Brain Tumor Classification\n"
            << "      with 3D Multi-parametric Magnetic Resonance Imaging. Medical Imaging with Deep Learning (MIDL 2023),\n"
            << "      PMLR 227:1798-1812; and this software with the version and commit above (CITATION.cff)\n"
            << "Data folders, searched in this order:\n";
  for (const fs::path& dir : resource_dirs()) {
    std::error_code ec;
    std::cout << "  " << dir.string() << (fs::is_directory(dir, ec) ? "" : "  (absent)") << "\n";
  }
  return 0;
}

CommandRegistration register_info("info", "Show the version, commit, licence, how to cite, and the data folders searched",
                                  [](CLI::App& sub) -> Action {
                                    auto resource = std::make_shared<std::string>();
                                    sub.add_option("--resource", *resource,
                                                   "print the path the data file FILE (relative to a data folder) "
                                                   "resolves to; an error when no data folder has it")
                                        ->type_name("FILE");
                                    return [resource] {
                                      if (resource->empty()) return print_info();
                                      std::cout << resource_path(*resource).string() << "\n";
                                      return 0;
                                    };
                                  });

}  // namespace
}  // namespace mprotonet::cli
