// SPDX-License-Identifier: MIT
// Inputs that used to give a confident wrong answer or a misleading message (issue 19): model
// files are checked for integrity (CRC-32 of every record) and for non-finite weights, NaN
// inputs and non-finite logits are errors (never a class), a NaN/Inf affine is named as such,
// a NIfTI header's size is bounded before anything is inflated, grade tables in UTF-16 or with
// extra columns are refused clearly, a stray run.json is not reported as an empty run, LibTorch's
// stack traces stay out of messages, and the cache never falls back to a shared /tmp folder.
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/resource_probe.h"
#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/brats.h"
#include "mprotonet/data/cohort.h"
#include "mprotonet/io/nifti.h"
#include "mprotonet/io/state_dict.h"
#include "mprotonet/io/zip_archive.h"
#include "mprotonet/nets/model_file.h"
#include "mprotonet/nets/models.h"
#include "robustness/fault_util.h"

namespace fs = std::filesystem;

namespace mprotonet {
namespace {



uint16_t le16(const std::string& b, size_t at) {
  return static_cast<uint16_t>(static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8));
}

// Flips one bit in the middle of the largest record's data; returns the record's name.
std::string damage_largest_record(const fs::path& file) {
  std::string name;
  uint64_t at = 0;
  {
    zip::Reader reader(file);
    const zip::Entry* largest = nullptr;
    for (const auto& e : reader.entries())
      if (largest == nullptr || e.size > largest->size) largest = &e;
    name = largest->name;
    const std::string bytes = test::slurp(file);
    const uint64_t h = largest->local_header_offset;
    at = h + 30 + le16(bytes, h + 26) + le16(bytes, h + 28) + largest->size / 2;
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x10);
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&c, 1);
  return name;
}

void set_every_weight(const fs::path& path, float value, bool only_first) {
  auto model = nets::build_model(test::tiny_model_config(), 7);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) {
    if (only_first) {
      p.view(-1)[0] = value;
      break;
    }
    p.fill_(value);
  }
  nets::save_model_file(path, *model);
}

// ------------------------------------------------------------------------------ models
TEST(Integrity, ModelFileRecordChangedInPlaceIsRefusedNamingTheRecord) {
  test::TempDir dir;
  const fs::path model = dir / "model.mpn";
  test::write_tiny_model(model);
  ASSERT_NO_THROW(nets::load_model_file(model));
  const std::string record = damage_largest_record(model);
  const std::string msg = test::refusal_of([&] { nets::load_model_file(model); });
  EXPECT_NE(msg.find(model.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("record '" + record + "' fails its CRC-32 check"), std::string::npos) << msg;
  const auto r = test::run_cli("model-info --model " + model.string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("fails its CRC-32 check"), std::string::npos) << r.output;
}

TEST(Integrity, NonFiniteWeightsAndInputsAndLogitsNeverGiveAClass) {
  test::TempDir dir;
  const fs::path good = dir / "good.mpn", nan_model = dir / "nan.mpn", huge = dir / "huge.mpn";
  test::write_tiny_model(good);
  set_every_weight(nan_model, std::nanf(""), true);
  set_every_weight(huge, 1e30f, false);
  const fs::path x = dir / "x.pt", x_nan = dir / "x_nan.pt";
  torch::manual_seed(0);
  auto input = torch::randn({1, 4, 16, 16, 12});
  write_tensor_file(x, input);
  input[0][2][3][4][5] = std::nanf("");
  write_tensor_file(x_nan, input);
  const std::string json = " --json " + (dir / "p.json").string();

  const auto nan_input = test::run_cli("predict --model " + good.string() + " --tensor " + x_nan.string() + json);
  EXPECT_EQ(nan_input.exit_code, 1) << nan_input.output;
  EXPECT_NE(nan_input.output.find("1 of 12288 values are NaN or infinite"), std::string::npos) << nan_input.output;
  EXPECT_NE(nan_input.output.find(x_nan.string()), std::string::npos) << nan_input.output;

  const auto nan_weights = test::run_cli("predict --model " + nan_model.string() + " --tensor " + x.string() + json);
  EXPECT_EQ(nan_weights.exit_code, 1) << nan_weights.output;
  EXPECT_NE(nan_weights.output.find("holds 1 non-finite value(s)"), std::string::npos) << nan_weights.output;

  // Finite but absurd weights overflow to non-finite logits: an error, not "predicted 0".
  const auto huge_weights = test::run_cli("predict --model " + huge.string() + " --tensor " + x.string() + json);
  EXPECT_EQ(huge_weights.exit_code, 1) << huge_weights.output;
  EXPECT_NE(huge_weights.output.find("is not finite (NaN or infinite)"), std::string::npos) << huge_weights.output;
  EXPECT_EQ(huge_weights.output.find("predicted"), std::string::npos) << huge_weights.output;
  EXPECT_FALSE(fs::exists(dir / "p.json")) << "a failed predict left its --json";

  const auto fine = test::run_cli("predict --model " + good.string() + " --tensor " + x.string() + json);
  EXPECT_EQ(fine.exit_code, 0) << fine.output;
}

TEST(Integrity, ModelLoadErrorsCarryNoLibTorchStackTrace) {
  test::TempDir dir;
  std::ostringstream buf(std::ios::binary);
  zip::Writer writer(buf);
  const std::string pkl = "\x80\x02}q\x00(X\x06\x00\x00\x00formatq\x01X\x03\x00\x00\x00nopq\x02u";  // no STOP
  writer.add("archive/data.pkl", pkl.data(), pkl.size());
  writer.add("archive/version", "3\n", 2);
  writer.finish();
  const fs::path model = dir / "broken.mpn";
  std::ofstream(model, std::ios::binary) << buf.str();
  const std::string msg = test::refusal_of([&] { nets::load_model_file(model); });
  EXPECT_NE(msg.find("not a model file written by mprotonet"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Exception raised from"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("frame #"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 500u) << msg;
}

// ------------------------------------------------------------------------------ NIfTI
fs::path nifti_with(const test::TempDir& dir, const std::string& name, size_t offset, float value) {
  Volume v = make_volume({8, 8, 6}, identity_affine());
  for (size_t i = 0; i < v.data.size(); ++i) v.data[i] = static_cast<float>(i % 17);
  const fs::path p = dir / name;
  write_nifti(p, v, DataType::kInt16);
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(reinterpret_cast<const char*>(&value), 4);
  return p;
}

TEST(Integrity, NonFiniteAffineIsNamedNotTakenForAConstantVolume) {
  test::TempDir dir;
  const fs::path nan_sform = nifti_with(dir, "nan_sform.nii", 280, std::nanf(""));  // srow_x[0]
  const std::string a = test::refusal_of([&] { read_nifti(nan_sform); });
  EXPECT_NE(a.find("srow_x[0] is nan"), std::string::npos) << a;
  EXPECT_EQ(a.find("constant"), std::string::npos) << a;
  fs::path inf_qform = nifti_with(dir, "inf_qform.nii", 268, INFINITY);  // qoffset_x
  {
    std::fstream f(inf_qform, std::ios::in | std::ios::out | std::ios::binary);
    const int16_t no_sform = 0;
    f.seekp(254);  // sform_code
    f.write(reinterpret_cast<const char*>(&no_sform), 2);
  }
  const std::string b = test::refusal_of([&] { read_nifti_header(inf_qform); });
  EXPECT_NE(b.find("qoffset_x is inf"), std::string::npos) << b;
}

// gzip member holding `raw`.
std::string gzip_member(const std::string& raw) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, raw.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(Integrity, CompressedVolumeIsBoundedByItsHeaderBeforeInflating) {
  test::TempDir dir;
  // 1000^3 int16 (2 GB of zeros) in about 2 MB: gzip members of 64 MB of zeros after the header.
  Volume v = make_volume({8, 8, 6}, identity_affine());
  write_nifti(dir / "small.nii", v, DataType::kInt16);
  std::string header = test::slurp(dir / "small.nii").substr(0, 352);
  for (int i = 1; i <= 3; ++i) {
    const int16_t d = 1000;
    std::memcpy(header.data() + 40 + 2 * i, &d, 2);
  }
  const std::string zeros = gzip_member(std::string(size_t{64} << 20, '\0'));
  std::string bomb = gzip_member(header);
  for (int k = 0; k < 31; ++k) bomb += zeros;
  const fs::path p = dir / "bomb_t1.nii.gz";
  std::ofstream(p, std::ios::binary) << bomb;
  ASSERT_LT(fs::file_size(p), 2500000u);
  const test::ResourceProbe probe;
  const std::string msg = test::refusal_of([&] { read_nifti(p); });
  EXPECT_NE(msg.find("the header asks for 1000000000 voxels"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more than the limit of 268435456 voxels per volume"), std::string::npos) << msg;
  // Operation counts, not time: the 2 MB of compressed zeros are not read, 2 GB not inflated.
  EXPECT_LT(probe.bytes_read(), static_cast<int64_t>(fs::file_size(p)) / 4)
      << "the data was inflated before the size was checked";
  EXPECT_LT(probe.peak_rss_growth(), int64_t{64} << 20);

  // Data beyond what the header declares is never inflated.
  std::string padded = gzip_member(test::slurp(dir / "small.nii"));
  for (int k = 0; k < 16; ++k) padded += zeros;  // 1 GB more, about 1 MB compressed
  std::ofstream(dir / "padded.nii.gz", std::ios::binary) << padded;
  const test::ResourceProbe probe2;
  const Volume back = read_nifti(dir / "padded.nii.gz");
  EXPECT_EQ(back.shape, (std::array<int64_t, 3>{8, 8, 6}));
  // The reader's opens (header, nifticlib, voxels) each fill at most one 128 kB gzip buffer.
  EXPECT_LT(probe2.bytes_read(), int64_t{512} << 10) << "the trailing members were read (" << padded.size()
                                                      << " bytes in all)";
  EXPECT_LT(probe2.peak_rss_growth(), int64_t{64} << 20);
}

// ------------------------------------------------------------------------------ grade tables
TEST(Integrity, GradeTablesInUtf16OrWithExtraColumnsAreRefusedClearly) {
  test::TempDir dir;
  const std::string text = "Grade,BraTS_2020_subject_ID\nHGG,S1\n";
  std::string utf16 = "\xFF\xFE";
  for (char c : text) utf16 += std::string{c, '\0'};
  std::ofstream(dir / "utf16.csv", std::ios::binary) << utf16;
  const std::string a = test::refusal_of([&] { read_grade_table(dir / "utf16.csv"); });
  EXPECT_NE(a.find((dir / "utf16.csv").string()), std::string::npos) << a;
  EXPECT_NE(a.find("UTF-16"), std::string::npos) << a;
  EXPECT_NE(a.find("save it as a UTF-8"), std::string::npos) << a;

  std::ofstream(dir / "extra.csv") << "Grade,BraTS_2020_subject_ID\nHGG,S1\nLGG,S2,from another export\n";
  const std::string b = test::refusal_of([&] { read_grade_table(dir / "extra.csv"); });
  EXPECT_NE(b.find("line 3: 3 comma-separated columns, but the header has 2"), std::string::npos) << b;
  EXPECT_EQ(b.find("from another export' (expected"), std::string::npos) << "the extra column was taken for the id: " << b;
}

// ------------------------------------------------------------------------------ run.json
TEST(Integrity, ReportOnAStrayJsonFileIsRefused) {
  test::TempDir dir;
  write_text_atomically(dir / "run.json", R"({"garbage": true})");
  const auto r = test::run_cli("report " + dir.path().string() + " --quiet");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find((dir / "run.json").string() + " is not a run.json written by `mprotonet train`"),
            std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "report.html"));
}

// ------------------------------------------------------------------------------ cache root
TEST(Integrity, CacheRootWithoutHomeIsTheAccountsOwnFolderNeverTmp) {
  const char* keys[] = {"MPROTONET_CACHE", "XDG_CACHE_HOME", "HOME"};
  std::vector<std::pair<std::string, std::string>> saved;
  for (const char* k : keys)
    if (const char* v = std::getenv(k)) saved.emplace_back(k, v);
  for (const char* k : keys) ::unsetenv(k);
  fs::path root;
  std::string msg;
  try {
    root = default_cache_root();
  } catch (const Error& e) {
    msg = e.what();
  }
  for (const auto& [k, v] : saved) ::setenv(k.c_str(), v.c_str(), 1);
  const passwd* pw = ::getpwuid(::getuid());
  if (pw != nullptr && pw->pw_dir != nullptr && pw->pw_dir[0] == '/') {
    EXPECT_EQ(root, fs::path(pw->pw_dir) / ".cache" / "mprotonet") << msg;
  } else {
    EXPECT_NE(msg.find("no private folder for the preprocessing cache"), std::string::npos) << msg;
  }
  EXPECT_NE(root.string().rfind(fs::temp_directory_path().string(), 0), 0u) << root;
}

}  // namespace
}  // namespace mprotonet
