// SPDX-License-Identifier: MIT
// `mprotonet report DIR`: (re)generates DIR/report.html from an existing run folder or demo folder
// (runs/*) and prints where it is. The work is report/html.h write_report.
#include <iostream>
#include <memory>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "mprotonet/engines/report_builder.h"

namespace {

using namespace mprotonet;
using cli::integer_in;
using cli::number_in;

struct ReportCliOptions {
  std::string dir, data, cache;
  int cases = 4;
  int top = 3;
  int gallery_fold = 0;
  bool quiet = false;
};

cli::CommandRegistration register_report(
    "report", "write DIR/report.html (results, curves, prototypes, explained test cases) from a run or demo folder",
    [](CLI::App& sub) -> cli::Action {
      auto o = std::make_shared<ReportCliOptions>();
      sub.add_option("dir", o->dir,
                     "run folder (run.json, results.json, evaluation.json) or a folder with runs/<name>/ run folders")
          ->required();
      sub.add_option("--data", o->data, "dataset folder for the test cases (default: run.json's data_dir, else DIR/data)");
      sub.add_option("--cache", o->cache, "preprocessing cache root (default: the one recorded in run.json)");
      sub.add_option("--cases", o->cases, "test cases explained in the report, 0 = none (default 4)")
          ->check(integer_in(0, 50));
      sub.add_option("--top", o->top, "top prototypes per test case (default 3)")->check(integer_in(1, 50));
      sub.add_option("--gallery-fold", o->gallery_fold, "fold whose prototypes fill the gallery (default 0)")
          ->check(integer_in(0, bounds::kMaxFolds - 1));
      sub.add_flag("--quiet", o->quiet, "no progress lines");
      return [o] {
        ReportOptions r;
        r.dir = o->dir;
        r.data_dir = o->data;
        r.cache_dir = o->cache;
        r.cases = o->cases;
        r.top_prototypes = o->top;
        r.gallery_fold = o->gallery_fold;
        if (o->quiet) r.log = [](const std::string&) {};
        const auto path = write_report(r);
        std::cout << "report: " << path.string() << std::endl;
        return 0;
      };
    });

}  // namespace
