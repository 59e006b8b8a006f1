// SPDX-License-Identifier: MIT
// Wilcoxon signed-rank and paired t-test (docs/method.md#metrics), written to agree with scipy.stats.
#include "mprotonet/metrics/significance.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/text.h"

namespace mprotonet {

namespace {


std::vector<double> differences(const std::vector<double>& a, const std::vector<double>& b, const char* test) {
  check(a.size() == b.size(), std::string(test) + ": the paired samples have " + std::to_string(a.size()) +
                                  " and " + std::to_string(b.size()) + " values; expected equal sizes");
  check(a.size() >= 2, std::string(test) + ": " + std::to_string(a.size()) + " pairs; expected at least 2");
  std::vector<double> d(a.size());
  for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
  return d;
}

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double beta_cf(double a, double b, double x) {
  const int kMaxIter = 300;
  const double kEps = 1e-15, kTiny = 1e-300;
  double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
  if (std::abs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= kMaxIter; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::abs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::abs(del - 1) < kEps) break;
  }
  return h;
}


double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

}  // namespace

double incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const double front =
      std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t)) return kNaN;
  if (std::isinf(t)) return 0.0;
  return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

double wilcoxon_min_p_value(int64_t n) { return std::min(1.0, 2.0 / std::pow(2.0, static_cast<double>(n))); }

PairedTestResult wilcoxon_signed_rank(const std::vector<double>& a, const std::vector<double>& b) {
  auto all = differences(a, b, "Wilcoxon signed-rank test");
  std::vector<double> d;
  for (double v : all)
    if (v != 0) d.push_back(v);
  const bool had_zeros = d.size() != all.size();
  PairedTestResult r;
  r.n = static_cast<int64_t>(d.size());
  if (d.empty()) {
    r.statistic = r.p_value = kNaN;
    return r;
  }
  // Average ranks of |d|.
  std::vector<size_t> order(d.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t i, size_t j) { return std::abs(d[i]) < std::abs(d[j]); });
  std::vector<double> rank(d.size());
  double tie_term = 0;  // sum of t^3 - t over tie groups
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && std::abs(d[order[j + 1]]) == std::abs(d[order[i]])) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = avg;
    const double t = static_cast<double>(j - i + 1);
    tie_term += t * t * t - t;
    i = j + 1;
  }
  double r_plus = 0, r_minus = 0;
  for (size_t i = 0; i < d.size(); ++i) (d[i] > 0 ? r_plus : r_minus) += rank[i];
  r.statistic = std::min(r_plus, r_minus);
  const int64_t n = r.n;
  if (static_cast<int64_t>(all.size()) <= 50 && !had_zeros) {
    // Exact null distribution of R+ (ranks 1..n, each sign with probability 1/2). As scipy does,
    // tied (half-integer) rank sums are truncated to an integer first.
    const int64_t max_sum = n * (n + 1) / 2;
    std::vector<double> count(static_cast<size_t>(max_sum + 1), 0.0);
    count[0] = 1;
    for (int64_t k = 1; k <= n; ++k)
      for (int64_t s = max_sum; s >= k; --s) count[static_cast<size_t>(s)] += count[static_cast<size_t>(s - k)];
    const double total = std::pow(2.0, static_cast<double>(n));
    const auto rp = static_cast<int64_t>(r_plus);
    double less = 0, greater = 0;
    for (int64_t s = 0; s <= max_sum; ++s) {
      if (s <= rp) less += count[static_cast<size_t>(s)];
      if (s >= rp) greater += count[static_cast<size_t>(s)];
    }
    r.p_value = rp == max_sum / 2 ? 1.0 : std::clamp(2.0 * std::min(less, greater) / total, 0.0, 1.0);
    r.exact = true;
    return r;
  }
  const double nd = static_cast<double>(n);
  const double mn = nd * (nd + 1) / 4;
  const double se = std::sqrt(nd * (nd + 1) * (2 * nd + 1) / 24 - tie_term / 48);
  const double z = (r.statistic - mn) / se;
  r.p_value = 2 * normal_sf(std::abs(z));
  return r;
}

PairedTestResult paired_t_test(const std::vector<double>& a, const std::vector<double>& b) {
  auto d = differences(a, b, "paired t-test");
  PairedTestResult r;
  r.n = static_cast<int64_t>(d.size());
  const double m = mean(d);
  double ss = 0;
  for (double v : d) ss += (v - m) * (v - m);
  const double sd = std::sqrt(ss / static_cast<double>(d.size() - 1));
  const double se = sd / std::sqrt(static_cast<double>(d.size()));
  if (se == 0) {
    r.statistic = m == 0 ? kNaN : std::copysign(std::numeric_limits<double>::infinity(), m);
  } else {
    r.statistic = m / se;
  }
  r.p_value = student_t_two_sided_p(r.statistic, static_cast<double>(d.size() - 1));
  return r;
}

nlohmann::json paired_comparison_json(const std::vector<double>& a, const std::vector<double>& b,
                                      const std::string& unit) {
  auto w = wilcoxon_signed_rank(a, b);
  auto t = paired_t_test(a, b);
  const auto n = static_cast<int64_t>(a.size());
  std::string note = "paired over " + std::to_string(n) + " " + unit;
  if (unit == "folds")
    note += ": little power; the exact two-sided Wilcoxon p-value cannot go below " +
            std::to_string(wilcoxon_min_p_value(n)) + " and the t-test has " + std::to_string(n - 1) +
            " degrees of freedom";
  return {{"n", n},
          {"unit", unit},
          {"a_mean", json_number(mean(a))},
          {"b_mean", json_number(mean(b))},
          {"wilcoxon",
           {{"statistic", json_number(w.statistic)},
            {"p_value", json_number(w.p_value)},
            {"n_nonzero", w.n},
            {"exact", w.exact}}},
          {"t_test", {{"statistic", json_number(t.statistic)}, {"p_value", json_number(t.p_value)}}},
          {"note", note}};
}

}  // namespace mprotonet
