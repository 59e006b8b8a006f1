// SPDX-License-Identifier: MIT
// Benchmark 2 of issue 6: one case -> probabilities, + the MProtoNet map, + GradCAM, with
// MProtoNet3D_pm5 (resnet152_ri, n_layers 6) in evaluation mode, at the CPU preset
// (4 x 64 x 64 x 48) and the paper's input (4 x 128 x 128 x 96), as `mprotonet predict` computes
// them (attribution::predict_and_explain: one backbone pass for all outputs), beside Debian's
// PyTorch doing the same with the oracle model one call per output (bench/infer_baseline.py), with
// glibc's heap defaults and with our heap setting (core/memory.h, through GLIBC_TUNABLES).
// Usage: bench_infer [--runs R] [--presets cpu,paper] [--threads T] [--json OUT.json]
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_common.h"
#include "mprotonet/attribution/attribution.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/nets/inference.h"

using namespace mprotonet;
using attribution::MapMethod;

namespace {

int measure(const bench::Preset& p, int runs) {
  nets::ModelConfig c = nets::ModelConfig::paper(5);
  c.in_size = {4, p.d, p.h, p.w};
  auto model = nets::build_model(c, 0);
  torch::manual_seed(0);  // LibTorch seeds its default generator at random; the input must not vary
  auto x = torch::randn({1, 4, p.d, p.h, p.w});
  const std::vector<std::vector<MapMethod>> levels = {{}, {MapMethod::MProtoNet}, {MapMethod::MProtoNet, MapMethod::GradCAM}};
  auto run = [&](size_t level) {
    if (level == 0) nets::predict(*model, x);
    else attribution::predict_and_explain(*model, x, levels[level]);
  };
  run(2);  // warm-up
  nlohmann::json j;
  const char* keys[] = {"probabilities_s", "mprotonet_s", "gradcam_s"};
  for (size_t level = 0; level < 3; ++level) {
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
      const auto t = bench::Clock::now();
      run(level);
      times.push_back(bench::seconds_since(t));
    }
    j[keys[level]] = bench::median(times);
  }
  j["peak_rss_mb"] = bench::peak_rss_mb();
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool heap_kept = mprotonet::keep_freed_memory_in_heap();  // as the CLI does (core/memory.h)
  const auto args = bench::parse_args(argc, argv, "bench_infer [--runs R] [--presets cpu,paper] [--threads T] [--json OUT.json]", 1);
  if (!args) return 2;
  const int runs = args->runs, threads = set_torch_threads(args->threads);
  if (!args->measure.empty()) {
    const auto p = args->measured_preset();
    return p ? measure(*p, runs) : 2;
  }
  std::printf("Inference of one case, MProtoNet3D_pm5 (resnet152_ri, n_layers 6), fp32, %d threads on both sides, "
              "median of %d runs\n", threads, runs);
  bench::print_heap_setting(heap_kept);
  std::printf("%-6s %-26s %10s %10s %10s %14s\n", "preset", "figure", "C++", "Python", "Py/C++", "Py, our heap");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& p : bench::presets()) {
    if (!args->wants(p)) continue;
    const std::string common = bench::child_args(bench::Args{runs, threads});
    const std::string py = bench::python_baseline("infer_baseline.py") + common + " --size " + p.size();
    nlohmann::json fig{{"preset", p.name},
                       {"cpp", bench::run_json(bench::shell_quote(argv[0]) + common + " --measure " + p.name)},
                       {"py", bench::run_json(py)},
                       {"py_our_heap", bench::run_json(bench::python_with_our_heap() + py)}};
    const std::pair<const char*, const char*> rows[] = {{"probabilities_s", "probabilities, s"},
                                                         {"mprotonet_s", "+ MProtoNet map, s"},
                                                         {"gradcam_s", "+ MProtoNet + GradCAM, s"},
                                                         {"peak_rss_mb", "peak RSS, MB"}};
    for (const auto& [key, label] : rows) {
      const double c = bench::field(fig["cpp"], key), py_default = bench::field(fig["py"], key);
      std::printf("%-6s %-26s %10.3f %10.3f %10.2f %14.3f\n", p.name.c_str(), label, c, py_default,
                  bench::ratio(py_default, c), bench::field(fig["py_our_heap"], key));
    }
    results.push_back(fig);
  }
  if (!args->json_out.empty())
    std::ofstream(args->json_out) << nlohmann::json{{"threads", threads}, {"runs", runs}, {"presets", results}}.dump(2) << "\n";
  return 0;
}
