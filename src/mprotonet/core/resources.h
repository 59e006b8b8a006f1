// SPDX-License-Identifier: MIT
// Where the tool finds the data files it needs at run time (the anatomy the synthetic cohort is
// built on, vendored viewer code): one lookup, so a build folder, an installed copy and a
// relocated tree all find the same files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace mprotonet {

/// The folders searched for run-time data, in order:
///  1. $MPROTONET_DATA_DIR, when set (must exist; an Error otherwise);
///  2. <folder of the running executable>/../share/mprotonet (an installed copy);
///  3. the source tree's resources/ and third_party/ folders (the latter holds the vendored
///     viewer, niivue/, which an installation puts beside the data in share/mprotonet/), only
///     for an executable inside the build folder it
///     was built in (the CLI, tests and benchmarks run from there): an installed or copied
///     binary never reads the source tree, so a missing installed file is an error, not a
///     silent fallback to files that may differ or vanish.
std::vector<std::filesystem::path> resource_dirs();

/// The first existing `dir / relative` over resource_dirs(). Error naming the file and every
/// folder searched when none has it.
std::filesystem::path resource_path(const std::string& relative);

}  // namespace mprotonet
