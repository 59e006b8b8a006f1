// SPDX-License-Identifier: MIT
// Which Debian packages a binary needs at run time, found independently of CPack: the shared
// libraries its dynamic section names (readelf -d, NEEDED), where the loader finds them (ldd),
// and the package owning each file (dpkg -S). Used by tests/release (third-party notices) and
// tests/package (the .deb's Depends).
#pragma once

#include <filesystem>
#include <map>
#include <string>

namespace mprotonet::test {

/// soname -> owning Debian package for every NEEDED library of `binary`. Fails the current test
/// (ADD_FAILURE) for a library the loader cannot resolve or no package owns.
std::map<std::string, std::string> needed_library_packages(const std::filesystem::path& binary);

/// Empty when the libtorch.so that `binary` loads belongs to a Debian package (the default build,
/// Debian's LibTorch 1.13); otherwise the reason to skip the Debian-package checks, naming the
/// library (the LibTorch 2.x configuration, build-libtorch2: PyPI's wheel in a virtual environment).
std::string non_debian_libtorch(const std::filesystem::path& binary);

}  // namespace mprotonet::test
