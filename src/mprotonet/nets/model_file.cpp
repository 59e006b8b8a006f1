// SPDX-License-Identifier: MIT
// Model file I/O and key-checked state loading.
#include "mprotonet/nets/model_file.h"

#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/serialize.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/error_text.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/io/zip_archive.h"

namespace mprotonet::nets {

namespace {

constexpr const char* kFormat = "mprotonet-model-v1";

void collect_state(const torch::nn::Module& m, const std::string& prefix, NamedTensors& out) {
  for (const auto& p : m.named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value().detach());
  for (const auto& b : m.named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value().detach());
  for (const auto& c : m.named_children()) collect_state(*c.value(), prefix + c.key() + ".", out);
}

}  // namespace

NamedTensors model_state(const torch::nn::Module& module) {
  NamedTensors out;
  collect_state(module, "", out);
  return out;
}

void load_model_state(torch::nn::Module& module, const NamedTensors& tensors, const std::string& source) {
  std::map<std::string, torch::Tensor> targets;
  for (auto& p : module.named_parameters()) targets[p.key()] = p.value();
  for (auto& b : module.named_buffers()) targets[b.key()] = b.value();

  std::vector<std::string> unexpected, misshaped, missing;
  std::map<std::string, const torch::Tensor*> given;
  for (const auto& [name, t] : tensors) {
    given[name] = &t;
    auto it = targets.find(name);
    if (it == targets.end()) {
      unexpected.push_back(name + " " + c10::str(t.sizes()));
    } else if (t.sizes() != it->second.sizes() || t.is_floating_point() != it->second.is_floating_point()) {
      misshaped.push_back(name + " (file " + c10::str(t.sizes(), " ", t.scalar_type()) + ", model " +
                          c10::str(it->second.sizes(), " ", it->second.scalar_type()) + ")");
    }
  }
  for (const auto& [name, t] : targets)
    if (!given.count(name)) missing.push_back(name + " " + c10::str(t.sizes()));

  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::ostringstream msg;
    msg << source << " does not match the model's parameters and buffers ("
        << missing.size() << " missing, " << unexpected.size() << " unexpected, "
        << misshaped.size() << " wrongly shaped)";
    auto list = [&](const char* what, const std::vector<std::string>& v) {
      if (v.empty()) return;
      msg << "; " << what << ":";
      for (const auto& s : v) msg << " " << s << ",";
      msg.seekp(-1, std::ios_base::cur);
      msg << " ";
    };
    list("missing", missing);
    list("unexpected", unexpected);
    list("wrongly shaped", misshaped);
    std::string text = msg.str();
    while (!text.empty() && text.back() == ' ') text.pop_back();
    throw Error(text);
  }
  torch::NoGradGuard no_grad;
  for (const auto& [name, t] : tensors) targets[name].copy_(t);
}

void save_model_file(const std::filesystem::path& path, ClassifierImpl& model, const std::string& push_record) {
  with_context("while saving model file " + path.string(), [&] {
    try {
      const auto parsed = nlohmann::json::parse(push_record);
      (void)parsed;
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("the push record is not valid JSON: ") + e.what());
    }
    c10::Dict<std::string, torch::Tensor> state;
    for (const auto& [name, t] : model_state(model)) state.insert(name, t.to(torch::kCPU).contiguous());
    c10::impl::GenericDict top(c10::StringType::get(), c10::AnyType::get());
    top.insert(c10::IValue(std::string("format")), c10::IValue(std::string(kFormat)));
    top.insert(c10::IValue(std::string("config")), c10::IValue(model_config_to_json(model.config()).dump()));
    top.insert(c10::IValue(std::string("push_record")), c10::IValue(push_record));
    top.insert(c10::IValue(std::string("state_dict")), c10::IValue(state));
    const std::vector<char> bytes = torch::pickle_save(c10::IValue(top));
    write_bytes_atomically(path, bytes.data(), bytes.size());
  });
}

LoadedModel load_model_file(const std::filesystem::path& path) {
  return with_context("while loading model file " + path.string(), [&] {
    std::ifstream in(path, std::ios::binary);
    check(static_cast<bool>(in), "cannot open the file for reading");
    // Integrity first: LibTorch's reader does not check the records' CRC-32, so a record changed
    // in place would be read as if nothing happened.
    try {
      zip::verify_archive(path);
    } catch (const Error& e) {
      throw Error("damaged or not a model file written by mprotonet: " + e.message());
    }
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    c10::IValue top;
    try {
      top = torch::pickle_load(bytes);
    } catch (const std::exception& e) {
      throw Error("not a model file written by mprotonet (unreadable archive: " + brief_error_text(e) + ")");
    }
    check(top.isGenericDict(), "not a model file written by mprotonet (top level is not a dict)");
    auto dict = top.toGenericDict();
    auto get_string = [&](const char* key) {
      check(dict.contains(key) && dict.at(key).isString(),
            std::string("not a model file written by mprotonet (no string field \"") + key + "\")");
      return dict.at(key).toStringRef();
    };
    check(get_string("format") == kFormat,
          "unsupported model file format \"" + get_string("format") + "\"; expected \"" + kFormat + "\"");
    nlohmann::json cfg_json;
    try {
      cfg_json = nlohmann::json::parse(get_string("config"));
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string("the stored configuration is not valid JSON: ") + e.what());
    }
    LoadedModel loaded;
    loaded.push_record = get_string("push_record");
    ModelConfig config = model_config_from_json(cfg_json, "stored in the model file");
    loaded.model = build_model(config, 0);
    check(dict.contains("state_dict") && dict.at("state_dict").isGenericDict(),
          "not a model file written by mprotonet (no \"state_dict\" dict)");
    NamedTensors tensors;
    for (const auto& item : dict.at("state_dict").toGenericDict()) {
      check(item.key().isString() && item.value().isTensor(), "state_dict holds a non-tensor entry");
      tensors.emplace_back(item.key().toStringRef(), item.value().toTensor());
    }
    // Non-finite weights give NaN for every input; refused here rather than as a prediction.
    for (const auto& [name, t] : tensors)
      if (t.is_floating_point()) {
        const int64_t bad = t.numel() - torch::isfinite(t).sum().item<int64_t>();
        check(bad == 0, "tensor " + name + " holds " + std::to_string(bad) + " non-finite value(s) (NaN or infinite) of " +
                            std::to_string(t.numel()) + "; the model is broken");
      }
    load_model_state(*loaded.model, tensors, "the stored state_dict");
    loaded.model->eval();
    return loaded;
  });
}

}  // namespace mprotonet::nets
