// SPDX-License-Identifier: MIT
// Benchmark 4 of issue 6: evaluation cost per case with MProtoNet3D_pm5 (resnet152_ri,
// n_layers 6): the deletion + addition curves (2 x 51 perturbed inputs, docs/method.md#metrics) as the evaluator
// runs them (metrics/faithfulness.h: batched), beside the same 102 forwards one by one in C++ and
// in Debian's PyTorch (the oracle model, bench/eval_baseline.py); and occlusion (window 11,
// stride 5), estimated from its forward count and the batched forward time.
// The maps are the model's own MProtoNet map and GradCAM of the case (two kinds of map).
// Usage: bench_eval [--runs R] [--presets cpu,paper] [--threads T] [--json OUT.json]
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_common.h"
#include "mprotonet/attribution/attribution.h"
#include "mprotonet/attribution/occlusion.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/metrics/faithfulness.h"

using namespace mprotonet;
using attribution::MapMethod;

namespace {

int measure(const bench::Preset& p, int runs) {
  nets::ModelConfig c = nets::ModelConfig::paper(5);
  c.in_size = {4, p.d, p.h, p.w};
  auto model = nets::build_model(c, 0);
  torch::manual_seed(0);  // LibTorch seeds its default generator at random; the input must not vary
  auto x = torch::randn({1, 4, p.d, p.h, p.w});
  auto e = attribution::predict_and_explain(*model, x, {MapMethod::MProtoNet, MapMethod::GradCAM});
  nlohmann::json j;
  const char* map_names[] = {"mprotonet", "gradcam"};
  for (size_t m = 0; m < 2; ++m) {
    for (int64_t batch : {int64_t{1}, int64_t{17}}) {
      FaithfulnessOptions fo;
      fo.batch_size = batch;
      std::vector<double> times;
      for (int i = 0; i < runs; ++i) {
        const auto t = bench::Clock::now();
        perturbation_predictions(*model, x, e.maps[m], fo);
        times.push_back(bench::seconds_since(t));
      }
      j[std::string("curves_") + map_names[m] + (batch == 1 ? "_one_by_one_s" : "_batched_s")] = bench::median(times);
    }
  }
  {
    // Occlusion needs thousands of forwards (5185 here, 45001 at the paper's input): time the
    // forward of one batch of occluded copies and multiply (printed as an estimate).
    torch::NoGradGuard no_grad;
    model->eval();
    const attribution::OcclusionOptions oo;
    auto xb = x.expand({oo.batch_size, 4, p.d, p.h, p.w}).contiguous();
    model->forward(xb);
    std::vector<double> times;
    for (int i = 0; i < runs; ++i) {
      const auto t = bench::Clock::now();
      model->forward(xb);
      times.push_back(bench::seconds_since(t) / static_cast<double>(oo.batch_size));
    }
    j["occlusion_forwards"] = attribution::occlusion_forward_count({4, p.d, p.h, p.w}, oo);
    j["occlusion_estimated_s"] = bench::median(times) * j["occlusion_forwards"].get<double>();
  }
  j["peak_rss_mb"] = bench::peak_rss_mb();
  std::cout << j.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bool heap_kept = mprotonet::keep_freed_memory_in_heap();  // as the CLI does (core/memory.h)
  const auto args = bench::parse_args(argc, argv, "bench_eval [--runs R] [--presets cpu,paper] [--threads T] [--json OUT.json]", 1);
  if (!args) return 2;
  const int runs = args->runs, threads = set_torch_threads(args->threads);
  if (!args->measure.empty()) {
    const auto p = args->measured_preset();
    return p ? measure(*p, runs) : 2;
  }
  std::printf("Evaluation cost per case, MProtoNet3D_pm5 (resnet152_ri, n_layers 6), fp32, %d threads on both sides, "
              "median of %d runs\n", threads, runs);
  bench::print_heap_setting(heap_kept);
  std::printf("%-6s %-40s %10s %10s\n", "preset", "figure", "C++", "Python");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& p : bench::presets()) {
    if (!args->wants(p)) continue;
    const std::string common = bench::child_args(bench::Args{runs, threads});
    nlohmann::json fig{{"preset", p.name},
                       {"cpp", bench::run_json(bench::shell_quote(argv[0]) + common + " --measure " + p.name)},
                       {"py", bench::run_json(bench::python_baseline("eval_baseline.py") + common + " --size " + p.size())}};
    const auto& cpp = fig["cpp"];
    const double py = bench::field(fig["py"], "curves_one_by_one_s");
    for (const char* m : {"mprotonet", "gradcam"}) {
      const std::string k = std::string("curves_") + m;
      const double one = bench::field(cpp, (k + "_one_by_one_s").c_str()), bat = bench::field(cpp, (k + "_batched_s").c_str());
      std::printf("%-6s %-40s %10.3f %10.3f\n", p.name.c_str(), ("curves, " + std::string(m) + " map, one by one, s").c_str(),
                  one, py);
      std::printf("%-6s %-40s %10.3f\n", p.name.c_str(), ("curves, " + std::string(m) + " map, batches of 17, s").c_str(), bat);
      std::printf("%-6s   batches of 17 / one by one: C++ %.2f, Python %.2f (target <= 0.33)\n", p.name.c_str(),
                  bench::ratio(bat, one), bench::ratio(bat, py));
    }
    if (cpp.is_object() && cpp.contains("occlusion_estimated_s"))
      std::printf("%-6s %-40s %10.0f   (estimated: %lld forwards x batched forward time)\n", p.name.c_str(),
                  "occlusion, s", cpp["occlusion_estimated_s"].get<double>(),
                  static_cast<long long>(cpp["occlusion_forwards"].get<int64_t>()));
    results.push_back(fig);
  }
  if (!args->json_out.empty())
    std::ofstream(args->json_out) << nlohmann::json{{"threads", threads}, {"runs", runs}, {"presets", results}}.dump(2) << "\n";
  return 0;
}
