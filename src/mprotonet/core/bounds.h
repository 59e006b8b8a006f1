// SPDX-License-Identifier: MIT
// Numeric options, checked the same way wherever they come from (the command line, a --config
// file, run.json): an integer must be an integer (2.7 is refused, not truncated to 2; 1e20 is
// refused, not wrapped to a negative number), every number must be finite and inside its range,
// and the message names the option, the value and the range. The ranges of the options every
// command shares are here too, so the commands (and `demo`) cannot drift apart.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace mprotonet::bounds {

// ---- ranges (inclusive) ----------------------------------------------------------------------
/// Joint epochs: the paper uses 100; beyond 10^5 a run would not end in a lifetime on a CPU.
inline constexpr int64_t kMaxEpochs = 100000;
/// Last-layer epochs after each push.
inline constexpr int64_t kMaxLastLayerEpochs = 10000;
/// Subjects per batch (training, evaluation, prediction).
inline constexpr int64_t kMaxBatchSize = 4096;
/// Learning rates: (0, kMaxLearningRate].
inline constexpr double kMaxLearningRate = 10.0;
/// Weight decay: [0, kMaxWeightDecay].
inline constexpr double kMaxWeightDecay = 100.0;
/// Torch threads and batch-preparing workers.
inline constexpr int64_t kMaxThreads = 1024;
inline constexpr int64_t kMaxWorkers = 256;
/// Cross-validation folds.
inline constexpr int64_t kMinFolds = 2, kMaxFolds = 1000;
/// Seeds are 32-bit (scikit-learn's random_state).
inline constexpr int64_t kMaxSeed = 4294967295;
/// Preprocessing voxel size in mm: at most the 192 mm field of view; the finest useful spacing is
/// bounded further by the voxel limit of the preprocessed grid (PreprocessOptions::output_shape).
inline constexpr double kMinSpacingMm = 0.1, kMaxSpacingMm = 192.0;

// ---- checks ----------------------------------------------------------------------------------
/// lo <= v <= hi, else Error "<name> is <v>; expected an integer from <lo> to <hi>".
int64_t check_integer(int64_t v, const std::string& name, int64_t lo, int64_t hi);
/// v finite and lo <= v <= hi (lo < v when lo_open), else Error naming name, v and the range.
double check_number(double v, const std::string& name, double lo, double hi, bool lo_open = false);

/// The whole string as a decimal integer in [lo, hi] ("2.7", "1e20", "3x", "" are refused).
int64_t parse_integer(const std::string& text, const std::string& name, int64_t lo, int64_t hi);
/// The whole string as a finite number in the range ("nan", "inf", "1e400" are refused).
double parse_number(const std::string& text, const std::string& name, double lo, double hi, bool lo_open = false);

/// A JSON value that must be a number with an integral value in [lo, hi] (true, "3", 2.7 and
/// 1e20 are refused).
int64_t json_integer(const nlohmann::json& v, const std::string& name, int64_t lo, int64_t hi);
/// A JSON number, finite, in the range.
double json_number(const nlohmann::json& v, const std::string& name, double lo, double hi, bool lo_open = false);

}  // namespace mprotonet::bounds
