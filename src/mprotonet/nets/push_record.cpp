// SPDX-License-Identifier: MIT
// JSON form of the push record (see push_record.h).
#include "mprotonet/nets/push_record.h"

#include <nlohmann/json.hpp>

#include "mprotonet/core/base64.h"
#include "mprotonet/core/error.h"

namespace mprotonet {

namespace {

constexpr const char* kPictureEncoding = "uint8, numpy order, base64";

nlohmann::json picture_to_json(const PrototypePicture& p) {
  return {{"input_voxel", p.input_voxel},
          {"origin", p.origin},
          {"size", p.size},
          {"encoding", kPictureEncoding},
          {"modalities", base64_encode(p.modalities)},
          {"map", p.map.empty() ? nlohmann::json(nullptr) : nlohmann::json(base64_encode(p.map))}};
}

PrototypePicture picture_from_json(const nlohmann::json& j) {
  return with_context("while reading a prototype picture", [&] {
    PrototypePicture p;
    p.input_voxel = j.at("input_voxel").get<std::array<int64_t, 3>>();
    p.origin = j.at("origin").get<std::array<int64_t, 2>>();
    p.size = j.at("size").get<std::array<int64_t, 2>>();
    const auto enc = j.at("encoding").get<std::string>();
    check(enc == kPictureEncoding, "encoding \"" + enc + "\"; expected \"" + kPictureEncoding + "\"");
    check(p.size[0] >= 1 && p.size[1] >= 1 && p.size[0] <= 4096 && p.size[1] <= 4096,
          "size [" + std::to_string(p.size[0]) + ", " + std::to_string(p.size[1]) + "]; expected 1..4096 per side");
    const auto n = static_cast<size_t>(p.size[0] * p.size[1]);
    p.modalities = base64_decode(j.at("modalities").get<std::string>(), "picture modalities");
    check(p.modalities.size() == 4 * n, "modalities hold " + std::to_string(p.modalities.size()) + " bytes; expected 4 x " +
                                            std::to_string(p.size[0]) + " x " + std::to_string(p.size[1]));
    if (j.contains("map") && !j.at("map").is_null()) {
      p.map = base64_decode(j.at("map").get<std::string>(), "picture map");
      check(p.map.size() == n, "map holds " + std::to_string(p.map.size()) + " bytes; expected " +
                                   std::to_string(p.size[0]) + " x " + std::to_string(p.size[1]));
    }
    return p;
  });
}

}  // namespace

nlohmann::json to_json(const PushedPrototype& p) {
  nlohmann::json rf = nlohmann::json::array();
  for (const auto& span : p.receptive_field) rf.push_back({span[0], span[1]});
  nlohmann::json q{{"prototype", p.prototype},
                   {"class", p.cls},
                   {"subject_id", p.subject_id},
                   {"subject_index", p.subject_index},
                   {"distance", p.distance},
                   {"voxel", p.voxel},
                   {"receptive_field", rf}};
  if (p.picture) q["picture"] = picture_to_json(*p.picture);
  return q;
}

nlohmann::json to_json(const PushRecord& r) {
  nlohmann::json protos = nlohmann::json::array();
  for (const auto& p : r.prototypes) protos.push_back(to_json(p));
  return {{"epoch", r.epoch}, {"p_mode", r.p_mode}, {"prototypes", protos}};
}

PushRecord push_record_from_json(const nlohmann::json& j) {
  return with_context("while reading a push record", [&] {
    PushRecord r;
    r.epoch = j.at("epoch").get<int64_t>();
    r.p_mode = j.at("p_mode").get<int>();
    for (const auto& q : j.at("prototypes")) {
      PushedPrototype p;
      p.prototype = q.at("prototype").get<int64_t>();
      p.cls = q.at("class").get<int>();
      p.subject_id = q.at("subject_id").get<std::string>();
      p.subject_index = q.at("subject_index").get<int64_t>();
      p.distance = q.at("distance").get<double>();
      p.voxel = q.at("voxel").get<std::array<int64_t, 3>>();
      for (size_t a = 0; a < 3; ++a) p.receptive_field[a] = q.at("receptive_field").at(a).get<std::array<int64_t, 2>>();
      if (q.contains("picture") && !q.at("picture").is_null()) p.picture = picture_from_json(q.at("picture"));
      r.prototypes.push_back(p);
    }
    return r;
  });
}

std::optional<PushRecord> read_push_record(const std::string& json_text) {
  if (json_text.empty()) return std::nullopt;
  const auto j = nlohmann::json::parse(json_text, nullptr, false);
  check(!j.is_discarded(), "the push record is not valid JSON");
  if (j.is_null()) return std::nullopt;
  return push_record_from_json(j);
}

}  // namespace mprotonet
