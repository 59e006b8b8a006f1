// SPDX-License-Identifier: MIT
// Benchmark of the networks (issue 3): for MProtoNet3D_pm5 on resnet152_ri, n_layers 6, at the
// paper's input (4 x 128 x 128 x 96) and the CPU preset (4 x 64 x 64 x 48): evaluation forward
// time per case, training forward + backward time per batch of 2 and peak RSS, beside the same
// figures of Debian's PyTorch running the oracle model (bench/nets_baseline.py) in this run.
// Each preset runs in a child process of its own so peak RSS is per preset.
// Usage: bench_nets [--runs R] [--presets cpu,paper] [--json OUT.json]   (default: 3 runs, both presets)
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_common.h"
#include "mprotonet/nets/models.h"

using namespace mprotonet::nets;

namespace {

// Measures one preset in this process; prints a JSON line.
int measure(int64_t d, int64_t h, int64_t w, int runs) {
  torch::manual_seed(0);  // LibTorch seeds its default generator at random; the input must not vary
  ModelConfig c = ModelConfig::paper(5);
  c.in_size = {4, d, h, w};
  auto model = build_model(c, 0);
  auto x1 = torch::randn({1, 4, d, h, w});
  auto x2 = torch::randn({2, 4, d, h, w});
  auto target = torch::tensor({0, 1}, torch::kLong);

  model->eval();
  std::vector<double> ev, tr;
  {
    torch::NoGradGuard no_grad;
    model->forward(x1);  // warm-up
    for (int i = 0; i < runs; ++i) {
      const auto t = bench::Clock::now();
      model->forward(x1);
      ev.push_back(bench::seconds_since(t));
    }
  }
  model->train();
  for (int i = 0; i <= runs; ++i) {
    const auto t = bench::Clock::now();
    model->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(x2), target);
    loss.backward();
    if (i > 0) tr.push_back(bench::seconds_since(t));
  }
  nlohmann::json j{{"eval_forward_s", bench::median(ev)}, {"train_step_s", bench::median(tr)}, {"peak_rss_mb", bench::peak_rss_mb()}};
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool heap_kept = mprotonet::keep_freed_memory_in_heap();  // as the CLI does (core/memory.h)
  int runs = 3;
  std::string presets = "cpu,paper";
  std::string json_out;
  std::vector<int64_t> measure_size;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
    else if (a == "--presets" && i + 1 < argc) presets = argv[++i];
    else if (a == "--json" && i + 1 < argc) json_out = argv[++i];
    else if (a == "--measure" && i + 3 < argc) {
      for (int k = 0; k < 3; ++k) measure_size.push_back(std::stoll(argv[++i]));
    } else {
      std::cerr << "usage: bench_nets [--runs R] [--presets cpu,paper] [--json OUT.json]\n";
      return 2;
    }
  }
  if (!measure_size.empty()) return measure(measure_size[0], measure_size[1], measure_size[2], runs);

  std::printf("MProtoNet3D_pm5, resnet152_ri, n_layers 6, fp32, %d threads, median of %d runs\n",
              torch::get_num_threads(), runs);
  bench::print_heap_setting(heap_kept);
  std::printf("%-6s %-14s %12s %12s %10s\n", "preset", "figure", "C++", "Python", "C++/Py");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& p : bench::presets()) {  // the shared input sizes; this benchmark's batch is 2
    if (presets.find(p.name) == std::string::npos) continue;
    auto cpp = bench::run_json(bench::shell_quote(argv[0]) + " --runs " + std::to_string(runs) + " --measure " + p.size());
    auto py = bench::run_json(bench::python_baseline("nets_baseline.py") + " --runs " +
                       std::to_string(runs) + " --threads " + std::to_string(torch::get_num_threads()) +
                       " --size " + p.size());
    for (const char* key : {"eval_forward_s", "train_step_s", "peak_rss_mb"}) {
      const double a = cpp.is_object() ? cpp[key].get<double>() : -1, b = py.is_object() ? py[key].get<double>() : -1;
      std::printf("%-6s %-14s %12.3f %12.3f %10.3f\n", p.name.c_str(), key, a, b, b > 0 ? a / b : 0.0);
    }
    results.push_back({{"preset", p.name}, {"cpp", cpp}, {"py", py}});
  }
  if (!json_out.empty()) {
    std::ofstream(json_out) << nlohmann::json{{"threads", torch::get_num_threads()}, {"runs", runs}, {"presets", results}}.dump(2)
                            << "\n";
  }
  return 0;
}
