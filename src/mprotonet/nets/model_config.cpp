// SPDX-License-Identifier: MIT
// Reference-keyword model configuration: parsing, validation, JSON round trip.
#include "mprotonet/nets/model_config.h"

#include <cmath>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"

namespace mprotonet::nets {

using nlohmann::json;

namespace {

constexpr const char* kCnnName = "CNN3D";
constexpr const char* kProtoPrefix = "MProtoNet3D";
constexpr int kMaxPMode = 5;

// Returns K for "MProtoNet3D_pmK", -1 for "CNN3D", -2 for "MProtoNet3D" without suffix,
// throws for anything else.
int parse_model_name(const std::string& name) {
  if (name == kCnnName) return -1;
  if (name == kProtoPrefix) return -2;
  const std::string prefix = std::string(kProtoPrefix) + "_pm";
  if (name.size() == prefix.size() + 1 && name.compare(0, prefix.size(), prefix) == 0) {
    const char k = name.back();
    if (k >= '0' && k <= '0' + kMaxPMode) return k - '0';
  }
  throw Error("model_name \"" + name + "\" is not valid; expected \"CNN3D\" or \"MProtoNet3D_pmK\" with K in 0..5");
}

std::string join(const std::vector<int64_t>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
  s << "]";
  return s.str();
}

}  // namespace

bool ModelConfig::is_prototype_model() const { return parse_model_name(model_name) != -1; }

int ModelConfig::p_mode() const {
  const int k = parse_model_name(model_name);
  return k == -2 ? 0 : k;
}

ResNet3dOptions ModelConfig::backbone() const {
  ResNet3dOptions o;
  o.name = features;
  o.n_layers = n_layers;
  o.in_channels = in_size[0];
  return o;
}

ModelConfig ModelConfig::paper(int p_mode) {
  ModelConfig c;
  c.model_name = p_mode < 0 ? std::string(kCnnName) : std::string(kProtoPrefix) + "_pm" + std::to_string(p_mode);
  c.in_size = {4, 128, 128, 96};
  c.out_size = 2;
  c.features = "resnet152_ri";
  c.n_layers = 6;
  c.prototype_shape = {30, 128, 1, 1, 1};
  c.f_dist = "cos";
  c.topk_p = 1.0;
  return c;
}

std::array<AxisReceptiveField, 3> receptive_fields(const ModelConfig& c) {
  const ResNet3dOptions o = c.backbone();
  return {receptive_field_axis(o, c.in_size[1]), receptive_field_axis(o, c.in_size[2]),
          receptive_field_axis(o, c.in_size[3])};
}

int64_t feature_voxels(const ModelConfig& c) {
  const auto rf = receptive_fields(c);
  return rf[0].size * rf[1].size * rf[2].size;
}

int64_t topk_count(const ModelConfig& c) {
  // Same operation order as the reference: int(p0 * p1 * p2 * topk_p / 100).
  return static_cast<int64_t>(static_cast<double>(feature_voxels(c)) * c.topk_p / 100.0);
}

void validate(const ModelConfig& c) {
  const int pm = parse_model_name(c.model_name);
  backbone_spec(c.features);
  check(c.n_layers >= 2 && c.n_layers <= 8,
        "n_layers = " + std::to_string(c.n_layers) +
            " is out of range; expected 2..8 (children conv1, bn1, relu, maxpool, layer1..layer4)");
  check(c.in_size[0] >= 1, "in_size[0] (channels) = " + std::to_string(c.in_size[0]) + "; expected >= 1");
  check(c.out_size >= 1, "out_size = " + std::to_string(c.out_size) + "; expected >= 1");
  // Resource bounds: a configuration from a downloaded file must not make the tool try to
  // allocate an absurd network input or prototype layer (and the sizes below cannot overflow).
  constexpr int64_t kMaxSide = 4096, kMaxInputVoxels = int64_t{1} << 31, kMaxCount = 100000;
  check(c.in_size[0] <= 1024, "in_size[0] (channels) = " + std::to_string(c.in_size[0]) + "; expected at most 1024");
  check(c.out_size <= kMaxCount, "out_size = " + std::to_string(c.out_size) + "; expected at most " + std::to_string(kMaxCount));
  int64_t input_voxels = 1;
  for (int a = 1; a <= 3; ++a) {
    check(c.in_size[a] <= kMaxSide, "in_size[" + std::to_string(a) + "] = " + std::to_string(c.in_size[a]) +
                                        " is too large; expected at most " + std::to_string(kMaxSide) + " voxels per axis");
    if (c.in_size[a] > 0) input_voxels *= c.in_size[a];
  }
  check(input_voxels <= kMaxInputVoxels, "in_size = [" + std::to_string(c.in_size[0]) + ", " + std::to_string(c.in_size[1]) + ", " +
                                             std::to_string(c.in_size[2]) + ", " + std::to_string(c.in_size[3]) + "] makes " +
                                             std::to_string(input_voxels) + " voxels per channel; expected at most " +
                                             std::to_string(kMaxInputVoxels));
  const ResNet3dOptions o = c.backbone();
  const int64_t stride = receptive_field_axis(o, 1).jump;
  for (int a = 1; a <= 3; ++a)
    check(c.in_size[a] >= stride,
          "in_size[" + std::to_string(a) + "] = " + std::to_string(c.in_size[a]) + " is smaller than the stride " +
              std::to_string(stride) + " of " + c.features + " with n_layers " + std::to_string(c.n_layers) +
              "; expected every spatial size >= " + std::to_string(stride));
  if (pm == -1) return;
  const int p_mode = pm == -2 ? 0 : pm;
  const auto& ps = c.prototype_shape;
  check(ps[0] >= 1 && ps[1] >= 1,
        "prototype_shape = " + join({ps.begin(), ps.end()}) + " needs P >= 1 prototypes and dimension D >= 1");
  check(ps[0] <= kMaxCount && ps[1] <= kMaxCount,
        "prototype_shape = " + join({ps.begin(), ps.end()}) + " is too large; expected P and D at most " + std::to_string(kMaxCount));
  check(ps[2] == 1 && ps[3] == 1 && ps[4] == 1,
        "prototype_shape = " + join({ps.begin(), ps.end()}) + ": only 1x1x1 prototypes are supported; expected [P, D, 1, 1, 1]");
  check(ps[0] % c.out_size == 0, "prototype_shape[0] = " + std::to_string(ps[0]) +
                                     " prototypes cannot be split evenly over out_size = " +
                                     std::to_string(c.out_size) + " classes; expected a multiple of " +
                                     std::to_string(c.out_size));
  check(c.f_dist == "cos" || c.f_dist == "l2", "f_dist = \"" + c.f_dist + "\"; expected one of: cos, l2");
  check(c.prototype_activation_function == "log" || c.prototype_activation_function == "linear",
        "prototype_activation_function = \"" + c.prototype_activation_function + "\"; expected one of: log, linear");
  check(std::isfinite(c.topk_p) && c.topk_p > 0 && c.topk_p <= 100,
        "topk_p = " + std::to_string(c.topk_p) + "; expected a percentage in (0, 100]");
  if (p_mode >= 1) {
    const int64_t n = feature_voxels(c);
    const int64_t k = topk_count(c);
    check(k >= 1, "topk_p = " + std::to_string(c.topk_p) + " gives k = floor(" + std::to_string(n) + " * " +
                      std::to_string(c.topk_p) + " / 100) = 0 feature voxels for the " + std::to_string(n) +
                      "-voxel feature map (the reference requires k >= 1 for every p_mode >= 1); expected topk_p >= " +
                      std::to_string(100.0 / static_cast<double>(n)));
  }
}

namespace {

int64_t get_int(const json& v, const std::string& key) {
  check(v.is_number_integer(), "field \"" + key + "\" = " + v.dump() + " must be an integer");
  return v.get<int64_t>();
}

template <size_t N>
std::array<int64_t, N> get_int_array(const json& v, const std::string& key, size_t min_len, int64_t pad) {
  check(v.is_array() && v.size() >= min_len && v.size() <= N,
        "field \"" + key + "\" = " + v.dump() + " must be an array of " +
            (min_len == N ? std::to_string(N) : std::to_string(min_len) + " to " + std::to_string(N)) + " integers");
  std::array<int64_t, N> out;
  out.fill(pad);
  for (size_t i = 0; i < v.size(); ++i) out[i] = get_int(v[i], key + "[" + std::to_string(i) + "]");
  return out;
}

std::string get_string(const json& v, const std::string& key) {
  check(v.is_string(), "field \"" + key + "\" = " + v.dump() + " must be a string");
  return v.get<std::string>();
}

}  // namespace

ModelConfig model_config_from_json(const json& j, const std::string& source) {
  return with_context("in model configuration " + source, [&] {
    check(j.is_object(), "expected a JSON object, got " + std::string(j.type_name()));
    static const std::set<std::string> known = {
        "model_name", "in_size", "out_size", "features", "n_layers", "prototype_shape", "f_dist",
        "topk_p", "p_mode", "init_weights", "prototype_activation_function", "c_mode"};
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!known.count(it.key())) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        throw Error("unknown field \"" + it.key() + "\"; expected only: " + list);
      }
    }
    check(j.contains("model_name"), "missing field \"model_name\" (\"CNN3D\" or \"MProtoNet3D_pmK\")");
    ModelConfig c;
    c.model_name = get_string(j["model_name"], "model_name");
    int pm = parse_model_name(c.model_name);
    if (j.contains("p_mode")) {
      check(pm != -1, "field \"p_mode\" is only valid for MProtoNet3D models, not " + c.model_name);
      const int64_t p = get_int(j["p_mode"], "p_mode");
      check(p >= 0 && p <= kMaxPMode, "p_mode = " + std::to_string(p) + "; expected 0..5");
      check(pm == -2 || pm == p, "p_mode = " + std::to_string(p) + " disagrees with model_name \"" +
                                     c.model_name + "\" (suffix _pm" + std::to_string(pm) + ")");
      pm = static_cast<int>(p);
    }
    if (pm == -2) pm = 0;  // the reference's default p_mode
    if (pm >= 0) c.model_name = std::string(kProtoPrefix) + "_pm" + std::to_string(pm);
    if (j.contains("c_mode"))
      check(get_int(j["c_mode"], "c_mode") == 0, "c_mode = " + j["c_mode"].dump() +
                                                     ": only c_mode 0 (all channels into one backbone) is supported");
    if (j.contains("in_size")) c.in_size = get_int_array<4>(j["in_size"], "in_size", 4, 1);
    if (j.contains("out_size")) c.out_size = get_int(j["out_size"], "out_size");
    if (j.contains("features")) c.features = get_string(j["features"], "features");
    if (j.contains("n_layers")) c.n_layers = get_int(j["n_layers"], "n_layers");
    // The reference pads a shorter prototype shape with 1s up to 5 dimensions.
    if (j.contains("prototype_shape"))
      c.prototype_shape = get_int_array<5>(j["prototype_shape"], "prototype_shape", 2, 1);
    if (j.contains("f_dist")) c.f_dist = get_string(j["f_dist"], "f_dist");
    if (j.contains("topk_p")) {
      check(j["topk_p"].is_number(), "field \"topk_p\" = " + j["topk_p"].dump() + " must be a number");
      c.topk_p = j["topk_p"].get<double>();
    }
    if (j.contains("init_weights")) {
      check(j["init_weights"].is_boolean(), "field \"init_weights\" = " + j["init_weights"].dump() + " must be true or false");
      c.init_weights = j["init_weights"].get<bool>();
    }
    if (j.contains("prototype_activation_function"))
      c.prototype_activation_function = get_string(j["prototype_activation_function"], "prototype_activation_function");
    validate(c);
    return c;
  });
}

json model_config_to_json(const ModelConfig& c) {
  json j;
  j["model_name"] = c.model_name;
  j["in_size"] = c.in_size;
  j["out_size"] = c.out_size;
  j["features"] = c.features;
  j["n_layers"] = c.n_layers;
  if (c.is_prototype_model()) {
    j["prototype_shape"] = c.prototype_shape;
    j["f_dist"] = c.f_dist;
    if (c.topk_p == std::floor(c.topk_p))
      j["topk_p"] = static_cast<int64_t>(c.topk_p);
    else
      j["topk_p"] = c.topk_p;
    j["prototype_activation_function"] = c.prototype_activation_function;
  }
  j["init_weights"] = c.init_weights;
  return j;
}

ModelConfig read_model_config(const std::filesystem::path& path) {
  const std::string text = read_text_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error("model configuration " + path.string() + " is not valid JSON: " + e.what());
  }
  return model_config_from_json(j, path.string());
}

void write_model_config(const std::filesystem::path& path, const ModelConfig& config) {
  write_text_atomically(path, model_config_to_json(config).dump(2) + "\n");
}

std::string paper_row_name(const std::string& model_name) {
  if (model_name == "CNN3D") return "CNN";
  if (model_name == "MProtoNet3D_pm0") return "ProtoPNet (minimum distance)";
  if (model_name == "MProtoNet3D_pm1") return "ProtoPNet";
  if (model_name == "MProtoNet3D_pm2") return "XProtoNet";
  if (model_name == "MProtoNet3D_pm3") return "MProtoNet A";
  if (model_name == "MProtoNet3D_pm4") return "MProtoNet B";
  if (model_name == "MProtoNet3D_pm5") return "MProtoNet C";
  return model_name;
}

}  // namespace mprotonet::nets
