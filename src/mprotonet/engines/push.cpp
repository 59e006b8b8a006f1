// Class-specific prototype projection (see push.h).
#include "mprotonet/engines/push.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "mprotonet/core/error.h"
#include "mprotonet/data/loader.h"

namespace mprotonet {

nlohmann::json to_json(const PushRecord& r) {
  nlohmann::json protos = nlohmann::json::array();
  for (const auto& p : r.prototypes) {
    nlohmann::json rf = nlohmann::json::array();
    for (const auto& span : p.receptive_field) rf.push_back({span[0], span[1]});
    protos.push_back({{"prototype", p.prototype},
                      {"class", p.cls},
                      {"subject_id", p.subject_id},
                      {"subject_index", p.subject_index},
                      {"distance", p.distance},
                      {"voxel", p.voxel},
                      {"receptive_field", rf}});
  }
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
      r.prototypes.push_back(p);
    }
    return r;
  });
}

namespace {

std::array<int64_t, 3> unravel(int64_t flat, const std::array<int64_t, 3>& shape) {
  return {flat / (shape[1] * shape[2]), (flat / shape[2]) % shape[1], flat % shape[2]};
}

}  // namespace

PushRecord push_prototypes(nets::MProtoNet3DImpl& model, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& train_indices, const PushOptions& options) {
  check(!train_indices.empty(), "push: no training subjects");
  const int64_t P = model.num_prototypes(), D = model.prototype_dim();
  check(model.config().prototype_shape[2] == 1 && model.config().prototype_shape[3] == 1 &&
            model.config().prototype_shape[4] == 1,
        "push: only 1x1x1 prototypes are supported");
  const bool pooled = model.p_mode() >= 2;
  const auto identity = model.prototype_class_identity.to(torch::kCPU);
  std::vector<int> proto_class(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; ++p) proto_class[static_cast<size_t>(p)] = static_cast<int>(identity[p].argmax().item<int64_t>());

  std::vector<double> best(static_cast<size_t>(P), std::numeric_limits<double>::infinity());
  std::vector<torch::Tensor> best_vector(static_cast<size_t>(P));
  PushRecord record;
  record.p_mode = model.p_mode();
  record.prototypes.resize(static_cast<size_t>(P));
  for (int64_t p = 0; p < P; ++p) {
    record.prototypes[static_cast<size_t>(p)].prototype = p;
    record.prototypes[static_cast<size_t>(p)].cls = proto_class[static_cast<size_t>(p)];
  }
  const auto proto_cls_t = torch::tensor(std::vector<int64_t>(proto_class.begin(), proto_class.end()), torch::kLong);

  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  BatchLoader loader(cohort, train_indices, LoaderOptions::evaluation(options.batch_size));
  // workers: the default background worker prepares the next batch while this one runs.
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const auto out = model.push_forward(batch->images.to(options.device));
    const int64_t B = batch->images.size(0);
    auto dist = out.distances.to(torch::kCPU, torch::kFloat);          // [B, P] or [B, P, d, h, w]
    const auto own = batch->labels.view({B, 1}).eq(proto_cls_t.view({1, P}));  // [B, P]
    std::array<int64_t, 3> fshape{1, 1, 1};
    if (!pooled) fshape = {dist.size(2), dist.size(3), dist.size(4)};
    const int64_t N = fshape[0] * fshape[1] * fshape[2];
    dist = dist.reshape({B, P, N}).masked_fill(own.logical_not().view({B, P, 1}), std::numeric_limits<float>::infinity());
    // Per prototype: the minimum over (subject, voxel), first occurrence on ties.
    const auto per_proto = dist.permute({1, 0, 2}).reshape({P, B * N});
    const auto [vals, idx] = per_proto.min(1);
    for (int64_t p = 0; p < P; ++p) {
      const double v = vals[p].item<double>();
      if (!(v < best[static_cast<size_t>(p)])) continue;  // strict: keep the earliest on ties
      const int64_t flat = idx[p].item<int64_t>();
      const int64_t b = flat / N, n = flat % N;
      best[static_cast<size_t>(p)] = v;
      auto& rec = record.prototypes[static_cast<size_t>(p)];
      rec.subject_index = batch->indices[static_cast<size_t>(b)];
      rec.subject_id = cohort.id(rec.subject_index);
      rec.distance = v;
      if (pooled) {
        best_vector[static_cast<size_t>(p)] = out.latent[b][p].to(torch::kCPU, torch::kFloat).clone();  // g_p [D]
        const auto maps = out.occurrence_maps[b][p];
        rec.voxel = unravel(maps.reshape({-1}).argmax().item<int64_t>(), {maps.size(0), maps.size(1), maps.size(2)});
      } else {
        rec.voxel = unravel(n, fshape);
        best_vector[static_cast<size_t>(p)] =
            out.latent[b].index({torch::indexing::Slice(), rec.voxel[0], rec.voxel[1], rec.voxel[2]})
                .to(torch::kCPU, torch::kFloat)
                .clone();  // f(x) at the arg-min voxel [D]
      }
    }
  }
  const auto& rfs = model.receptive_fields();
  for (int64_t p = 0; p < P; ++p) {
    auto& rec = record.prototypes[static_cast<size_t>(p)];
    if (rec.subject_index < 0) continue;
    for (size_t a = 0; a < 3; ++a) {
      const auto span = nets::receptive_field_span(rfs[a], rec.voxel[a], model.config().in_size[a + 1]);
      rec.receptive_field[a] = {span.first, span.second};
    }
    auto target = model.prototype_vectors[p];
    target.copy_(best_vector[static_cast<size_t>(p)].view({D, 1, 1, 1}).to(target.device(), target.dtype()));
  }
  model.train(was_training);
  return record;
}

}  // namespace mprotonet
