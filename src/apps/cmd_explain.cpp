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

struct ExplainCliOptions {
  std::string model, case_dir, out;
  std::string methods = "mprotonet,gradcam";
  double spacing = 0.0;
  PreprocessGrid grid = PreprocessGrid::kMillimetre;
  int64_t top = 5;
  int64_t occlusion_batch = 8;
};

cli::CommandRegistration register_explain(
    "explain", "explain one case: prediction, attribution maps as NIfTI and PNG, top prototypes",
    [](CLI::App& sub) -> cli::Action {
      auto o = std::make_shared<ExplainCliOptions>();
      sub.add_option("--model", o->model, "model file (from train or import)")->required();
      sub.add_option("--case", o->case_dir, "case folder with <id>_{t1,t1ce,t2,flair}.nii[.gz]")->required();
      sub.add_option("--out", o->out, "output folder (created)")->required();
      sub.add_option("--methods", o->methods,
                     "comma-separated: mprotonet, gradcam, guided-gradcam, deconvolution, occlusion "
                     "(default mprotonet,gradcam; mprotonet is skipped for CNN3D)");
      sub.add_option("--spacing", o->spacing,
                     "preprocessing voxel size in mm (default: from the model's input size, 192 mm / D)")
          ->check(number_in(0, bounds::kMaxSpacingMm));
      cli::add_preprocess_option(sub, &o->grid);
      sub.add_option("--top", o->top, "prototypes listed (default 5)")->check(integer_in(1, 100000));
      sub.add_option("--occlusion-batch", o->occlusion_batch, "occluded copies per forward (default 8)")
          ->check(integer_in(1, bounds::kMaxBatchSize));
      return [o] {
        ExplainOptions e;
        e.model_file = o->model;
        e.case_dir = o->case_dir;
        e.out_dir = o->out;
        e.methods = attribution::parse_map_methods(o->methods);
        e.spacing_mm = o->spacing;
        e.preprocess_grid = o->grid;
        e.top_prototypes = o->top;
        e.occlusion.batch_size = o->occlusion_batch;
        // The maps, panels and JSON appear together, only on success (core/fs.h).
        StagedOutputs outputs;
        outputs.create_directories(e.out_dir);
        explain_case(e);
        outputs.commit();
        return 0;
      };
    });

}  // namespace
