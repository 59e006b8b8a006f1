// SPDX-License-Identifier: MIT
// `mprotonet explain`: prediction, attribution maps (NIfTI on the case's grid), PNG panels and
// the top prototypes of one case folder (docs/method.md#explanations). The work is engines/explain.h explain_case.
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "apps/preprocess_option.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/engines/explain.h"

namespace {

using namespace mprotonet;
using cli::integer_in;
using cli::number_in;

// Bound to ExplainOptions (the help shows its defaults); the method list is parsed here.
struct ExplainCliOptions {
  ExplainOptions e;
  std::string methods;
};

cli::CommandRegistration register_explain(
    "explain", "explain one case: prediction, attribution maps as NIfTI and PNG, top prototypes",
    [](CLI::App& sub) -> cli::Action {
      auto o = std::make_shared<ExplainCliOptions>();
      ExplainOptions& e = o->e;
      o->methods = attribution::map_method_list(e.methods);
      sub.add_option("--model", e.model_file, "model file (from train or import)")->required();
      sub.add_option("--case", e.case_dir, "case folder with <id>_{t1,t1ce,t2,flair}.nii[.gz]")->required();
      sub.add_option("--out", e.out_dir, "output folder (created)")->required();
      sub.add_option("--methods", o->methods,
                     cli::with_default("comma-separated: mprotonet, gradcam, guided-gradcam, deconvolution, occlusion; "
                                       "mprotonet is skipped for CNN3D",
                                       o->methods));
      sub.add_option("--spacing", e.spacing_mm,
                     "preprocessing voxel size in mm (default: from the model's input size, 192 mm / D)")
          ->check(number_in(0, bounds::kMaxSpacingMm));
      cli::add_preprocess_option(sub, &e.preprocess_grid);
      sub.add_option("--top", e.top_prototypes, cli::with_default("prototypes listed", e.top_prototypes))
          ->check(integer_in(1, 100000));
      sub.add_option("--occlusion-batch", e.occlusion.batch_size,
                     cli::with_default("occluded copies per forward", e.occlusion.batch_size))
          ->check(integer_in(1, bounds::kMaxBatchSize));
      return [o] {
        ExplainOptions e = o->e;
        e.methods = attribution::parse_map_methods(o->methods);
        // The maps, panels and JSON appear together, only on success (core/fs.h).
        StagedOutputs outputs;
        outputs.create_directories(e.out_dir);
        explain_case(e);
        outputs.commit();
        return 0;
      };
    });

}  // namespace
