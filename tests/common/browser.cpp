// SPDX-License-Identifier: MIT
// Headless-Chromium page checks (see browser.h).
#include "common/browser.h"

#include <regex>
#include <sstream>
#include <utility>
#include <vector>

#include "common/test_util.h"
#include "mprotonet/core/fs.h"

namespace fs = std::filesystem;

namespace mprotonet::test {

namespace {

// WebGL2 in software: the viewers need it, and Chromium's automatic software fallback is
// deprecated (it logs a console warning and may disappear).
const char* kFlags =
    " --headless=new --no-sandbox --enable-unsafe-swiftshader --use-angle=swiftshader --disable-gpu-sandbox"
    " --allow-file-access-from-files --hide-scrollbars --mute-audio --no-first-run";

// Without the test processes' heap setting (GLIBC_TUNABLES mmap_max=0, tests/CMakeLists.txt):
// under it Chromium's GPU process cannot start SwiftShader and pages get no WebGL2.
std::string browser_command(const std::string& args, int timeout_s) {
  return "env -u GLIBC_TUNABLES timeout -k 10 " + std::to_string(timeout_s) + " " + shell_quote(chromium_path()) +
         kFlags + " " + args;
}

}  // namespace

std::string chromium_path() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"})
    if (fs::exists(p)) return p;
  return "";
}

BrowserCheck check_in_browser(const fs::path& html, const std::string& fragment, int timeout_s) {
  // The checking script goes first in <head>, so it sees every error event (including failed
  // resource loads, which do not bubble: capture phase) and console.error / console.warn calls;
  // after the load event it writes its findings into attributes of <html>, which --dump-dom prints.
  const std::string probe = R"JS(<script>
(function(){var errs=[];
window.addEventListener('error',function(e){var t=e.target;errs.push(t&&t!==window?('resource '+(t.src||t.href||t.tagName)):('error '+e.message));},true);
window.addEventListener('unhandledrejection',function(e){errs.push('rejection '+(e.reason&&e.reason.message?e.reason.message:String(e.reason)));});
['error','warn'].forEach(function(k){var f=console[k];console[k]=function(){errs.push(k+' '+Array.prototype.join.call(arguments,' '));f.apply(console,arguments);};});
var r=document.documentElement;
function report(){r.setAttribute('data-errors',JSON.stringify(errs));}
window.addEventListener('load',function(){var imgs=Array.prototype.slice.call(document.images);
var bad=imgs.filter(function(i){return !i.complete||i.naturalWidth===0;}).map(function(i){return i.getAttribute('src');});
r.setAttribute('data-images',String(imgs.length));r.setAttribute('data-broken',JSON.stringify(bad));report();});
new MutationObserver(function(){if(r.hasAttribute('data-viewer-selftest'))report();}).observe(r,{attributes:true,attributeFilter:['data-viewer-selftest']});})();
</script>)JS";
  std::string page = read_text_file(html);
  const auto head = page.find("<head>");
  page.insert(head == std::string::npos ? 0 : head + 6, probe);
  const fs::path copy = html.parent_path() / ".page_check.html";
  write_text_atomically(copy, page);
  const auto r = run_command(browser_command("--enable-logging=stderr --v=0 --virtual-time-budget=30000 --dump-dom " +
                                                 shell_quote("file://" + fs::absolute(copy).string() + fragment),
                                             timeout_s) +
                             " 2>&1");
  fs::remove(copy);
  BrowserCheck out;
  out.output = r.output;
  out.exit_code = r.exit_code;
  auto attr = [&](const std::string& name) {
    const std::regex re(name + "=\"([^\"]*)\"");
    std::smatch m;
    if (!std::regex_search(r.output, m, re)) return std::string();
    std::string v = m[1];
    // --dump-dom serialises attribute values with &quot; / &amp;.
    const std::vector<std::pair<std::string, std::string>> entities{{"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
    for (const auto& [from, to] : entities) {
      for (size_t p = v.find(from); p != std::string::npos; p = v.find(from, p + to.size())) v.replace(p, from.size(), to);
    }
    return v;
  };
  const std::string n = attr("data-images");
  out.images = n.empty() ? -1 : std::stoi(n);
  out.broken = attr("data-broken");
  out.errors = attr("data-errors");
  out.viewers = attr("data-viewer-selftest");
  std::string console;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);)
    // The pages log nothing themselves: any message is a problem, except the GL driver's
    // performance notes about reading pixels back (the viewers' self-test does that on purpose).
    if (line.find(":CONSOLE") != std::string::npos && line.find("GL Driver Message") == std::string::npos)
      console += line + "\n";
  out.console = console;
  return out;
}

int screenshot_in_browser(const fs::path& html, const fs::path& png, int width, int height, const std::string& fragment,
                          int timeout_s) {
  const auto r = run_command(browser_command("--window-size=" + std::to_string(width) + "," + std::to_string(height) +
                                                 " --virtual-time-budget=30000 --screenshot=" + shell_quote(png.string()) +
                                                 " " + shell_quote("file://" + fs::absolute(html).string() + fragment),
                                             timeout_s) +
                             " 2>&1");
  return r.exit_code == 0 && fs::exists(png) ? 0 : (r.exit_code == 0 ? 1 : r.exit_code);
}

}  // namespace mprotonet::test
