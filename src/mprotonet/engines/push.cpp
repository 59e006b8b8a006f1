// SPDX-License-Identifier: MIT
// Class-specific prototype projection (see push.h).
#include "mprotonet/engines/push.h"

#include <algorithm>
#include <cmath>
#include <limits>


#include "mprotonet/core/error.h"
#include "mprotonet/data/loader.h"
#include "mprotonet/engines/distributed.h"

namespace mprotonet {

namespace {

std::array<int64_t, 3> unravel(int64_t flat, const std::array<int64_t, 3>& shape) {
  return {flat / (shape[1] * shape[2]), (flat / shape[2]) % shape[1], flat % shape[2]};
}

// Value at `q` (0..1) of the sorted values (nearest rank).
float quantile_of(std::vector<float> v, double q) {
  const auto k = static_cast<size_t>(std::lround(q * static_cast<double>(v.size() - 1)));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// [first, first + size) of at most `side` voxels around `centre`, inside [0, extent).
std::pair<int64_t, int64_t> crop_span(int64_t centre, int64_t extent, int64_t side) {
  const int64_t size = std::min(side, extent);
  const int64_t first = std::clamp<int64_t>(centre - size / 2, 0, extent - size);
  return {first, size};
}

}  // namespace

PrototypePicture make_prototype_picture(const torch::Tensor& image, const std::array<int64_t, 3>& v,
                                        const torch::Tensor& upsampled_map, int64_t picture_size) {
  check(image.dim() == 4 && image.size(0) == 4,
        "prototype picture: image has shape " + c10::str(image.sizes()) + "; expected [4, X, Y, Z]");
  check(picture_size >= 1, "prototype picture: size " + std::to_string(picture_size) + "; expected >= 1");
  for (int a = 0; a < 3; ++a)
    check(v[static_cast<size_t>(a)] >= 0 && v[static_cast<size_t>(a)] < image.size(a + 1),
          "prototype picture: location (" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ", " +
              std::to_string(v[2]) + ") is outside the image " + c10::str(image.sizes()));
  PrototypePicture pic;
  pic.input_voxel = v;
  const auto [x0, nx] = crop_span(v[0], image.size(1), picture_size);
  const auto [y0, ny] = crop_span(v[1], image.size(2), picture_size);
  pic.origin = {x0, y0};
  pic.size = {nx, ny};
  using torch::indexing::Slice;
  auto slice = image.index({Slice(), Slice(x0, x0 + nx), Slice(y0, y0 + ny), v[2]})
                   .to(torch::kCPU, torch::kFloat)
                   .contiguous();  // [4, nx, ny]
  const auto n = static_cast<size_t>(nx * ny);
  pic.modalities.resize(4 * n);
  for (int64_t c = 0; c < 4; ++c) {
    const float* d = slice[c].data_ptr<float>();
    std::vector<float> vals(d, d + n);
    const float lo = quantile_of(vals, 0.005), hi = quantile_of(vals, 0.995);
    const float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
    for (size_t i = 0; i < n; ++i)
      pic.modalities[static_cast<size_t>(c) * n + i] =
          static_cast<uint8_t>(std::lround(std::clamp((d[i] - lo) * scale, 0.0f, 255.0f)));
  }
  if (upsampled_map.defined()) {
    check(upsampled_map.dim() == 3 && upsampled_map.size(0) == image.size(1) && upsampled_map.size(1) == image.size(2) &&
              upsampled_map.size(2) == image.size(3),
          "prototype picture: map has shape " + c10::str(upsampled_map.sizes()) + "; expected the image's [X, Y, Z]");
    const auto m = upsampled_map.to(torch::kCPU, torch::kFloat);
    const double peak = m.max().item<double>();
    const auto ms = m.index({Slice(x0, x0 + nx), Slice(y0, y0 + ny), v[2]}).contiguous();
    const float* d = ms.data_ptr<float>();
    pic.map.resize(n);
    for (size_t i = 0; i < n; ++i)
      pic.map[i] = peak > 0 ? static_cast<uint8_t>(std::lround(std::clamp(d[i] / peak, 0.0, 1.0) * 255.0)) : 0;
  }
  return pic;
}

namespace {

// Data-parallel push: every rank's best candidate per prototype, the smallest distance winning
// (ties: the lowest rank, whose slice comes first in the training order). Leaves every rank with
// the same best / best_vector / best_map / record.
void merge_ranks(ProcessGroup& group, const PreprocessedCohort& cohort, bool with_maps, std::array<int64_t, 3> map_shape,
                 int64_t D, std::vector<double>& best, std::vector<torch::Tensor>& best_vector,
                 std::vector<torch::Tensor>& best_map, PushRecord& record) {
  const int64_t P = static_cast<int64_t>(best.size());
  if (with_maps) {
    const auto shapes = torch::stack(group.all_gather(torch::tensor(std::vector<int64_t>(map_shape.begin(), map_shape.end()), torch::kLong)));
    const auto idx = shapes.prod(1).argmax().item<int64_t>();
    for (size_t a = 0; a < 3; ++a) map_shape[a] = shapes[idx][static_cast<int64_t>(a)].item<int64_t>();
  }
  const int64_t N = with_maps ? map_shape[0] * map_shape[1] * map_shape[2] : 1;
  auto dist = torch::tensor(best, torch::kDouble);
  auto meta = torch::full({P, 4}, -1, torch::kLong);  // subject index, voxel
  auto vec = torch::zeros({P, std::max<int64_t>(D, 1)}, torch::kFloat);
  auto maps = torch::zeros({P, N}, torch::kFloat);
  for (int64_t p = 0; p < P; ++p) {
    const auto& rec = record.prototypes[static_cast<size_t>(p)];
    if (rec.subject_index < 0) continue;
    meta[p][0] = rec.subject_index;
    for (int64_t a = 0; a < 3; ++a) meta[p][a + 1] = rec.voxel[static_cast<size_t>(a)];
    vec[p].copy_(best_vector[static_cast<size_t>(p)].reshape({-1}));
    if (with_maps && best_map[static_cast<size_t>(p)].defined()) maps[p].copy_(best_map[static_cast<size_t>(p)].reshape({-1}));
  }
  const auto dists = group.all_gather(dist), metas = group.all_gather(meta), vecs = group.all_gather(vec);
  const auto all_maps = with_maps ? group.all_gather(maps) : std::vector<torch::Tensor>{};
  for (int64_t p = 0; p < P; ++p) {
    int w = -1;
    double v = std::numeric_limits<double>::infinity();
    for (int r = 0; r < group.size(); ++r) {
      const double d = dists[static_cast<size_t>(r)][p].item<double>();
      if (metas[static_cast<size_t>(r)][p][0].item<int64_t>() >= 0 && (w < 0 || d < v)) w = r, v = d;
    }
    auto& rec = record.prototypes[static_cast<size_t>(p)];
    if (w < 0) continue;  // no rank had a subject of this prototype's class
    const auto& m = metas[static_cast<size_t>(w)][p];
    best[static_cast<size_t>(p)] = v;
    rec.distance = v;
    rec.subject_index = m[0].item<int64_t>();
    rec.subject_id = cohort.id(rec.subject_index);
    for (int64_t a = 0; a < 3; ++a) rec.voxel[static_cast<size_t>(a)] = m[a + 1].item<int64_t>();
    best_vector[static_cast<size_t>(p)] = vecs[static_cast<size_t>(w)][p].narrow(0, 0, D).clone();
    if (with_maps) best_map[static_cast<size_t>(p)] = all_maps[static_cast<size_t>(w)][p].view({map_shape[0], map_shape[1], map_shape[2]}).clone();
  }
}

}  // namespace

PushRecord push_prototypes(nets::MProtoNet3DImpl& model, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& train_indices, const PushOptions& options) {
  check(!train_indices.empty() || options.group != nullptr, "push: no training subjects");
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
  std::vector<torch::Tensor> best_map(static_cast<size_t>(P));  // p_mode >= 2: M_p on the feature grid
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
  std::array<int64_t, 3> map_shape{0, 0, 0};  // p_mode >= 2: the occurrence maps' grid
  std::optional<BatchLoader> loader;
  if (!train_indices.empty()) {
    loader.emplace(cohort, train_indices, LoaderOptions::evaluation(options.batch_size));
    // workers: the default background worker prepares the next batch while this one runs.
    loader->start_epoch(0);
  }
  while (auto batch = loader ? loader->next() : std::nullopt) {
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
        map_shape = {maps.size(0), maps.size(1), maps.size(2)};
        if (options.pictures) best_map[static_cast<size_t>(p)] = maps.to(torch::kCPU, torch::kFloat).clone();
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
  if (options.group)
    merge_ranks(*options.group, cohort, pooled && options.pictures, map_shape, D, best, best_vector, best_map, record);
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
    if (options.pictures) {
      const auto image = cohort.image(rec.subject_index);  // [4, X, Y, Z]
      torch::Tensor up;
      std::array<int64_t, 3> where{};
      if (pooled) {
        // As the MProtoNet attribution map (docs/method.md#explanations): trilinear, align_corners false.
        up = torch::nn::functional::interpolate(
                 best_map[static_cast<size_t>(p)].unsqueeze(0).unsqueeze(0),
                 torch::nn::functional::InterpolateFuncOptions()
                     .size(std::vector<int64_t>{image.size(1), image.size(2), image.size(3)})
                     .mode(torch::kTrilinear)
                     .align_corners(false))[0][0];
        where = unravel(up.reshape({-1}).argmax().item<int64_t>(), {image.size(1), image.size(2), image.size(3)});
      } else {
        for (size_t a = 0; a < 3; ++a)
          where[a] = std::clamp<int64_t>((rec.receptive_field[a][0] + rec.receptive_field[a][1] - 1) / 2, 0,
                                         image.size(static_cast<int64_t>(a) + 1) - 1);
      }
      rec.picture = make_prototype_picture(image, where, up, options.picture_size);
    }
  }
  model.train(was_training);
  return record;
}

}  // namespace mprotonet
