// SPDX-License-Identifier: MIT
// Resource bounds found by the hostile corpus: a model configuration may not ask for an absurd
// network (it used to be accepted: model-info printed a 10^27-voxel input), and a NIfTI header
// asking for 100 GB is refused from the header alone, naming the limit.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "common/resource_probe.h"
#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/nets/model_config.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {

std::string config_error(nlohmann::json j) {
  try {
    nets::model_config_from_json(j, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Limits, ModelConfigRefusesAbsurdSizes) {
  const nlohmann::json tiny = {{"model_name", "MProtoNet3D_pm5"}, {"in_size", {4, 16, 16, 16}}, {"out_size", 2},
                               {"features", "resnet18_ri"}, {"n_layers", 2}, {"prototype_shape", {4, 128, 1, 1, 1}}};
  EXPECT_EQ(config_error(tiny), "");
  auto j = tiny;
  j["in_size"] = {4, 1000000000, 1000000000, 1000000000};
  EXPECT_NE(config_error(j).find("in_size[1] = 1000000000 is too large"), std::string::npos) << config_error(j);
  j["in_size"] = {4, 4096, 4096, 4096};  // each axis allowed, the product is not
  EXPECT_NE(config_error(j).find("voxels per channel"), std::string::npos) << config_error(j);
  j["in_size"] = {100000, 16, 16, 16};
  EXPECT_NE(config_error(j).find("in_size[0] (channels)"), std::string::npos) << config_error(j);
  j = tiny;
  j["prototype_shape"] = {4000000, 128, 1, 1, 1};
  EXPECT_NE(config_error(j).find("prototype_shape"), std::string::npos) << config_error(j);
  j = tiny;
  j["out_size"] = 10000000;
  EXPECT_NE(config_error(j).find("out_size"), std::string::npos) << config_error(j);
  EXPECT_NE(config_error(j).find("cfg.json"), std::string::npos) << config_error(j);
}

TEST(Limits, HundredGigabyteNiftiHeaderIsRefusedByItsSize) {
  // The corpus file: 5000 x 5000 x 1000 float32 in a 1 kB file.
  for (const char* f : {"bad/nifti/nifti_huge_100GB/nifti_huge_100GB_t1.nii",
                        "bad/nifti/nifti_huge_100GB_gz/nifti_huge_100GB_gz_t1.nii.gz"}) {
    const test::ResourceProbe probe;
    std::string msg;
    try {
      read_nifti(test::data_path(f));
    } catch (const Error& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("the header asks for 25000000000 voxels (100000000000 bytes on disk, 100 GB as float32), more "
                       "than the limit of 268435456 voxels"), std::string::npos) << msg;
    // Refused from the header alone: nothing allocated, nothing read beyond the header.
    EXPECT_LT(probe.peak_rss_growth(), int64_t{64} << 20) << "memory was allocated before the size was checked";
    EXPECT_LT(probe.bytes_read(), int64_t{1} << 20);
  }
}

}  // namespace
}  // namespace mprotonet
