// SPDX-License-Identifier: MIT
// Synthetic cohort and tiny model configuration for the engine tests (see engine_fixture.h).
#include "engines/engine_fixture.h"

#include <cmath>
#include <fstream>

#include "mprotonet/data/brats.h"
#include "mprotonet/io/nifti.h"

namespace fs = std::filesystem;

namespace mprotonet::test {

void write_synthetic_cohort(const fs::path& root, const std::vector<int>& labels, uint32_t seed) {
  Affine a = identity_affine();
  a[0][0] = a[1][1] = a[2][2] = 4.0;
  const std::array<int64_t, 3> shape{48, 48, 36};
  std::string csv = "Grade,BraTS_2020_subject_ID\n";
  uint32_t state = seed * 2654435761u + 17u;
  auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<double>(state >> 8) / static_cast<double>(1u << 24);
  };
  for (size_t s = 0; s < labels.size(); ++s) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "S%03zu", s);
    const std::string id = buf;
    fs::create_directories(root / id);
    const double ci = 16 + 16 * next(), cj = 16 + 16 * next(), ck = 12 + 12 * next(), r = 4 + 2 * next();
    const bool hgg = labels[s] == 1;
    for (int m = 0; m < 5; ++m) {
      Volume v = make_volume(shape, a);
      for (int64_t i = 0; i < shape[0]; ++i)
        for (int64_t j = 0; j < shape[1]; ++j)
          for (int64_t k = 0; k < shape[2]; ++k) {
            const double bi = (i - 24) / 20.0, bj = (j - 24) / 22.0, bk = (k - 18) / 15.0;
            const bool brain = bi * bi + bj * bj + bk * bk < 1.0;
            const double d = std::sqrt((i - ci) * (i - ci) + (j - cj) * (j - cj) + (k - ck) * (k - ck));
            const bool tumour = brain && d < r;
            float val = 0.0f;
            if (m < 4 && brain) {
              val = static_cast<float>(100 + 20 * m + 15 * next() + 10 * std::sin(0.3 * i + 0.2 * j + m));
              if (tumour) {
                if (m == 1 && hgg) val += d < r - 1.5 ? 40.0f : 150.0f;  // enhancing rim, necrotic core
                if (m == 3) val += 80.0f;                               // FLAIR hyperintensity
                if (m == 2) val += 50.0f;
              }
            } else if (m == 4 && tumour) {
              val = hgg ? 4.0f : 2.0f;
            }
            v.at(i, j, k) = val;
          }
      const char* names[] = {"t1", "t1ce", "t2", "flair", "seg"};
      write_nifti(root / id / (id + "_" + names[m] + ".nii.gz"), v, m < 4 ? DataType::kInt16 : DataType::kUInt8);
    }
    csv += std::string(hgg ? "HGG" : "LGG") + "," + id + "\n";
  }
  std::ofstream(root / "name_mapping.csv") << csv;
}

PreprocessedCohort build_small_cohort(const fs::path& root, const fs::path& cache) {
  const Dataset ds = discover_brats(root);
  CohortOptions o;
  o.preprocess.spacing_mm = 6.0;
  o.cache_root = cache;
  o.threads = 2;
  return PreprocessedCohort::build(ds, o);
}

nets::ModelConfig tiny_config(const std::string& model_name, int64_t prototypes) {
  nets::ModelConfig c = nets::ModelConfig::paper(model_name == "CNN3D" ? -1 : model_name.back() - '0');
  c.model_name = model_name;
  c.features = "resnet18_ri";
  c.n_layers = 5;
  c.in_size = {4, 32, 32, 24};
  c.prototype_shape = {prototypes, 16, 1, 1, 1};
  nets::validate(c);
  return c;
}

}  // namespace mprotonet::test
