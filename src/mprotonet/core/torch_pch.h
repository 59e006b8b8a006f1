// SPDX-License-Identifier: MIT
// Precompiled header for the torch-using targets: <torch/torch.h> dominates compile time on
// two cores, so it is parsed once per target.
#pragma once
#include <torch/torch.h>
