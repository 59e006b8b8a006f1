// SPDX-License-Identifier: MIT
// `mprotonet localization`: AP and DSC (docs/method.md#metrics) of given attribution maps against a
// segmentation, per sample and channel — to score maps from any tool.
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/option_bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/metrics/localization.h"

namespace {

namespace fs = std::filesystem;
using namespace mprotonet;
using cli::integer_in;
using cli::number_in;

struct LocalizationCliOptions {
  std::vector<std::string> maps;  ///< one .pt [N, C, D, H, W] or NIfTI files (one channel each)
  std::string seg;                ///< .pt [N, 1, D, H, W] or a NIfTI label volume
  std::string json;               ///< output JSON; empty = stdout
  double threshold = 0.5;
};

bool is_pt(const std::string& p) { return fs::path(p).extension() == ".pt"; }

torch::Tensor nifti_tensor(const std::string& path) {
  auto v = read_nifti(path);
  return torch::from_blob(v.data.data(), {v.shape[0], v.shape[1], v.shape[2]}, torch::kFloat).clone();
}

int run_localization(const LocalizationCliOptions& o) {
  torch::Tensor maps, seg;
  if (o.maps.size() == 1 && is_pt(o.maps[0])) {
    maps = with_context("while reading maps " + o.maps[0], [&] { return read_tensor_file(o.maps[0]); });
    check(maps.dim() == 5, o.maps[0] + ": maps have shape " + c10::str(maps.sizes()) + "; expected [N, C, D, H, W]");
  } else {
    // NIfTI files: the channels of one sample.
    std::vector<torch::Tensor> chans;
    for (const auto& p : o.maps) {
      check(!is_pt(p), "--maps mixes .pt and NIfTI files (" + p + "); give one .pt or NIfTI files only");
      chans.push_back(with_context("while reading map " + p, [&] { return nifti_tensor(p); }));
      check(chans.back().sizes() == chans.front().sizes(),
            p + ": shape " + c10::str(chans.back().sizes()) + " differs from " + o.maps[0] + "'s " +
                c10::str(chans.front().sizes()));
    }
    maps = torch::stack(chans).unsqueeze(0);
  }
  if (is_pt(o.seg)) {
    seg = with_context("while reading segmentation " + o.seg, [&] { return read_tensor_file(o.seg); });
  } else {
    seg = with_context("while reading segmentation " + o.seg, [&] { return nifti_tensor(o.seg); })
              .unsqueeze(0)
              .unsqueeze(0);
  }
  LocalizationOptions lo;
  lo.threshold = o.threshold;
  auto s = with_context("while scoring " + o.maps[0] + " against " + o.seg,
                        [&] { return localization_scores(maps.to(torch::kFloat), seg, lo); });
  nlohmann::json samples = nlohmann::json::array();
  for (int64_t n = 0; n < s.ap.size(0); ++n) {
    std::vector<double> ap, dsc;
    for (int64_t c = 0; c < s.ap.size(1); ++c) {
      ap.push_back(s.ap[n][c].item<double>());
      dsc.push_back(s.dsc[n][c].item<double>());
    }
    samples.push_back({{"sample", n}, {"ap", ap}, {"dsc", dsc},
                       {"ap_mean", s.ap[n].mean().item<double>()}, {"dsc_mean", s.dsc[n].mean().item<double>()}});
  }
  nlohmann::json out{{"threshold", o.threshold},
                     {"tumour_labels", lo.tumour_labels},
                     {"samples", samples},
                     {"ap", s.ap.mean().item<double>()},
                     {"dsc", s.dsc.mean().item<double>()}};
  if (o.json.empty()) {
    std::cout << out.dump(2) << "\n";
  } else {
    write_text_atomically(o.json, out.dump(2) + "\n");
    std::cout << "AP " << out["ap"].get<double>() << ", DSC " << out["dsc"].get<double>() << " over "
              << s.ap.size(0) << " sample(s); wrote " << o.json << "\n";
  }
  return 0;
}

cli::CommandRegistration register_localization(
    "localization", "AP and DSC of attribution maps against a tumour segmentation (per sample and channel)",
    [](CLI::App& sub) -> cli::Action {
      auto o = std::make_shared<LocalizationCliOptions>();
      sub.add_option("--maps", o->maps,
                     "maps: one .pt tensor [N, C, D, H, W] (torch.save), or NIfTI files = the channels of one sample")
          ->required();
      sub.add_option("--seg", o->seg, "segmentation: .pt [N, 1, D, H, W] or a NIfTI label volume (1, 2, 4 = tumour)")
          ->required();
      sub.add_option("--json", o->json, "output JSON (default: print to stdout)");
      sub.add_option("--threshold", o->threshold, "threshold on the min-max normalised map (default 0.5)")
          ->check(number_in(0.0, 1.0));
      return [o] { return run_localization(*o); };
    });

}  // namespace
