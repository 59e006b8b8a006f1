// Dispatcher over the SPEC 7 attribution methods.
#include "mprotonet/attribution/methods.h"

#include <set>
#include <sstream>

#include "mprotonet/attribution/attribution.h"
#include "mprotonet/attribution/guided.h"
#include "mprotonet/core/error.h"

namespace mprotonet::attribution {

const std::vector<std::string>& map_method_names() {
  static const std::vector<std::string> names = {"mprotonet", "gradcam", "guided-gradcam", "deconvolution",
                                                 "occlusion"};
  return names;
}

std::string map_method_name(MapMethod method) { return map_method_names().at(static_cast<size_t>(method)); }

MapMethod parse_map_method(const std::string& name) {
  const auto& names = map_method_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<MapMethod>(i);
  std::string valid;
  for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
  throw Error("unknown attribution method \"" + name + "\"; expected one of: " + valid);
}

std::vector<MapMethod> parse_map_methods(const std::string& list) {
  std::vector<MapMethod> out;
  std::set<MapMethod> seen;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    auto m = parse_map_method(item);
    check(seen.insert(m).second, "attribution method \"" + item + "\" is listed twice in \"" + list + "\"");
    out.push_back(m);
  }
  check(!out.empty(), "no attribution method in \"" + list + "\"");
  return out;
}

bool method_applies(const nets::ClassifierImpl& model, MapMethod method) {
  return method != MapMethod::MProtoNet || model.is_prototype_model();
}

torch::Tensor compute_map(nets::ClassifierImpl& model, MapMethod method, const torch::Tensor& input,
                          const torch::Tensor& target, const MapOptions& options) {
  switch (method) {
    case MapMethod::MProtoNet: return attribute(model, Method::MProtoNet, input, target);
    case MapMethod::GradCAM: return gradcam(model, input, target);
    case MapMethod::GuidedGradCAM: return guided_gradcam(model, input, target);
    case MapMethod::Deconvolution: return deconvolution(model, input, target);
    case MapMethod::Occlusion: return occlusion(model, input, target, options.occlusion);
  }
  throw Error("invalid attribution method value " + std::to_string(static_cast<int>(method)));
}

}  // namespace mprotonet::attribution
