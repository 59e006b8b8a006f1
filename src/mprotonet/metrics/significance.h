// SPDX-License-Identifier: MIT
// Paired significance tests across folds (docs/method.md#metrics: the paper reports that MProtoNet's maps are
// significantly better): two-sided Wilcoxon signed-rank and paired t-test, matching
// scipy.stats.wilcoxon (zero_method "wilcox", no continuity correction, exact distribution when
// n <= 50 without zero differences (ties truncated as scipy 1.10 does), else the normal approximation with the tie correction) and
// scipy.stats.ttest_rel. With 5 folds the exact Wilcoxon test cannot go below p = 2 / 2^5 = 0.0625,
// so it can never reach 0.05, and the t-test has 4 degrees of freedom: little power either way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace mprotonet {

struct PairedTestResult {
  double statistic = 0.0;  ///< Wilcoxon: min(R+, R-); t-test: t of a - b
  double p_value = 0.0;    ///< two-sided; NaN when undefined (e.g. every difference zero)
  int64_t n = 0;           ///< pairs used (Wilcoxon: non-zero differences)
  bool exact = false;      ///< Wilcoxon: exact distribution used
};

/// Error when the sizes differ or fewer than 2 pairs are given.
PairedTestResult wilcoxon_signed_rank(const std::vector<double>& a, const std::vector<double>& b);
PairedTestResult paired_t_test(const std::vector<double>& a, const std::vector<double>& b);

/// Smallest two-sided p-value the exact Wilcoxon test can give for n pairs: 2 / 2^n.
double wilcoxon_min_p_value(int64_t n);

/// Regularised incomplete beta I_x(a, b) (continued fraction, Numerical Recipes 6.4).
double incomplete_beta(double a, double b, double x);
/// Two-sided p-value of Student's t with `df` degrees of freedom.
double student_t_two_sided_p(double t, double df);

/// {"n", "unit", "a_mean", "b_mean", "wilcoxon": {"statistic", "p_value", "n_nonzero", "exact"},
/// "t_test": {...}, "note"}: both tests; `unit` names what is paired ("folds": the note then
/// states the tests' low power for so few pairs; "subjects").
nlohmann::json paired_comparison_json(const std::vector<double>& a, const std::vector<double>& b,
                                      const std::string& unit = "folds");

}  // namespace mprotonet
