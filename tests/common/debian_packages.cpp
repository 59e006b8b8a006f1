// SPDX-License-Identifier: MIT
// See debian_packages.h.
#include "common/debian_packages.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "common/test_util.h"

namespace fs = std::filesystem;

namespace mprotonet::test {

std::map<std::string, std::string> needed_library_packages(const fs::path& binary) {
  std::map<std::string, std::string> out;
  const std::string bin = shell_quote(binary.string());
  const auto needed = run_command("readelf -d " + bin + " | sed -n 's/.*(NEEDED).*\\[\\(.*\\)\\]/\\1/p'");
  const auto ldd = run_command("ldd " + bin);
  if (needed.exit_code != 0 || ldd.exit_code != 0) {
    ADD_FAILURE() << "readelf/ldd failed on " << binary << ":\n" << needed.output << ldd.output;
    return out;
  }
  std::istringstream names(needed.output);
  for (std::string soname; std::getline(names, soname);) {
    if (soname.empty()) continue;
    const std::regex line_re("\\s" + std::regex_replace(soname, std::regex("[.+]"), "\\$&") + " => (\\S+)");
    std::smatch m;
    if (!std::regex_search(ldd.output, m, line_re)) {
      ADD_FAILURE() << soname << " is not resolved by the loader:\n" << ldd.output;
      continue;
    }
    // Debian 12 registers some libraries under /lib, others under /usr/lib: ask for both names.
    const std::string path = m[1].str();
    std::error_code ec;
    const fs::path real = fs::canonical(path, ec);
    const auto owner = run_command("dpkg -S " + shell_quote(ec ? path : real.string()) + " 2>/dev/null || dpkg -S " +
                                   shell_quote(path) + " 2>&1");
    if (owner.exit_code != 0) {
      ADD_FAILURE() << soname << " (" << path << ") belongs to no Debian package: " << owner.output;
      continue;
    }
    out[soname] = owner.output.substr(0, owner.output.find(':'));
  }
  return out;
}

std::string non_debian_libtorch(const fs::path& binary) {
  const auto ldd = run_command("ldd " + shell_quote(binary.string()));
  std::smatch m;
  if (ldd.exit_code != 0 || !std::regex_search(ldd.output, m, std::regex("\\slibtorch\\.so\\S* => (\\S+)")))
    return {};  // let the checks themselves report it
  const std::string path = m[1].str();
  if (run_command("dpkg -S " + shell_quote(path) + " >/dev/null 2>&1").exit_code == 0) return {};
  std::error_code ec;
  const fs::path real = fs::canonical(path, ec);
  if (!ec && run_command("dpkg -S " + shell_quote(real.string()) + " >/dev/null 2>&1").exit_code == 0) return {};
  return "the CLI loads " + path +
         ", a LibTorch no Debian package owns (the LibTorch 2.x configuration, scripts/build-libtorch2.sh); the "
         "Debian package and its Depends are made from Debian's LibTorch 1.13 build only";
}

}  // namespace mprotonet::test
