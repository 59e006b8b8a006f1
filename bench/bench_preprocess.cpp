// SPDX-License-Identifier: MIT
// Benchmark 3 of issue 6: preprocessing raw BraTS-geometry cases (4 modalities + segmentation,
// 240 x 240 x 155 int16 .nii.gz written by the synthetic generator) into network tensors (docs/method.md#preprocessing
// at 1.5 mm: 128 x 128 x 96), as `mprotonet preprocess` does it (PreprocessedCohort::build into a
// fresh cache, subjects in parallel), beside nibabel + PyTorch doing the same steps in one Python
// process (bench/preprocess_baseline.py), also with our heap setting (core/memory.h, through
// GLIBC_TUNABLES). Cases per second, all cores and one.
// Usage: bench_preprocess [--cases N] [--spacing MM] [--threads T] [--data BRATS_DIR] [--json OUT.json]
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench_common.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/data/synthetic.h"

using namespace mprotonet;
namespace fs = std::filesystem;

namespace {

// Seconds to preprocess every subject of `data` into a new cache with `threads` workers.
double cpp_seconds(const fs::path& data, double spacing, int threads, const fs::path& cache) {
  fs::remove_all(cache);
  CohortOptions o;
  o.preprocess.spacing_mm = spacing;
  o.cache_root = cache;
  o.threads = threads;
  const auto t = bench::Clock::now();
  auto cohort = PreprocessedCohort::build(discover_brats(data), o);
  const double s = bench::seconds_since(t);
  if (cohort.computed() != cohort.size()) throw std::runtime_error("some subjects came from a cache");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const bool heap_kept = mprotonet::keep_freed_memory_in_heap();  // as the CLI does (core/memory.h)
  int cases = 8, threads = 0;
  double spacing = 1.5;
  std::string data, json_out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--cases") cases = std::stoi(value());
    else if (a == "--spacing") spacing = std::stod(value());
    else if (a == "--threads") threads = std::stoi(value());
    else if (a == "--data") data = value();
    else if (a == "--json") json_out = value();
    else {
      std::cerr << "usage: bench_preprocess [--cases N] [--spacing MM] [--threads T] [--data BRATS_DIR] [--json OUT.json]\n";
      return 2;
    }
  }
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const fs::path work = fs::temp_directory_path() / ("mprotonet-bench-preprocess-" + std::to_string(getpid()));
  fs::create_directories(work);
  if (data.empty()) {
    SyntheticOptions so;
    so.cases = cases;
    so.hgg_fraction = 0.5;
    std::cerr << "writing " << cases << " synthetic BraTS-geometry cases (not timed)...\n";
    write_synthetic_cohort(work / "raw", so);
    data = (work / "raw").string();
  }
  const int n = static_cast<int>(discover_brats(data).subjects.size());
  const double all = cpp_seconds(data, spacing, threads, work / "cache");
  const double one = cpp_seconds(data, spacing, 1, work / "cache");
  const std::string py_cmd = bench::python_baseline("preprocess_baseline.py") + " --data " + bench::shell_quote(data) +
                             " --spacing " + std::to_string(spacing);
  auto py_all = bench::run_json(py_cmd + " --threads " + std::to_string(threads));
  auto py_one = bench::run_json(py_cmd + " --threads 1");
  auto py_all_heap = bench::run_json(bench::python_with_our_heap() + py_cmd + " --threads " + std::to_string(threads));
  fs::remove_all(work);

  std::printf("Preprocessing %d raw BraTS-geometry cases (4 x 240 x 240 x 155 int16 + seg, .nii.gz) at %.2f mm\n", n,
              spacing);
  bench::print_heap_setting(heap_kept);
  std::printf("%-22s %10s %10s %10s\n", "figure", "C++", "Python", "C++/Py");
  const double c_all = n / all, c_one = n / one;
  const double p_all = bench::field(py_all, "cases_per_s"), p_one = bench::field(py_one, "cases_per_s");
  std::printf("%-22s %10.3f %10.3f %10.2f\n", ("cases/s, " + std::to_string(threads) + " threads").c_str(), c_all, p_all,
              bench::ratio(c_all, p_all));
  std::printf("%-22s %10.3f %10.3f %10.2f\n", "cases/s, 1 thread", c_one, p_one, bench::ratio(c_one, p_one));
  const double p_heap = bench::field(py_all_heap, "cases_per_s");
  std::printf("%-22s %10s %10.3f %10.2f   (Python with our heap setting)\n",
              ("cases/s, " + std::to_string(threads) + " threads").c_str(), "", p_heap, bench::ratio(c_all, p_heap));
  if (!json_out.empty())
    std::ofstream(json_out) << nlohmann::json{{"cases", n},
                                              {"spacing_mm", spacing},
                                              {"threads", threads},
                                              {"cpp_cases_per_s", c_all},
                                              {"cpp_cases_per_s_1thread", c_one},
                                              {"py", py_all},
                                              {"py_1thread", py_one},
                                              {"py_our_heap", py_all_heap}}
                                   .dump(2)
                            << "\n";
  return 0;
}
