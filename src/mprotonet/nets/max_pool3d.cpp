// SPDX-License-Identifier: MIT
// Separable 3D max pooling (see max_pool3d.h).
#include "mprotonet/nets/max_pool3d.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/nn/functional/pooling.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/torch_compat.h"

namespace mprotonet::nets {

namespace {

/// One spatial axis of the pooling: input size n, output size out, kernel k, stride s, padding p.
struct PoolAxis {
  int64_t n, out, k, s, p;

  /// First input position inside output o's window (the window start clipped to 0).
  int64_t first(int64_t o) const { return std::max<int64_t>(o * s - p, 0); }
  /// The outputs [begin, end) whose window offset kk falls inside the input.
  std::pair<int64_t, int64_t> outputs_reaching(int64_t kk) const {
    int64_t begin = 0, end = out;
    while (begin < end && begin * s - p + kk < 0) ++begin;
    while (end > begin && (end - 1) * s - p + kk >= n) --end;
    return {begin, end};
  }
};

/// LibTorch's rule for a running maximum: a larger value or a NaN replaces it, so the first
/// maximum in scan order wins and NaN propagates.
inline bool replaces_max(float candidate, float current) { return (candidate > current) | (candidate != candidate); }

/// Folds the candidates v[j * step], j < n, whose flat input indices are base + j * step, into
/// the running maxima m / mi (W pass: strided along the input row). Both folds load every operand
/// into a local and store unconditionally, which GCC vectorises; written as
/// `m[j] = r ? c : m[j]` it becomes a branch per element. Not inlined, so __restrict holds.
template <typename T>
__attribute__((noinline)) void fold_strided(float* __restrict m, int32_t* __restrict mi, const T* __restrict v,
                                            int64_t step, int32_t base, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float c = static_cast<float>(v[j * step]), current = m[j];
    const int32_t ic = base + static_cast<int32_t>(j * step), icurrent = mi[j];
    const bool r = replaces_max(c, current);
    m[j] = r ? c : current;
    mi[j] = r ? ic : icurrent;
  }
}

/// Folds the contiguous partial maxima cv / ci into m / mi (H and D passes).
__attribute__((noinline)) void fold_contiguous(float* __restrict m, int32_t* __restrict mi, const float* __restrict cv,
                                               const int32_t* __restrict ci, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float c = cv[j], current = m[j];
    const int32_t ic = ci[j], icurrent = mi[j];
    const bool r = replaces_max(c, current);
    m[j] = r ? c : current;
    mi[j] = r ? ic : icurrent;
  }
}

/// Pools `slices` contiguous D x H x W volumes: max over w (rows), then h (lines of the row
/// maxima), then d (planes), each pass scanning its window offsets in increasing order, which
/// finds the first maximum in (d, h, w) order as LibTorch's direct scan does. Indices are flat
/// within a slice.
template <typename T>
void pool_forward(const T* in, T* out, int32_t* idx, int64_t slices, const PoolAxis& ad, const PoolAxis& ah,
                  const PoolAxis& aw) {
  const int64_t rows = ad.n * ah.n, lines = ad.n * ah.out, plane = ah.out * aw.out;
  const int64_t in_slice = rows * aw.n, out_slice = ad.out * plane;
  const float lowest = -std::numeric_limits<float>::infinity();
  at::parallel_for(0, slices, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> m_w(rows * aw.out), m_h(lines * aw.out), m_d(out_slice);
    std::vector<int32_t> i_w(m_w.size()), i_h(m_h.size());
    for (int64_t sl = begin; sl < end; ++sl) {
      const T* x = in + sl * in_slice;
      int32_t* i_d = idx + sl * out_slice;
      // w: every row of W voxels -> aw.out row maxima.
      std::fill(m_w.begin(), m_w.end(), lowest);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < aw.out; ++o) i_w[r * aw.out + o] = static_cast<int32_t>(r * aw.n + aw.first(o));
      for (int64_t kk = 0; kk < aw.k; ++kk) {
        const auto [o0, o1] = aw.outputs_reaching(kk);
        const int64_t offset = o0 * aw.s - aw.p + kk;
        for (int64_t r = 0; r < rows; ++r)
          fold_strided(m_w.data() + r * aw.out + o0, i_w.data() + r * aw.out + o0, x + r * aw.n + offset, aw.s,
                       static_cast<int32_t>(r * aw.n + offset), o1 - o0);
      }
      // h: for each d, ah.out lines from the ah.n lines of row maxima.
      std::fill(m_h.begin(), m_h.end(), lowest);
      for (int64_t d = 0; d < ad.n; ++d)
        for (int64_t o = 0; o < ah.out; ++o)
          std::copy_n(i_w.data() + (d * ah.n + ah.first(o)) * aw.out, aw.out, i_h.data() + (d * ah.out + o) * aw.out);
      for (int64_t kk = 0; kk < ah.k; ++kk) {
        const auto [o0, o1] = ah.outputs_reaching(kk);
        for (int64_t d = 0; d < ad.n; ++d)
          for (int64_t o = o0; o < o1; ++o) {
            const int64_t src = (d * ah.n + o * ah.s - ah.p + kk) * aw.out, dst = (d * ah.out + o) * aw.out;
            fold_contiguous(m_h.data() + dst, i_h.data() + dst, m_w.data() + src, i_w.data() + src, aw.out);
          }
      }
      // d: ad.out planes from the ad.n planes of line maxima.
      std::fill(m_d.begin(), m_d.end(), lowest);
      for (int64_t o = 0; o < ad.out; ++o) std::copy_n(i_h.data() + ad.first(o) * plane, plane, i_d + o * plane);
      for (int64_t kk = 0; kk < ad.k; ++kk) {
        const auto [o0, o1] = ad.outputs_reaching(kk);
        for (int64_t o = o0; o < o1; ++o) {
          const int64_t src = (o * ad.s - ad.p + kk) * plane;
          fold_contiguous(m_d.data() + o * plane, i_d + o * plane, m_h.data() + src, i_h.data() + src, plane);
        }
      }
      std::transform(m_d.begin(), m_d.end(), out + sl * out_slice, [](float v) { return static_cast<T>(v); });
    }
  });
}

/// Gradient of the pooling: each output's gradient is added to its argmax, in output order
/// (LibTorch's order, so sums over overlapping windows round the same way).
template <typename T>
void pool_backward(const T* grad_out, const int32_t* idx, T* grad_in, int64_t slices, int64_t in_slice,
                   int64_t out_slice) {
  at::parallel_for(0, slices, 1, [&](int64_t begin, int64_t end) {
    for (int64_t sl = begin; sl < end; ++sl) {
      T* gi = grad_in + sl * in_slice;
      std::fill(gi, gi + in_slice, T(0));
      const T* go = grad_out + sl * out_slice;
      const int32_t* ix = idx + sl * out_slice;
      for (int64_t o = 0; o < out_slice; ++o) gi[ix[o]] += go[o];
    }
  });
}

PoolAxis pool_axis(const torch::Tensor& x, int64_t dim, int64_t kernel, int64_t stride, int64_t padding) {
  const int64_t n = x.size(dim);
  return {n, (n + 2 * padding - kernel) / stride + 1, kernel, stride, padding};
}

class SeparableMaxPool3d : public torch::autograd::Function<SeparableMaxPool3d> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& input, int64_t kernel,
                               int64_t stride, int64_t padding) {
    const torch::Tensor x = input.contiguous();
    const PoolAxis ad = pool_axis(x, 2, kernel, stride, padding), ah = pool_axis(x, 3, kernel, stride, padding),
                   aw = pool_axis(x, 4, kernel, stride, padding);
    auto out = torch::empty({x.size(0), x.size(1), ad.out, ah.out, aw.out}, x.options());
    auto idx = torch::empty(out.sizes(), x.options().dtype(torch::kInt));
    const int64_t slices = x.size(0) * x.size(1);
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, x.scalar_type(), "separable_max_pool3d", [&] {
      pool_forward<scalar_t>(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), idx.data_ptr<int32_t>(), slices, ad, ah,
                             aw);
    });
    ctx->save_for_backward({idx});
    ctx->saved_data["input_sizes"] = x.sizes().vec();
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    check(!torch::GradMode::is_enabled(),
          "max_pool3d: second derivatives are not implemented by the separable kernel; set MPROTONET_MAXPOOL=torch "
          "to use LibTorch's");
    const torch::Tensor idx = ctx->get_saved_variables()[0];
    const std::vector<int64_t> sizes = ctx->saved_data["input_sizes"].toIntVector();
    const torch::Tensor g = grads[0].contiguous();
    auto grad_in = torch::empty(sizes, g.options());
    const int64_t slices = sizes[0] * sizes[1];
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, g.scalar_type(), "separable_max_pool3d_backward", [&] {
      pool_backward<scalar_t>(g.data_ptr<scalar_t>(), idx.data_ptr<int32_t>(), grad_in.data_ptr<scalar_t>(), slices,
                              sizes[2] * sizes[3] * sizes[4], idx.numel() / std::max<int64_t>(slices, 1));
    });
    return {grad_in, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

void check_pool_arguments(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  check(x.dim() == 5, "max_pool3d: input has " + std::to_string(x.dim()) + " dimensions; expected 5 (N, C, D, H, W)");
  check(kernel >= 1 && stride >= 1 && padding >= 0 && 2 * padding <= kernel,
        "max_pool3d: kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) + ", padding " +
            std::to_string(padding) + "; expected kernel >= 1, stride >= 1 and 0 <= padding <= kernel / 2");
  for (int64_t dim = 2; dim < 5; ++dim)
    check(x.size(dim) + 2 * padding >= kernel,
          "max_pool3d: spatial size " + std::to_string(x.size(dim)) + " plus padding is smaller than the kernel " +
              std::to_string(kernel));
}

}  // namespace

bool separable_max_pool_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("MPROTONET_MAXPOOL");
    return !(v && std::string(v) == "torch");
  }();
  return enabled;
}

torch::Tensor max_pool3d(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding) {
  check_pool_arguments(x, kernel, stride, padding);
  const auto type = x.scalar_type();
  const bool separable = separable_max_pool_enabled() && x.is_cpu() &&
                         (type == at::kFloat || type == at::kDouble || type == at::kBFloat16) &&
                         x.size(2) * x.size(3) * x.size(4) <= std::numeric_limits<int32_t>::max();
  if (!separable) {
    return torch::nn::functional::max_pool3d(
        x, torch::nn::functional::MaxPool3dFuncOptions(kernel).stride(stride).padding(padding));
  }
  // CPU autocast pools reduced-precision inputs in float; do the same, so the numbers match.
  const torch::Tensor in = type == at::kBFloat16 && compat::cpu_autocast_enabled() ? x.to(at::kFloat) : x;
  return SeparableMaxPool3d::apply(in, kernel, stride, padding);
}

}  // namespace mprotonet::nets
