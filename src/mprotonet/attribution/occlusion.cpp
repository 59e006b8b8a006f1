// SPDX-License-Identifier: MIT
// Batched occlusion (docs/method.md#explanations).
#include "mprotonet/attribution/occlusion.h"

#include <vector>

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/core/error.h"

namespace mprotonet::attribution {

namespace {

struct Window {
  int64_t channel;
  std::array<int64_t, 3> begin;
  std::array<int64_t, 3> end;

  /// The window's view of a [C, D, H, W] volume. Built with select/narrow, not TensorIndex:
  /// LibTorch 1.13's TensorIndex copies an uninitialised bool (UBSan "invalid value for type
  /// 'bool'" under scripts/sanitize.sh).
  torch::Tensor of(const torch::Tensor& volume) const {
    auto v = volume.select(0, channel);
    for (int64_t a = 0; a < 3; ++a) v = v.narrow(a, begin[a], end[a] - begin[a]);
    return v;
  }
};

void check_options(const OcclusionOptions& o) {
  check(o.window >= 1, "occlusion window = " + std::to_string(o.window) + " voxels; expected >= 1");
  check(o.stride >= 1, "occlusion stride = " + std::to_string(o.stride) + " voxels; expected >= 1");
  check(o.batch_size >= 1, "occlusion batch size = " + std::to_string(o.batch_size) + "; expected >= 1");
}

}  // namespace

int64_t occlusion_positions(int64_t size, const OcclusionOptions& options) {
  check_options(options);
  const int64_t w = std::min(options.window, size);
  return (size - w + options.stride - 1) / options.stride + 1;
}

int64_t occlusion_forward_count(const std::array<int64_t, 4>& s, const OcclusionOptions& options) {
  return 1 + s[0] * occlusion_positions(s[1], options) * occlusion_positions(s[2], options) *
                 occlusion_positions(s[3], options);
}

torch::Tensor occlusion(nets::ClassifierImpl& model, const torch::Tensor& input, const torch::Tensor& target,
                        const OcclusionOptions& options) {
  check_options(options);
  check(input.dim() == 5, "occlusion input has shape " + c10::str(input.sizes()) + "; expected [N, C, D, H, W]");
  check(target.dim() == 1 && target.size(0) == input.size(0) && !target.is_floating_point(),
        "occlusion target has shape " + c10::str(target.sizes()) + "; expected one class index per sample");
  const EvalModeGuard eval_mode(model);
  torch::NoGradGuard no_grad;

  const std::array<int64_t, 4> shape{input.size(1), input.size(2), input.size(3), input.size(4)};
  std::vector<Window> windows;
  {
    std::array<int64_t, 3> n{};
    for (int a = 0; a < 3; ++a) n[a] = occlusion_positions(shape[a + 1], options);
    for (int64_t c = 0; c < shape[0]; ++c)
      for (int64_t i = 0; i < n[0]; ++i)
        for (int64_t j = 0; j < n[1]; ++j)
          for (int64_t k = 0; k < n[2]; ++k) {
            Window w{c, {i * options.stride, j * options.stride, k * options.stride}, {}};
            for (int a = 0; a < 3; ++a) w.end[a] = std::min(w.begin[a] + options.window, shape[a + 1]);
            windows.push_back(w);
          }
  }
  const int64_t per_sample = static_cast<int64_t>(windows.size()) + 1;
  const int64_t total = per_sample * input.size(0);
  int64_t done = 0;

  auto out = torch::zeros(input.sizes(), input.options().dtype(torch::kFloat));
  using torch::indexing::Slice;
  for (int64_t n = 0; n < input.size(0); ++n) {
    auto sample = input[n].unsqueeze(0);
    const int64_t t = target[n].item<int64_t>();
    const double base = model.forward(sample).index({0, t}).item<double>();
    ++done;
    auto sum = torch::zeros(shape, out.options());
    auto count = torch::zeros(shape, out.options());
    for (size_t w0 = 0; w0 < windows.size(); w0 += static_cast<size_t>(options.batch_size)) {
      const size_t w1 = std::min(windows.size(), w0 + static_cast<size_t>(options.batch_size));
      auto batch = sample.expand({static_cast<int64_t>(w1 - w0), shape[0], shape[1], shape[2], shape[3]}).clone();
      for (size_t w = w0; w < w1; ++w) {
        const auto& win = windows[w];
        win.of(batch[static_cast<int64_t>(w - w0)]).fill_(options.baseline);
      }
      auto logits = model.forward(batch).index({Slice(), t}).to(torch::kFloat).cpu();
      auto acc = logits.accessor<float, 1>();
      for (size_t w = w0; w < w1; ++w) {
        const auto& win = windows[w];
        win.of(sum).add_(base - acc[static_cast<int64_t>(w - w0)]);
        win.of(count).add_(1.0);
      }
      done += static_cast<int64_t>(w1 - w0);
      if (options.progress) options.progress(done, total);
    }
    out[n].copy_(sum / count.clamp_min(1.0));
  }
  return out;
}

}  // namespace mprotonet::attribution
