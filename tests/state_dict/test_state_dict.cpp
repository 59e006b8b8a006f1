// SPDX-License-Identifier: MIT
// Tests of the PyTorch file reader/writer (io/state_dict.h) against Python's own torch.save /
// torch.load (tests/helpers/state_dict_oracle.py, Debian's python3-torch): files PyTorch wrote
// are read here and compared with PyTorch's manifest; files written here are loaded by PyTorch
// (also with weights_only=True) and compared; hostile files must give an Error naming the file
// and the problem, never a crash.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "common/test_util.h"
#include "mprotonet/core/error.h"
#include "mprotonet/io/state_dict.h"

namespace {

using mprotonet::Error;
using mprotonet::NamedTensors;
using mprotonet::test::run_python_helper;
using mprotonet::test::TempDir;
using json = nlohmann::json;
namespace fs = std::filesystem;

const char* kOracle = "state_dict_oracle.py";

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat: return "float32";
    case torch::kDouble: return "float64";
    case torch::kHalf: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kLong: return "int64";
    case torch::kInt: return "int32";
    case torch::kShort: return "int16";
    case torch::kChar: return "int8";
    case torch::kByte: return "uint8";
    case torch::kBool: return "bool";
    default: return "unsupported";
  }
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

/// Exact comparison of a tensor with a manifest entry (values are exact in JSON: every
/// dtype here converts to double or int64 without rounding).
void expect_matches(const torch::Tensor& t, const json& e, const std::string& where) {
  SCOPED_TRACE(where);
  ASSERT_TRUE(t.defined());
  EXPECT_EQ(dtype_name(t.scalar_type()), e.at("dtype").get<std::string>());
  ASSERT_EQ(t.sizes().vec(), e.at("shape").get<std::vector<int64_t>>());
  EXPECT_TRUE(t.is_contiguous());
  const json& values = e.at("values");
  ASSERT_EQ(static_cast<size_t>(t.numel()), values.size());
  const torch::Tensor flat = t.reshape(-1);
  if (t.is_floating_point()) {
    const torch::Tensor d = flat.to(torch::kDouble);
    const double* p = d.data_ptr<double>();
    for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(p[i], values[i].get<double>()) << "element " << i;
  } else {
    const torch::Tensor l = flat.to(torch::kLong);
    const int64_t* p = l.data_ptr<int64_t>();
    for (size_t i = 0; i < values.size(); ++i) ASSERT_EQ(p[i], values[i].get<int64_t>()) << "element " << i;
  }
}

json describe(const std::string& name, const torch::Tensor& t) {
  json e;
  e["name"] = name;
  e["dtype"] = dtype_name(t.scalar_type());
  e["shape"] = t.sizes().vec();
  json values = json::array();
  const torch::Tensor flat = t.contiguous().reshape(-1);
  if (t.is_floating_point()) {
    const torch::Tensor d = flat.to(torch::kDouble);
    for (int64_t i = 0; i < d.numel(); ++i) values.push_back(d.data_ptr<double>()[i]);
  } else {
    const torch::Tensor l = flat.to(torch::kLong);
    for (int64_t i = 0; i < l.numel(); ++i) values.push_back(l.data_ptr<int64_t>()[i]);
  }
  e["values"] = values;
  return e;
}

/// Runs fn, which must throw mprotonet::Error whose text names `file` and contains every
/// string in `expected`. Returns the message.
template <typename Fn>
std::string expect_error(Fn&& fn, const fs::path& file, const std::vector<std::string>& expected) {
  try {
    fn();
    ADD_FAILURE() << "no error for " << file;
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(file.string()), std::string::npos) << "message does not name the file: " << what;
    for (const std::string& s : expected) EXPECT_NE(what.find(s), std::string::npos) << "'" << s << "' missing in: " << what;
    return what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "non-Error exception for " << file << ": " << e.what();
  }
  return {};
}

// ------------------------------------------------------------------------------------------
class PythonWritten : public ::testing::Test {
 protected:
  /// ctest runs every test in its own process, so the PyTorch-written fixtures are generated
  /// once into the build tree, in a folder named after a hash of the oracle script (a changed
  /// script regenerates them), and moved into place atomically so parallel tests can share it.
  static void SetUpTestSuite() {
    const std::string script = read_bytes(mprotonet::test::source_dir() / "tests" / "helpers" / kOracle);
    dir_ = fs::path(MPROTONET_BINARY_DIR) / "test-data" /
           ("state_dict_fixtures-" + std::to_string(std::hash<std::string>{}(script)));
    if (!fs::exists(dir_ / "manifest.json")) {
      // Staged beside the target (same file system, so the rename is atomic).
      const fs::path staging = dir_.parent_path() / ("staging-" + std::to_string(::getpid()));
      fs::remove_all(staging);
      fs::create_directories(staging);
      run_python_helper(kOracle, "fixtures " + mprotonet::test::shell_quote(staging.string()));
      std::error_code ec;
      fs::rename(staging, dir_, ec);  // fails harmlessly if another process got there first
      fs::remove_all(staging, ec);
    }
    manifest_ = read_json(dir_ / "manifest.json");
  }
  static fs::path file(const std::string& name) { return dir_ / name; }

  static void expect_state_dict(const std::string& name) {
    const NamedTensors got = mprotonet::read_state_dict(file(name));
    const json& entries = manifest_.at(name).at("entries");
    ASSERT_EQ(got.size(), entries.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, entries[i].at("name").get<std::string>()) << "order of entry " << i;
      expect_matches(got[i].second, entries[i], name + ": " + got[i].first);
    }
  }

  static fs::path dir_;
  static json manifest_;
};
fs::path PythonWritten::dir_;
json PythonWritten::manifest_;

TEST_F(PythonWritten, ReadsModuleStateDictWithMetadata) {
  expect_state_dict("module.pt");
  const NamedTensors sd = mprotonet::read_state_dict(file("module.pt"));
  // Reference key names (docs/method.md#checkpoints) in module order, BatchNorm counter as int64 0-d.
  std::vector<std::string> names;
  for (const auto& [n, t] : sd) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"prototype_vectors", "ones", "features.0.weight", "features.1.weight",
                                             "features.1.bias", "features.1.running_mean", "features.1.running_var",
                                             "features.1.num_batches_tracked", "last_layer.weight"}));
  EXPECT_EQ(sd[7].second.dim(), 0);
  EXPECT_EQ(sd[7].second.item<int64_t>(), 1234567890123);
}

TEST_F(PythonWritten, ReadsPlainDictWithViewsAndAllDtypes) { expect_state_dict("mixed.pt"); }

TEST_F(PythonWritten, SharedStorageViewsAreIndependentCopies) {
  const NamedTensors sd = mprotonet::read_state_dict(file("mixed.pt"));
  auto find = [&](const std::string& n) {
    for (const auto& [k, t] : sd)
      if (k == n) return t;
    return torch::Tensor();
  };
  torch::Tensor a = find("shared_a"), b = find("shared_b");
  const double b0 = b[0].item<double>();
  a.fill_(100.0);
  EXPECT_EQ(b[0].item<double>(), b0);
  EXPECT_EQ(find("expanded").stride(0), 3);  // materialised, not a stride-0 view
  torch::Tensor ta = find("tied_a"), tb = find("tied_b"), tc = find("tied_c");
  const torch::Tensor tb0 = tb.clone(), tc0 = tc.clone();
  ta.fill_(-7.0);
  EXPECT_TRUE(torch::equal(tb, tb0));
  EXPECT_TRUE(torch::equal(tc, tc0));
}

TEST_F(PythonWritten, ReadsEmptyOrderedDict) { expect_state_dict("empty_dict.pt"); }

TEST_F(PythonWritten, ReadsTensorFiles) {
  for (const std::string name : {"tensor.pt", "tensor_view.pt"}) {
    expect_matches(mprotonet::read_tensor_file(file(name)), manifest_.at(name).at("entries").at(0), name);
  }
}

TEST_F(PythonWritten, WrongTopLevelKindIsAnError) {
  expect_error([&] { mprotonet::read_tensor_file(file("module.pt")); }, file("module.pt"), {"expected a single tensor"});
  expect_error([&] { mprotonet::read_state_dict(file("tensor.pt")); }, file("tensor.pt"), {"single tensor, not a state_dict"});
}

TEST_F(PythonWritten, RoundTripThroughCppIsIdenticalForPython) {
  TempDir out;
  std::string pairs;
  for (const std::string name : {"module.pt", "mixed.pt", "empty_dict.pt"}) {
    const fs::path written = out / ("rt_" + name);
    mprotonet::write_state_dict(written, mprotonet::read_state_dict(file(name)));
    pairs += " " + mprotonet::test::shell_quote(file(name).string()) + " " + mprotonet::test::shell_quote(written.string());
  }
  for (const std::string name : {"tensor.pt", "tensor_view.pt"}) {
    const fs::path written = out / ("rt_" + name);
    mprotonet::write_tensor_file(written, mprotonet::read_tensor_file(file(name)));
    pairs += " " + mprotonet::test::shell_quote(file(name).string()) + " " + mprotonet::test::shell_quote(written.string());
  }
  run_python_helper(kOracle, "compare" + pairs);
}

/// Byte flips and truncations of real files: every outcome is a result or an Error.
TEST_F(PythonWritten, MutatedFilesNeverCrash) {
  TempDir tmp;
  const fs::path p = tmp / "mutated.pt";
  std::mt19937 rng(20261125);
  size_t errors = 0, ok = 0;
  auto attempt = [&](const std::string& bytes, bool tensor) {
    write_bytes(p, bytes);
    try {
      if (tensor) {
        mprotonet::read_tensor_file(p);
      } else {
        mprotonet::read_state_dict(p);
      }
      ++ok;
    } catch (const Error& e) {
      ++errors;
      EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "non-Error exception: " << e.what();
    }
  };
  const std::string module = read_bytes(file("module.pt"));
  const size_t pkl_end = std::min<size_t>(module.size(), 1200);  // data.pkl comes first
  for (int k = 0; k < 1500; ++k) {
    std::string m = module;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      const size_t pos = (k % 2 == 0) ? rng() % pkl_end : rng() % m.size();
      m[pos] = static_cast<char>(rng() & 0xFF);
    }
    attempt(m, false);
  }
  const std::string tensor = read_bytes(file("tensor_view.pt"));
  for (size_t n = 0; n < tensor.size(); n += 3) attempt(tensor.substr(0, n), true);
  EXPECT_GT(errors, 500u);
  EXPECT_GT(ok, 0u);  // flips inside tensor values are still valid files
}

// ------------------------------------------------------------------------------------------
TEST(StateDictHostile, EveryMalformedFileGivesAnErrorNamingFileAndProblem) {
  TempDir dir;
  run_python_helper(kOracle, "hostile " + mprotonet::test::shell_quote(dir.path().string()));
  const json cases = read_json(dir / "hostile.json");
  ASSERT_GE(cases.size(), 30u);
  for (const auto& [name, expected] : cases.items()) {
    SCOPED_TRACE(name);
    const fs::path f = dir / name;
    const auto substrings = expected.get<std::vector<std::string>>();
    // Printed so a reviewer sees what a user would read.
    std::cout << expect_error([&] { mprotonet::read_state_dict(f); }, f, substrings) << "\n";
    // The tensor reader shares the parser: it must refuse too (its message may differ for the
    // few files that are valid dicts apart from the checked defect, so only the file is required).
    expect_error([&] { mprotonet::read_tensor_file(f); }, f, {});
  }
}

TEST(StateDictHostile, MissingFileAndDirectory) {
  TempDir dir;
  expect_error([&] { mprotonet::read_state_dict(dir / "nope.pt"); }, dir / "nope.pt", {"no such file"});
  expect_error([&] { mprotonet::read_state_dict(dir.path()); }, dir.path(), {});
}

// ------------------------------------------------------------------------------------------
NamedTensors writer_tensors() {
  NamedTensors t;
  const auto f32 = torch::arange(24, torch::kFloat).reshape({2, 3, 4}) / 7.0f - 1.0f;
  t.emplace_back("features.conv1.weight", f32.transpose(0, 2));  // non-contiguous input
  t.emplace_back("narrowed", torch::arange(40, torch::kFloat).narrow(0, 13, 5));  // storage offset
  t.emplace_back("f64", torch::linspace(-3.0, 5.0, 7, torch::kDouble) / 3.0);
  t.emplace_back("f16", (torch::arange(6, torch::kFloat) * 0.3f).to(torch::kHalf));
  t.emplace_back("bf16", (torch::arange(6, torch::kFloat) * -1.7f).to(torch::kBFloat16));
  t.emplace_back("i64", torch::tensor({int64_t{-(1LL << 62)}, int64_t{-70000}, int64_t{-1}, int64_t{0}, int64_t{255},
                                       int64_t{256}, int64_t{65536}, int64_t{1LL << 40}}));
  t.emplace_back("i32", torch::tensor({-5, 2147483647}, torch::kInt));
  t.emplace_back("i16", torch::tensor({-300, 300}, torch::kShort));
  t.emplace_back("i8", torch::tensor({-128, 127}, torch::kChar));
  t.emplace_back("u8", torch::tensor({0, 255}, torch::kByte));
  t.emplace_back("flags", torch::tensor({1, 0, 1}, torch::kInt).to(torch::kBool));
  t.emplace_back("features.bn1.num_batches_tracked", torch::tensor(int64_t{123456}));  // 0-d int64
  t.emplace_back("empty", torch::zeros({0, 3}));
  t.emplace_back("big", torch::arange(70000, torch::kFloat).reshape({7, 10000}));  // sizes need BININT
  return t;
}

/// One Python run checks a state_dict, a tensor file and an empty state_dict written here.
TEST(StateDictWriter, PythonLoadsWhatWeWrite) {
  TempDir dir;
  using mprotonet::test::shell_quote;
  std::string args = "check";
  auto add_check = [&](const std::string& stem, const json& manifest) {
    std::ofstream(dir / (stem + ".json")) << manifest.dump();
    args += " " + shell_quote((dir / (stem + ".pt")).string()) + " " + shell_quote((dir / (stem + ".json")).string());
  };

  const NamedTensors tensors = writer_tensors();
  json manifest;
  manifest["kind"] = "state_dict";
  for (const auto& [n, t] : tensors) manifest["entries"].push_back(describe(n, t));
  mprotonet::write_state_dict(dir / "sd.pt", tensors);
  add_check("sd", manifest);

  const torch::Tensor x =
      torch::arange(2 * 4 * 3 * 3 * 2, torch::kFloat).reshape({2, 4, 3, 3, 2}).permute({0, 1, 4, 3, 2}) * 0.25f;
  json tmanifest;
  tmanifest["kind"] = "tensor";
  tmanifest["entries"].push_back(describe("", x));
  mprotonet::write_tensor_file(dir / "x.pt", x);
  add_check("x", tmanifest);

  mprotonet::write_state_dict(dir / "e.pt", {});
  add_check("e", json::parse(R"({"kind": "state_dict", "entries": []})"));

  run_python_helper(kOracle, args);

  // And our own reader agrees.
  const NamedTensors back = mprotonet::read_state_dict(dir / "sd.pt");
  ASSERT_EQ(back.size(), tensors.size());
  for (size_t i = 0; i < back.size(); ++i) expect_matches(back[i].second, manifest["entries"][i], back[i].first);
  EXPECT_TRUE(torch::equal(mprotonet::read_tensor_file(dir / "x.pt"), x));
  EXPECT_TRUE(mprotonet::read_state_dict(dir / "e.pt").empty());
}

TEST(StateDictWriter, BadInputIsAnErrorAndLeavesTheTargetUntouched) {
  TempDir dir;
  const fs::path target = dir / "keep.pt";
  write_bytes(target, "original");
  expect_error([&] { mprotonet::write_state_dict(target, {{"a", torch::ones(2)}, {"a", torch::ones(2)}}); }, target,
               {"'a' appears twice"});
  expect_error([&] { mprotonet::write_state_dict(target, {{"c", torch::ones(2, torch::kComplexFloat)}}); }, target,
               {"'c'", "cannot be written"});
  expect_error([&] { mprotonet::write_state_dict(target, {{"u", torch::Tensor()}}); }, target, {"'u' is undefined"});
  EXPECT_EQ(read_bytes(target), "original");
  size_t n_files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++n_files;
  EXPECT_EQ(n_files, 1u);  // no temporary left behind
  expect_error([&] { mprotonet::write_tensor_file(dir / "no" / "dir" / "x.pt", torch::ones(1)); },
               dir / "no" / "dir" / "x.pt", {"cannot open"});
}

}  // namespace
