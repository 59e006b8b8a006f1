// SPDX-License-Identifier: MIT
// Training of one fold: joint / push / last-layer steps, checkpoints, resume (see trainer.h).
#include "mprotonet/engines/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "mprotonet/core/bounds.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/error_text.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/loader.h"
#include "mprotonet/engines/distributed.h"
#include "mprotonet/engines/grad_scaler.h"
#include "mprotonet/engines/precision.h"
#include "mprotonet/engines/schedule.h"
#include "mprotonet/engines/train_step.h"
#include "mprotonet/io/zip_archive.h"
#include "mprotonet/losses/focal.h"
#include "mprotonet/nets/model_file.h"

namespace fs = std::filesystem;

namespace mprotonet {

std::string step_kind_name(StepKind k) {
  switch (k) {
    case StepKind::kJoint: return "joint";
    case StepKind::kPush: return "push";
    case StepKind::kLastLayer: return "last-layer";
  }
  return "?";
}

StepPlan::StepPlan(bool prototype_model, const TrainOptions& o)
    : prototype_(prototype_model), epochs_(o.epochs), push_interval_(o.push_interval), last_layer_epochs_(o.last_layer_epochs) {
  check(o.epochs >= 1, "training: epochs must be >= 1, got " + std::to_string(o.epochs));
  check(o.push_interval >= 0, "training: push_interval must be >= 0, got " + std::to_string(o.push_interval));
  check(o.last_layer_epochs >= 0, "training: last_layer_epochs must be >= 0, got " + std::to_string(o.last_layer_epochs));
  if (!prototype_) {
    size_ = epochs_;
    return;
  }
  // Pushes after every push_interval-th epoch (full blocks) and after the last one.
  full_blocks_ = push_interval_ > 0 ? epochs_ / push_interval_ : 0;
  final_push_ = push_interval_ == 0 || epochs_ % push_interval_ != 0;
  block_size_ = push_interval_ + 1 + last_layer_epochs_;
  size_ = epochs_ + (full_blocks_ + (final_push_ ? 1 : 0)) * (1 + last_layer_epochs_);
}

TrainStep StepPlan::at(int64_t s) const {
  check(s >= 0 && s < size_, "training step " + std::to_string(s) + " is outside the plan of " + std::to_string(size_));
  if (!prototype_) return {StepKind::kJoint, s + 1, 0};
  // Within a block of P joint epochs: offsets 0..P-1 joint, P the push, then last-layer epochs.
  auto in_block = [&](int64_t first_epoch, int64_t joints, int64_t offset) -> TrainStep {
    const int64_t push_epoch = first_epoch + joints - 1;
    if (offset < joints) return {StepKind::kJoint, first_epoch + offset, 0};
    if (offset == joints) return {StepKind::kPush, push_epoch, 0};
    return {StepKind::kLastLayer, push_epoch, offset - joints};
  };
  if (s < full_blocks_ * block_size_)
    return in_block((s / block_size_) * push_interval_ + 1, push_interval_, s % block_size_);
  const int64_t first = full_blocks_ * push_interval_ + 1;
  return in_block(first, epochs_ - first + 1, s - full_blocks_ * block_size_);
}

int64_t StepPlan::count(StepKind k) const {
  const int64_t pushes = prototype_ ? full_blocks_ + (final_push_ ? 1 : 0) : 0;
  switch (k) {
    case StepKind::kJoint: return epochs_;
    case StepKind::kPush: return pushes;
    case StepKind::kLastLayer: return pushes * last_layer_epochs_;
  }
  return 0;
}

std::vector<TrainStep> training_steps(bool prototype_model, const TrainOptions& o) {
  const StepPlan plan(prototype_model, o);
  std::vector<TrainStep> steps;
  for (int64_t s = 0; s < plan.size(); ++s) steps.push_back(plan.at(s));
  return steps;
}

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json j{{"step", r.step},
                   {"stage", step_kind_name(r.what.kind)},
                   {"epoch", r.what.epoch},
                   {"lr", r.lr},
                   {"losses", r.losses},
                   {"seconds", r.seconds}};
  if (r.what.kind == StepKind::kLastLayer) j["last_layer_epoch"] = r.what.sub_epoch;
  if (r.train) j["train"] = to_json(*r.train);
  if (r.test) j["test"] = to_json(*r.test);
  return j;
}

namespace {

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.step = j.at("step").get<int64_t>();
  const auto stage = j.at("stage").get<std::string>();
  r.what.kind = stage == "joint" ? StepKind::kJoint : stage == "push" ? StepKind::kPush : StepKind::kLastLayer;
  r.what.epoch = j.at("epoch").get<int64_t>();
  r.what.sub_epoch = j.value("last_layer_epoch", int64_t{0});
  r.lr = j.at("lr").get<double>();
  r.losses = j.at("losses").get<std::map<std::string, double>>();
  r.seconds = j.at("seconds").get<double>();
  if (j.contains("train")) r.train = metrics_from_json(j.at("train"));
  if (j.contains("test")) r.test = metrics_from_json(j.at("test"));
  return r;
}

}  // namespace

fs::path checkpoint_path(const fs::path& work_dir) { return work_dir / "checkpoint.pt"; }

// ------------------------------------------------------------------------------ training
namespace {

constexpr const char* kCheckpointFormat = "mprotonet-training-checkpoint-1";

// Streams derived from the run seed (Rng::derive keys), one per purpose.
constexpr uint64_t kStreamLoader = 1, kStreamMapping = 2;

std::string short_number(double v, int precision = 4) {
  std::ostringstream s;
  s << std::setprecision(precision) << v;
  return s.str();
}

std::string format_seconds(double s) {
  const auto t = static_cast<int64_t>(std::llround(s));
  std::ostringstream o;
  if (t >= 3600) o << t / 3600 << "h" << std::setw(2) << std::setfill('0') << (t % 3600) / 60 << "m";
  else if (t >= 60) o << t / 60 << "m" << std::setw(2) << std::setfill('0') << t % 60 << "s";
  else o << t << "s";
  return o.str();
}

// The settings a checkpoint must share with the run that resumes it.
nlohmann::json resume_fingerprint(const nets::ModelConfig& config, const TrainOptions& o,
                                  const std::vector<int64_t>& train_indices) {
  nlohmann::json opts = to_json(o);
  for (const char* volatile_key : {"device", "loader_workers", "threads", "eval_batch_size", "eval_interval"})
    opts.erase(std::string(volatile_key));
  return {{"config", nets::model_config_to_json(config)}, {"options", opts}, {"train_indices", train_indices}};
}

class FoldTrainer {
 public:
  FoldTrainer(const nets::ModelConfig& config, const TrainOptions& options, const PreprocessedCohort& cohort,
              const std::vector<int64_t>& train_indices, const std::vector<int64_t>& test_indices,
              const fs::path& work_dir, int fold)
      : config_(config),
        o_(options),
        cohort_(cohort),
        train_(train_indices),
        test_(test_indices),
        work_dir_(work_dir),
        fold_(fold),
        device_(parse_device(options.device)),
        precision_(parse_precision(options.precision)),
        group_(process_group()) {
    validate_train_options(o_);
    root_ = group_ == nullptr || group_->is_root();
    o_.verbose = o_.verbose && root_;  // one log per run: rank 0's
    check(o_.batch_size >= 1, "training: batch_size must be >= 1, got " + std::to_string(o_.batch_size));
    // Each process of a node drives its own GPU: "cuda" in a group means cuda:LOCAL_RANK.
    if (group_ && device_.is_cuda() && !device_.has_index())
      device_ = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(group_->environment().local_rank));
    model_ = nets::build_model(config_, o_.seed);
    model_->to(device_);
    if (group_) broadcast_module(*group_, *model_);  // every rank starts from rank 0's weights
    proto_ = std::dynamic_pointer_cast<nets::MProtoNet3DImpl>(model_);
    loss_ = o_.loss ? *o_.loss : (proto_ ? LossOptions::for_p_mode(model_->p_mode()) : LossOptions{});
    plan_ = StepPlan(proto_ != nullptr, o_);
    schedule_.base_lr = o_.lr;
    schedule_.epochs = o_.epochs;
    schedule_.warmup_epochs = o_.warmup_epochs;
    resolved_warmup_epochs(schedule_);  // validates

    std::vector<int64_t> counts(2, 0);
    for (int64_t i : train_) {
      const int y = cohort_.label(i);
      check(y == 0 || y == 1, "training: subject " + cohort_.id(i) + " has no grade (label " + std::to_string(y) + ")");
      ++counts[static_cast<size_t>(y)];
    }
    check(counts[0] > 0 && counts[1] > 0, "fold " + std::to_string(fold_) + ": the training subjects hold one class only (" +
                                              std::to_string(counts[0]) + " LGG, " + std::to_string(counts[1]) +
                                              " HGG); both classes are needed");
    class_weights_ = class_balanced_weights(counts).to(device_);
    make_optimizers();

    LoaderOptions lo;
    lo.batch_size = o_.batch_size;
    lo.augment = o_.augment;
    lo.seed = Rng::derive(o_.seed, {kStreamLoader}).next_u64();
    lo.workers = o_.loader_workers;
    lo.pin_memory = device_.is_cuda();  // the batch's copy to the GPU overlaps the computation
    if (group_) {
      lo.shard_rank = group_->rank();
      lo.shard_count = group_->size();
    }
    loader_ = std::make_unique<BatchLoader>(cohort_, train_, lo);
  }

  FoldTrainResult run(bool resume) {
    if (root_) fs::create_directories(work_dir_);
    int64_t next = 0;
    bool have_checkpoint = root_ && fs::exists(checkpoint_path(work_dir_));  // rank 0's view decides
    if (group_) have_checkpoint = group_->broadcast_value(have_checkpoint ? 1 : 0) != 0;
    if (resume && have_checkpoint) next = load_checkpoint();
    else if (!resume && have_checkpoint)
      throw Error(checkpoint_path(work_dir_).string() + " exists (an earlier, unfinished run); use --resume to continue "
                                                         "it or choose another output folder");
    if (next > 0 && o_.verbose)
      std::cerr << "[fold " << fold_ << "] resuming after step " << next << "/" << plan_.size() << "\n";
    FoldTrainResult result;
    for (int64_t s = next; s < plan_.size(); ++s) {
      EpochRecord rec = run_step(s);
      history_.push_back(rec);
      if (root_) {  // outputs: rank 0 only
        save_checkpoint(s + 1);
        write_history();
      }
      if (o_.verbose) print_line(rec);
      if (o_.stop_after_steps >= 0 && s + 1 >= o_.stop_after_steps && s + 1 < plan_.size()) {
        result.completed = false;
        result.model = model_;
        result.push = push_;
        result.history = history_;
        return result;
      }
    }
    result.completed = true;
    result.model = model_;
    result.push = push_;
    result.history = history_;
    return result;
  }

 private:
  void make_optimizers() {
    joint_ = make_joint_optimizer(*model_, o_);
    last_ = make_last_layer_optimizer(*model_, o_);
  }

  EpochRecord run_step(int64_t s) {
    const auto t0 = std::chrono::steady_clock::now();
    const TrainStep st = plan_.at(s);
    EpochRecord rec;
    rec.step = s + 1;
    rec.what = st;
    if (st.kind == StepKind::kPush) {
      push_ = with_context("while pushing prototypes (fold " + std::to_string(fold_) + ", epoch " +
                               std::to_string(st.epoch) + ")",
                           [&] {
                             PushOptions po;
                             po.batch_size = o_.eval_batch_size > 0 ? o_.eval_batch_size : o_.batch_size;
                             po.device = device_;
                             po.group = group_;  // each rank searches a slice; the best of all wins
                             return push_prototypes(
                                 *proto_, cohort_, group_ ? contiguous_shard(train_, group_->rank(), group_->size()) : train_, po);
                           });
      push_->epoch = st.epoch;
      double mean = 0.0;
      for (const auto& p : push_->prototypes) mean += p.distance;
      rec.losses["push_distance_mean"] = mean / static_cast<double>(push_->prototypes.size());
    } else {
      run_training_epoch(s, st, rec);
      const bool before_push_or_end = s + 1 == plan_.size() || plan_.at(s + 1).kind == StepKind::kPush;
      if (o_.recalibrate_bn && st.kind == StepKind::kJoint && before_push_or_end)
        recalibrate_batchnorm(*model_, cohort_, train_, o_.eval_batch_size > 0 ? o_.eval_batch_size : o_.batch_size,
                              device_, o_.precision);
    }
    const bool eval_now = o_.eval_interval > 0 && !test_.empty() &&
                          ((st.kind == StepKind::kJoint && st.epoch % o_.eval_interval == 0) ||
                           s + 1 == plan_.size());
    if (eval_now)
      rec.test = metrics_of(predict(*model_, cohort_, test_, o_.eval_batch_size > 0 ? o_.eval_batch_size : o_.batch_size,
                                    device_, o_.precision));
    // Running statistics (BatchNorm) are rank 0's on every rank, as with DataParallel, whose
    // replicas' statistics are discarded; parameters are equal already (averaged gradients).
    if (group_) broadcast_buffers(*group_, *model_);
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rec;
  }

  void run_training_epoch(int64_t s, const TrainStep& st, EpochRecord& rec) {
    model_->train();
    set_trainable(*model_, st.kind);
    torch::optim::AdamW& opt = st.kind == StepKind::kLastLayer ? *last_ : *joint_;
    if (st.kind == StepKind::kJoint) {
      rec.lr = learning_rate(st.epoch - 1, schedule_);
      for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(rec.lr);
    } else {
      rec.lr = o_.last_layer_lr;
    }
    ClassificationAccumulator acc;
    std::map<std::string, double> sums;
    int64_t nb = 0;
    const int64_t total_batches = loader_->batches_per_epoch();
    const bool bar = o_.verbose && isatty(fileno(stderr));
    loader_->start_epoch(s);
    while (auto batch = loader_->next()) {
      const auto x = batch->images.to(device_, /*non_blocking=*/batch->images.is_pinned());
      const auto y = batch->labels.to(device_);
      Rng rng = Rng::derive(o_.seed, {kStreamMapping, static_cast<uint64_t>(s), static_cast<uint64_t>(batch->batch_index)});
      auto [terms, logits] = batch_objective(*model_, st.kind, x, y, class_weights_, loss_, rng, precision_, device_);
      auto values = terms.values();
      if (group_) values = mean_over_ranks(values);  // every rank sees (and stops on) the same figures
      if (!std::isfinite(values.at("total"))) {
        std::ostringstream msg;
        msg << "fold " << fold_ << ", epoch " << st.epoch << " (" << step_kind_name(st.kind)
            << (st.kind == StepKind::kLastLayer ? " " + std::to_string(st.sub_epoch) : std::string()) << "), batch "
            << batch->batch_index + 1 << "/" << total_batches << ": the loss is not finite (";
        bool first = true;
        for (const auto& [k, v] : values) msg << (first ? "" : ", ") << k << " " << v, first = false;
        msg << "); training stopped. The last good state is kept in " << checkpoint_path(work_dir_).string()
            << "; lower --lr or check the data";
        throw Error(msg.str());
      }
      opt.zero_grad();
      scaler_.scale_loss(terms.total).backward();
      if (group_) average_gradients(*group_, *model_);  // every rank then sees the same inf / NaN
      if (scaler_.unscale_and_update(model_->parameters())) opt.step();
      if (group_) acc.update(torch::cat(group_->all_gather(logits.detach().to(torch::kCPU, torch::kFloat))),
                             torch::cat(group_->all_gather(y.to(torch::kCPU))));
      else acc.update(logits.detach(), y);
      for (const auto& [k, v] : values) sums[k] += v;
      ++nb;
      if (bar) std::cerr << "\r  [fold " << fold_ << "] " << step_kind_name(st.kind) << " batch " << nb << "/" << total_batches
                         << std::flush;
    }
    if (bar) std::cerr << "\r\033[K" << std::flush;
    for (auto& [k, v] : sums) rec.losses[k] = v / static_cast<double>(nb);
    rec.train = acc.aggregate();
  }

  std::map<std::string, double> mean_over_ranks(const std::map<std::string, double>& values) {
    std::vector<double> v;
    for (const auto& kv : values) v.push_back(kv.second);
    auto t = torch::tensor(v, torch::kDouble);
    group_->average({t});
    std::map<std::string, double> out;
    int64_t i = 0;
    for (const auto& kv : values) out[kv.first] = t[i++].item<double>();
    return out;
  }

  // ---- checkpoints
  void save_checkpoint(int64_t next_step) {
    nlohmann::json meta{{"format", kCheckpointFormat},
                        {"fold", fold_},
                        {"next_step", next_step},
                        {"total_steps", plan_.size()},
                        {"fingerprint", resume_fingerprint(config_, o_, train_)}};
    nlohmann::json hist = nlohmann::json::array();
    for (const auto& r : history_) hist.push_back(to_json(r));
    meta["history"] = hist;
    meta["push"] = push_ ? to_json(*push_) : nlohmann::json(nullptr);
    if (scaler_.enabled()) meta["grad_scaler"] = scaler_.to_json();
    const auto state = nets::model_state(*model_);
    std::vector<torch::Tensor> tensors;
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, t] : state) {
      names.push_back(name);
      tensors.push_back(t.to(torch::kCPU));
    }
    meta["tensor_names"] = names;
    torch::serialize::OutputArchive ar;
    ar.write("meta", c10::IValue(meta.dump()));
    ar.write("model", c10::IValue(tensors));
    torch::serialize::OutputArchive joint;
    joint_->save(joint);
    ar.write("joint_optimizer", joint);
    if (last_) {
      torch::serialize::OutputArchive last;
      last_->save(last);
      ar.write("last_layer_optimizer", last);
    }
    // Serialised to memory and written here with checked writes: LibTorch's zip writer, given a
    // file, calls std::terminate on a short write (a full disk) while closing it.
    std::string bytes;
    ar.save_to([&](const void* data, size_t n) -> size_t {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
    write_bytes_atomically(checkpoint_path(work_dir_), bytes.data(), bytes.size());
  }

  int64_t load_checkpoint() {
    const fs::path path = checkpoint_path(work_dir_);
    return with_context("while resuming from " + path.string(), [&]() -> int64_t {
      // Rank 0 reads and checks the file and hands its bytes to the others (no shared folder needed).
      std::string bytes;
      std::exception_ptr failure;
      if (root_) {
        try {
          zip::verify_archive(path);  // LibTorch's reader does not check the records' CRC-32
          bytes = read_text_file(path);  // whole file, binary-safe
        } catch (...) {
          failure = std::current_exception();
        }
      }
      if (group_) bytes = group_->broadcast_bytes(bytes);
      if (failure) std::rethrow_exception(failure);
      check(!bytes.empty(), "rank 0 could not read the checkpoint (see its message)");
      try {
        return read_checkpoint(bytes);
      } catch (const c10::Error& e) {  // LibTorch's message without its stack trace
        throw Error("the checkpoint is unreadable (" + brief_error_text(e) + ")");
      }
    });
  }

  int64_t read_checkpoint(const std::string& bytes) {
    torch::serialize::InputArchive ar;
    ar.load_from(bytes.data(), bytes.size());
    c10::IValue meta_v, model_v;
    ar.read("meta", meta_v);
    const auto meta = nlohmann::json::parse(meta_v.toStringRef());
    check(meta.value("format", "") == kCheckpointFormat, "not a training checkpoint (format " +
                                                             meta.value("format", std::string("?")) + ")");
    const auto expected = resume_fingerprint(config_, o_, train_);
    if (meta.at("fingerprint") != expected) {
      std::string diff;
      for (const char* k : {"config", "options", "train_indices"})
        if (meta.at("fingerprint").at(k) != expected.at(k)) diff += std::string(diff.empty() ? "" : ", ") + k;
      throw Error("the checkpoint was written with different settings (" + diff +
                  " differ); resume with the original options or start a new run");
    }
    ar.read("model", model_v);
    const auto tensors = model_v.toTensorVector();
    const auto names = meta.at("tensor_names").get<std::vector<std::string>>();
    check(names.size() == tensors.size(), "the checkpoint's tensor list is inconsistent");
    NamedTensors state;
    for (size_t i = 0; i < names.size(); ++i) state.emplace_back(names[i], tensors[i]);
    nets::load_model_state(*model_, state, checkpoint_path(work_dir_).string());
    torch::serialize::InputArchive joint;
    ar.read("joint_optimizer", joint);
    joint_->load(joint);
    if (last_) {
      torch::serialize::InputArchive last;
      ar.read("last_layer_optimizer", last);
      last_->load(last);
    }
    history_.clear();
    for (const auto& r : meta.at("history")) history_.push_back(epoch_record_from_json(r));
    if (!meta.at("push").is_null()) push_ = push_record_from_json(meta.at("push"));
    if (scaler_.enabled() && meta.contains("grad_scaler")) scaler_.from_json(meta.at("grad_scaler"));
    return meta.at("next_step").get<int64_t>();
  }

  void write_history() {
    std::string text;
    for (const auto& r : history_) text += to_json(r).dump() + "\n";
    write_text_atomically(work_dir_ / "epochs.jsonl", text);
  }

  void print_line(const EpochRecord& r) {
    std::ostringstream line;
    line << "[fold " << fold_ << "] epoch " << r.what.epoch << "/" << o_.epochs << " " << step_kind_name(r.what.kind);
    if (r.what.kind == StepKind::kLastLayer) line << " " << r.what.sub_epoch << "/" << o_.last_layer_epochs;
    if (r.what.kind != StepKind::kPush) {
      line << "  loss " << short_number(r.losses.count("total") ? r.losses.at("total") : 0.0);
      std::string terms;
      for (const auto& [k, v] : r.losses)
        if (k != "total") terms += (terms.empty() ? "" : " ") + k + " " + short_number(v);
      if (!terms.empty()) line << " (" << terms << ")";
      if (r.train) line << "  train acc " << short_number(r.train->accuracy, 3) << " bac " << short_number(r.train->balanced_accuracy, 3);
      line << "  lr " << short_number(r.lr, 3);
    } else {
      line << "  mean distance " << short_number(r.losses.at("push_distance_mean"));
    }
    if (r.test) line << "  test bac " << short_number(r.test->balanced_accuracy, 3) << " auc " << short_number(r.test->auc, 3);
    // ETA: remaining steps at the mean duration of their kind so far (joint mean when unknown).
    std::map<StepKind, std::pair<double, int64_t>> per_kind;
    for (const auto& h : history_) {
      per_kind[h.what.kind].first += h.seconds;
      per_kind[h.what.kind].second += 1;
    }
    auto mean_of = [&](StepKind k) {
      auto it = per_kind.find(k);
      if (it != per_kind.end()) return it->second.first / static_cast<double>(it->second.second);
      auto j = per_kind.find(StepKind::kJoint);
      return j != per_kind.end() ? j->second.first / static_cast<double>(j->second.second) : 0.0;
    };
    double eta = 0.0;
    for (const StepKind k : {StepKind::kJoint, StepKind::kPush, StepKind::kLastLayer}) {
      const auto it = per_kind.find(k);
      const int64_t done = it == per_kind.end() ? 0 : it->second.second;
      eta += mean_of(k) * static_cast<double>(plan_.count(k) - done);
    }
    line << "  " << short_number(r.seconds, 3) << " s  ETA " << format_seconds(eta);
    std::cerr << line.str() << std::endl;
  }

  nets::ModelConfig config_;
  TrainOptions o_;
  const PreprocessedCohort& cohort_;
  std::vector<int64_t> train_, test_;
  fs::path work_dir_;
  int fold_;
  torch::Device device_;
  Precision precision_;
  GradScaler scaler_{precision_ == Precision::kFp16};  ///< loss scaling of fp16 autocast
  ProcessGroup* group_ = nullptr;  ///< data-parallel training when set (distributed.h)
  bool root_ = true;               ///< writes the outputs (rank 0, or the only process)
  nets::Classifier model_;
  std::shared_ptr<nets::MProtoNet3DImpl> proto_;
  LossOptions loss_;
  StepPlan plan_;
  LrScheduleOptions schedule_;
  torch::Tensor class_weights_;
  std::unique_ptr<torch::optim::AdamW> joint_, last_;
  std::unique_ptr<BatchLoader> loader_;
  std::vector<EpochRecord> history_;
  std::optional<PushRecord> push_;
};

}  // namespace

FoldTrainResult train_fold(const nets::ModelConfig& config, const TrainOptions& options, const PreprocessedCohort& cohort,
                           const std::vector<int64_t>& train_indices, const std::vector<int64_t>& test_indices,
                           const fs::path& work_dir, int fold, bool resume) {
  FoldTrainer trainer(config, options, cohort, train_indices, test_indices, work_dir, fold);
  return trainer.run(resume);
}

}  // namespace mprotonet
