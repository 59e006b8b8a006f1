// SPDX-License-Identifier: MIT
// The backbone stem's max pooling (k3 s2 p1): the separable kernel of nets/max_pool3d.h beside
// LibTorch's own max_pool3d (the kernel Debian's PyTorch runs for the authors' code), on the stem
// activation of each preset's training batch (64 channels after conv1 and ReLU: cpu
// 8 x 64 x 32 x 32 x 24, paper 2 x 64 x 64 x 64 x 48), forward alone and forward + backward,
// both in this process, one after the other, after three warm-up passes each. The results must
// be equal, and are checked.
// Usage: bench_maxpool [--runs R] [--presets cpu,paper] [--threads T] [--json OUT.json]
#include <cstdio>
#include <fstream>

#include "bench_common.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/nets/max_pool3d.h"

using namespace mprotonet;

namespace {

struct Figures {
  double forward_s = 0, step_s = 0;  ///< forward; forward + backward
};

/// Times `pool` (forward, then forward + backward with a fixed gradient) `runs` times, after
/// three warm-up passes. Nothing outlives a pass, so once the heap has settled every pass reuses
/// the blocks of the one before, as training steps do; before that, fresh pages cost this VM
/// about 13 us each to fault in (100+ ms for one 48 MB gradient).
template <typename Pool>
Figures time_pool(Pool&& pool, const torch::Tensor& x, const torch::Tensor& grad, int runs) {
  std::vector<double> forward, step;
  constexpr int kWarmUp = 3;
  for (int i = 0; i < kWarmUp + runs; ++i) {
    auto t = bench::Clock::now();
    {
      torch::NoGradGuard no_grad;
      pool(x);
    }
    const double f = bench::seconds_since(t);
    auto in = x.detach().requires_grad_(true);
    t = bench::Clock::now();
    pool(in).backward(grad);
    const double s = bench::seconds_since(t);
    if (i >= kWarmUp) {
      forward.push_back(f);
      step.push_back(s);
    }
  }
  return {bench::median(forward), bench::median(step)};
}

}  // namespace

int main(int argc, char** argv) {
  const bool heap_kept = mprotonet::keep_freed_memory_in_heap();  // as the CLI does (core/memory.h)
  auto args = bench::parse_args(argc, argv, "bench_maxpool [--runs R] [--presets cpu,paper] [--threads T] [--json OUT.json]");
  if (!args) return 2;
  if (args->runs < 1) args->runs = 1;
  const int threads = set_torch_threads(args->threads);
  std::printf("Stem max pooling (k3 s2 p1) on the ReLU'd stem activation, fp32, %d threads, median of %d\n", threads,
              args->runs);
  bench::print_heap_setting(heap_kept);
  std::printf("%-6s %-22s %-20s %12s %12s %8s\n", "preset", "input", "figure", "separable", "LibTorch", "ratio");
  nlohmann::json results = nlohmann::json::array();
  for (const auto& p : bench::presets()) {
    if (!args->wants(p)) continue;
    torch::manual_seed(0);
    const auto x = torch::relu(torch::randn({p.batch, 64, p.d / 2, p.h / 2, p.w / 2}));
    const auto grad = torch::randn({p.batch, 64, p.d / 4, p.h / 4, p.w / 4});
    const auto ours_pool = [](const torch::Tensor& v) { return nets::max_pool3d(v, 3, 2, 1); };
    const auto torch_pool = [](const torch::Tensor& v) { return torch::max_pool3d(v, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}); };
    const Figures ours = time_pool(ours_pool, x, grad, args->runs);
    const Figures theirs = time_pool(torch_pool, x, grad, args->runs);
    const auto input_grad = [&](const auto& pool) {
      auto in = x.detach().requires_grad_(true);
      pool(in).backward(grad);
      return in.grad();
    };
    const bool equal = torch::equal(ours_pool(x), torch_pool(x)) && torch::equal(input_grad(ours_pool), input_grad(torch_pool));
    const std::string input = std::to_string(p.batch) + " x 64 x " + std::to_string(p.d / 2) + " x " +
                              std::to_string(p.h / 2) + " x " + std::to_string(p.w / 2);
    std::printf("%-6s %-22s %-20s %12.4f %12.4f %8.2f\n", p.name.c_str(), input.c_str(), "forward s", ours.forward_s,
                theirs.forward_s, bench::ratio(theirs.forward_s, ours.forward_s));
    std::printf("%-6s %-22s %-20s %12.4f %12.4f %8.2f\n", p.name.c_str(), input.c_str(), "forward+backward s",
                ours.step_s, theirs.step_s, bench::ratio(theirs.step_s, ours.step_s));
    std::printf("%-6s results equal to LibTorch's (output and gradient): %s\n", p.name.c_str(), equal ? "yes" : "NO");
    results.push_back({{"preset", p.name},
                       {"separable_forward_s", ours.forward_s},
                       {"separable_forward_backward_s", ours.step_s},
                       {"libtorch_forward_s", theirs.forward_s},
                       {"libtorch_forward_backward_s", theirs.step_s},
                       {"equal", equal}});
    if (!equal) return 1;
  }
  if (!args->json_out.empty()) {
    std::ofstream(args->json_out) << nlohmann::json{{"threads", threads}, {"runs", args->runs}, {"presets", results}}.dump(2)
                                  << "\n";
  }
  return 0;
}
