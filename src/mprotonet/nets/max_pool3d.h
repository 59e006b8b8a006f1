// SPDX-License-Identifier: MIT
// 3D max pooling with LibTorch's exact results, computed separably on the CPU.
// LibTorch 1.13's CPU max_pool3d visits every window element of every output through one serial
// compare chain, and has no bfloat16 kernel (autocast pools in float). A max over a k x k x k
// window is a max over w, then h, then d, and the first maximum in (d, h, w) order is found the
// same way, so outputs, argmax indices and gradients equal LibTorch's bit for bit, while each pass
// is vectorised across outputs: 1.6-2x faster than LibTorch's forward + backward on the stem's
// activation (bench/bench_maxpool.cpp), about 25 ms of a cpu-preset bf16 training step.
#pragma once

#include <cstdint>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace mprotonet::nets {

/// max_pool3d(x, kernel, stride, padding) with dilation 1 and ceil_mode false, on a 5D
/// [N, C, D, H, W] tensor, differentiable once. Equal to torch::max_pool3d in output and
/// gradient, including ties (the first maximum in d, h, w order takes the gradient) and NaN
/// (a window holding NaN gives NaN). CPU tensors of float, double or bfloat16 take the separable
/// kernel (inside a CPU autocast region a bfloat16 input is pooled in float, as autocast does);
/// other devices, and MPROTONET_MAXPOOL=torch, take LibTorch's. Error on a bad shape or option.
torch::Tensor max_pool3d(const torch::Tensor& x, int64_t kernel, int64_t stride, int64_t padding);

/// False when the environment sets MPROTONET_MAXPOOL=torch (LibTorch's own kernel, for
/// benchmarks and diagnosis); read once.
bool separable_max_pool_enabled();

/// Module form of max_pool3d, with no parameters, a drop-in for torch::nn::MaxPool3d.
class MaxPool3dImpl : public torch::nn::Cloneable<MaxPool3dImpl> {
 public:
  MaxPool3dImpl(int64_t kernel, int64_t stride, int64_t padding)
      : kernel_(kernel), stride_(stride), padding_(padding) {}
  void reset() override {}
  torch::Tensor forward(const torch::Tensor& x) { return max_pool3d(x, kernel_, stride_, padding_); }

 private:
  int64_t kernel_, stride_, padding_;
};
TORCH_MODULE(MaxPool3d);

}  // namespace mprotonet::nets
