// SPDX-License-Identifier: MIT
// Benchmark 1 of issue 6: one joint-epoch training step of MProtoNet3D_pm5 (resnet152_ri,
// n_layers 6) with every loss term (focal, cluster, separation, mapping, online-CAM) and the
// AdamW update, exactly as the trainer runs it (engines/train_step.h), at fp32 and bf16, beside
// Debian's PyTorch running the same step of the oracle model (bench/train_baseline.py) at fp32
// and under bf16 autocast, in the same run and with the same thread count; the Python step is
// also measured with our heap setting (core/memory.h, through GLIBC_TUNABLES), to show how much of
// the ratio is the heap.
// Presets: cpu = 4 x 64 x 64 x 48, batch 8; paper = 4 x 128 x 128 x 96, batch 2.
// Every figure is measured in a child process of its own (peak RSS per figure).
// Usage: bench_train [--runs R] [--rounds N] [--presets cpu,paper] [--threads T] [--json OUT.json]
#include <fstream>
#include <iostream>
#include <sstream>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "bench_common.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/engines/train_step.h"
#include "mprotonet/losses/focal.h"

using namespace mprotonet;

namespace {

int measure(const bench::Preset& p, const std::string& precision, int runs) {
  torch::manual_seed(0);  // LibTorch seeds its default generator at random; the input must not vary
  nets::ModelConfig c = nets::ModelConfig::paper(5);
  c.in_size = {4, p.d, p.h, p.w};
  auto model = nets::build_model(c, 0);
  auto x = torch::randn({p.batch, 4, p.d, p.h, p.w});
  auto y = torch::arange(p.batch, torch::kLong).remainder(2);
  auto w = class_balanced_weights(std::vector<int64_t>{32, 48});
  TrainOptions o;
  auto opt = make_joint_optimizer(*model, o);
  set_trainable(*model, StepKind::kJoint);
  model->train();
  const LossOptions loss = LossOptions::for_p_mode(5);
  const Precision prec = parse_precision(precision);
  std::vector<double> times, forward, backward, update;
  double first = 0.0;
  for (int i = 0; i <= runs; ++i) {  // the first step warms up
    const auto t = bench::Clock::now();
    Rng rng = Rng::derive(0, {static_cast<uint64_t>(i)});
    opt->zero_grad();
    auto obj = batch_objective(*model, StepKind::kJoint, x, y, w, loss, rng, prec, torch::kCPU);
    const double t_forward = bench::seconds_since(t);
    obj.terms.total.backward();
    const double t_backward = bench::seconds_since(t);
    opt->step();
    if (i == 0) first = obj.terms.total.item<double>();
    if (i > 0) {
      times.push_back(bench::seconds_since(t));
      forward.push_back(t_forward);
      backward.push_back(t_backward - t_forward);
      update.push_back(times.back() - t_backward);
    }
  }
  if (const char* trace = std::getenv("MPROTONET_BENCH_TRACE")) {
    // Two more steps, profiled; the second overwrites the first's trace. The profiler's own
    // allocations grow the heap in the first, whose kernels then run on fresh pages.
    for (int pass = 0; pass < 2; ++pass) {
      torch::autograd::profiler::RecordProfile guard(trace);
      Rng rng = Rng::derive(0, {0});
      opt->zero_grad();
      batch_objective(*model, StepKind::kJoint, x, y, w, loss, rng, prec, torch::kCPU).terms.total.backward();
      opt->step();
    }
  }
  std::cout << nlohmann::json{{"step_s", bench::median(times)},
                              {"forward_loss_s", bench::median(forward)},
                              {"backward_s", bench::median(backward)},
                              {"optimizer_s", bench::median(update)},
                              {"loss", first},
                              {"peak_rss_mb", bench::peak_rss_mb()}}
                   .dump()
            << std::endl;
  return 0;
}

/// The median over rounds of one figure (`key` of child `who`), -1 when no round has it.
double median_over_rounds(const nlohmann::json& rounds, const std::string& who, const char* key) {
  std::vector<double> v;
  for (const auto& r : rounds)
    if (bench::field(r[who], key) > 0) v.push_back(bench::field(r[who], key));
  return v.empty() ? -1.0 : bench::median(v);
}

}  // namespace

int main(int argc, char** argv) {
  const bool heap_kept = mprotonet::keep_freed_memory_in_heap();  // as the CLI does (core/memory.h)
  // --rounds N (default 1) repeats every figure N times, the children of one round one after the
  // other, and reports medians over rounds: the ratio to Python then holds on a noisy VM.
  int rounds = 1;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]) == "--rounds" && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else rest.push_back(argv[i]);
  }
  const auto args = bench::parse_args(static_cast<int>(rest.size()), rest.data(),
                                      "bench_train [--runs R] [--rounds N] [--presets cpu,paper] [--threads T] [--json OUT.json]", 2);
  if (!args) return 2;
  const int runs = args->runs, threads = set_torch_threads(args->threads);
  if (!args->measure.empty()) {
    const auto p = args->measured_preset();
    return p ? measure(*p, args->measure[1], runs) : 2;
  }
  std::printf("Training step, MProtoNet3D_pm5 (resnet152_ri, n_layers 6), all loss terms + AdamW, "
              "%d threads on both sides, median of %d steps%s\n", threads, runs,
              rounds > 1 ? (", then the median over " + std::to_string(rounds) + " rounds").c_str() : "");
  bench::print_heap_setting(heap_kept);
  nlohmann::json results = nlohmann::json::array();
  for (const auto& p : bench::presets()) {
    if (!args->wants(p)) continue;
    const std::string common = bench::child_args(bench::Args{runs, threads});
    nlohmann::json all_rounds = nlohmann::json::array();
    for (int r = 0; r < rounds; ++r) {
      nlohmann::json fig;
      for (const std::string prec : {"fp32", "bf16"}) {
        fig["cpp_" + prec] = bench::run_json(bench::shell_quote(argv[0]) + common + " --measure " + p.name + " " + prec);
        const std::string py = bench::python_baseline("train_baseline.py") + common + " --size " + p.size() +
                               " --batch " + std::to_string(p.batch) + " --precision " + prec;
        fig["py_" + prec] = bench::run_json(py);
        fig["py_our_heap_" + prec] = bench::run_json(bench::python_with_our_heap() + py);
      }
      fig["ratio_bf16_to_py_fp32"] = bench::ratio(bench::field(fig["py_fp32"], "step_s"), bench::field(fig["cpp_bf16"], "step_s"));
      if (rounds > 1)
        std::printf("%-6s round %d/%d: C++ bf16 %.3f s, Python fp32 %.3f s: %.2fx\n", p.name.c_str(), r + 1, rounds,
                    bench::field(fig["cpp_bf16"], "step_s"), bench::field(fig["py_fp32"], "step_s"),
                    fig["ratio_bf16_to_py_fp32"].get<double>());
      all_rounds.push_back(fig);
    }
    // Medians over rounds, per figure (a single round: its own figures).
    nlohmann::json fig;
    for (const char* who : {"cpp_fp32", "cpp_bf16", "py_fp32", "py_bf16", "py_our_heap_fp32", "py_our_heap_bf16"})
      for (const char* key : {"step_s", "peak_rss_mb"}) fig[who][key] = median_over_rounds(all_rounds, who, key);
    std::vector<double> ratios;
    for (const auto& r : all_rounds) ratios.push_back(r["ratio_bf16_to_py_fp32"].get<double>());
    const double ratio_bf16 = bench::median(ratios);
    std::printf("%-6s %-22s %10s %10s %12s\n", "preset", "figure", "C++", "Python", "Py fp32/C++");
    const double py32 = bench::field(fig["py_fp32"], "step_s");
    for (const std::string prec : {"fp32", "bf16"}) {
      const double c = bench::field(fig["cpp_" + prec], "step_s"), py = bench::field(fig["py_" + prec], "step_s");
      std::printf("%-6s %-22s %10.3f %10.3f %12.2f\n", p.name.c_str(), ("step s, " + prec).c_str(), c, py,
                  bench::ratio(py32, c));
      std::printf("%-6s %-22s %10s %10.3f   (Python with our heap setting)\n", p.name.c_str(), ("step s, " + prec).c_str(),
                  "", bench::field(fig["py_our_heap_" + prec], "step_s"));
      std::printf("%-6s %-22s %10.0f %10.0f\n", p.name.c_str(), ("peak RSS MB, " + prec).c_str(),
                  bench::field(fig["cpp_" + prec], "peak_rss_mb"), bench::field(fig["py_" + prec], "peak_rss_mb"));
    }
    std::printf("%-6s bf16: C++ is %.2fx Python fp32 (target >= 2.5%s), %.2fx Python bf16 (target >= 1)\n",
                p.name.c_str(), ratio_bf16, rounds > 1 ? "; median of the rounds' ratios" : "",
                bench::ratio(bench::field(fig["py_bf16"], "step_s"), bench::field(fig["cpp_bf16"], "step_s")));
    fig["preset"] = p.name;
    fig["batch"] = p.batch;
    fig["ratio_bf16_to_py_fp32"] = ratio_bf16;
    fig["rounds"] = all_rounds;
    results.push_back(fig);
  }
  if (!args->json_out.empty()) {
    std::ofstream(args->json_out) << nlohmann::json{{"threads", threads}, {"runs", runs}, {"rounds", rounds}, {"presets", results}}.dump(2) << "\n";
  }
  return 0;
}
