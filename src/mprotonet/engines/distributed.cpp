// SPDX-License-Identifier: MIT
// Process group from the launcher's environment, and the collectives of data-parallel training
// (see distributed.h). c10d's and Gloo's headers stay in this file.
#include "mprotonet/engines/distributed.h"

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <mutex>

#include <nlohmann/json.hpp>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#ifdef USE_C10D_NCCL  // defined by the torch target of a LibTorch built with NCCL (PyPI's CUDA wheel)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/nn/module.h>

#include "mprotonet/core/error.h"
#include "mprotonet/core/error_text.h"

namespace mprotonet {

namespace {

using Getenv = std::function<const char*(const char*)>;

std::optional<std::string> variable(const Getenv& getenv, const char* name) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

int64_t integer_variable(const Getenv& getenv, const char* name, int64_t lo, int64_t hi) {
  const auto v = variable(getenv, name);
  check(v.has_value(), std::string("the launcher variable ") + name + " is not set");
  char* end = nullptr;
  errno = 0;
  const long long x = std::strtoll(v->c_str(), &end, 10);
  check(errno == 0 && end != v->c_str() && *end == '\0' && x >= lo && x <= hi,
        std::string("the launcher variable ") + name + "=" + *v + " is not an integer in " + std::to_string(lo) + ".." +
            std::to_string(hi));
  return x;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry at bracket depth 0, each bracketed range list replaced by its first number
  // ("rack[1-2]-n[001-004],x" -> "rack1-n001").
  std::string host;
  bool in_brackets = false, took_first = false;
  for (char c : nodelist) {
    if (!in_brackets && c == ',') break;
    if (c == '[') {
      in_brackets = true;
      took_first = false;
    } else if (c == ']') {
      in_brackets = false;
    } else if (!in_brackets) {
      host += c;
    } else if (!took_first) {
      if (c == ',' || c == '-') took_first = true;
      else host += c;
    }
  }
  return host;
}

std::optional<LaunchEnvironment> launch_environment(const Getenv& getenv) {
  if (variable(getenv, "MPROTONET_DISTRIBUTED") == std::string("0")) return std::nullopt;
  LaunchEnvironment e;
  const bool torchrun = variable(getenv, "WORLD_SIZE") || variable(getenv, "RANK");
  const bool slurm = !torchrun && variable(getenv, "SLURM_PROCID") && variable(getenv, "SLURM_NTASKS") &&
                     variable(getenv, "SLURM_STEP_ID");  // inside an srun step, not the batch script
  if (!torchrun && !slurm) return std::nullopt;
  return with_context(std::string("while reading the ") + (torchrun ? "torchrun" : "Slurm") + " launch variables", [&] {
    e.launcher = torchrun ? "torchrun" : "slurm";
    if (torchrun) {
      e.world_size = static_cast<int>(integer_variable(getenv, "WORLD_SIZE", 1, 1 << 20));
      e.rank = static_cast<int>(integer_variable(getenv, "RANK", 0, e.world_size - 1));
      e.local_rank = variable(getenv, "LOCAL_RANK") ? static_cast<int>(integer_variable(getenv, "LOCAL_RANK", 0, e.world_size - 1)) : 0;
      e.local_world_size = variable(getenv, "LOCAL_WORLD_SIZE")
                               ? static_cast<int>(integer_variable(getenv, "LOCAL_WORLD_SIZE", 1, e.world_size))
                               : 1;
      e.agent_store = variable(getenv, "TORCHELASTIC_USE_AGENT_STORE") == std::string("True");
      if (e.agent_store)
        e.restart_count = static_cast<int>(integer_variable(getenv, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20));
    } else {
      e.world_size = static_cast<int>(integer_variable(getenv, "SLURM_NTASKS", 1, 1 << 20));
      e.rank = static_cast<int>(integer_variable(getenv, "SLURM_PROCID", 0, e.world_size - 1));
      e.local_rank = variable(getenv, "SLURM_LOCALID") ? static_cast<int>(integer_variable(getenv, "SLURM_LOCALID", 0, e.world_size - 1)) : 0;
      // SLURM_NTASKS_PER_NODE may be "2(x3)" or absent; the thread default only needs an estimate.
      if (const auto per = variable(getenv, "SLURM_NTASKS_PER_NODE")) e.local_world_size = std::max(1, std::atoi(per->c_str()));
    }
    check(e.local_rank < e.local_world_size || !variable(getenv, "LOCAL_WORLD_SIZE"),
          "LOCAL_RANK " + std::to_string(e.local_rank) + " is not below LOCAL_WORLD_SIZE " + std::to_string(e.local_world_size));
    if (const auto addr = variable(getenv, "MASTER_ADDR")) e.master_addr = *addr;
    else if (slurm) {
      const auto list = variable(getenv, "SLURM_STEP_NODELIST") ? variable(getenv, "SLURM_STEP_NODELIST")
                                                                  : variable(getenv, "SLURM_JOB_NODELIST");
      check(list.has_value(), "MASTER_ADDR is not set and neither is SLURM_STEP_NODELIST nor SLURM_JOB_NODELIST");
      e.master_addr = first_slurm_host(*list);
    }
    if (variable(getenv, "MASTER_PORT")) e.master_port = static_cast<int>(integer_variable(getenv, "MASTER_PORT", 1, 65535));
    else if (slurm && variable(getenv, "SLURM_JOB_ID"))
      e.master_port = 29500 + static_cast<int>(integer_variable(getenv, "SLURM_JOB_ID", 0, INT64_MAX / 2) % 1000);
    if (const auto file = variable(getenv, "MPROTONET_DIST_STORE_FILE")) e.store_file = *file;
    if (e.world_size > 1 && e.store_file.empty()) {
      check(!e.master_addr.empty(), "MASTER_ADDR is not set (the host of rank 0's rendezvous)");
      check(e.master_port > 0, "MASTER_PORT is not set (the port of rank 0's rendezvous)");
    }
    if (variable(getenv, "MPROTONET_DIST_TIMEOUT"))
      e.timeout = std::chrono::milliseconds(1000 * integer_variable(getenv, "MPROTONET_DIST_TIMEOUT", 1, 7 * 24 * 3600));
    return std::optional<LaunchEnvironment>(e);
  });
}

std::optional<LaunchEnvironment> launch_environment() {
  return launch_environment([](const char* name) { return std::getenv(name); });
}

// ------------------------------------------------------------------------------ process group
struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
#ifdef USE_C10D_NCCL
  // CUDA tensors are averaged by NCCL, GPU to GPU; the group is made at the first such collective
  // (every rank reaches it together), so CPU-only runs never touch CUDA.
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
  c10d::ProcessGroupNCCL& nccl_group(const LaunchEnvironment& env) {
    if (!nccl) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = env.timeout;
      nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(c10::make_intrusive<c10d::PrefixStore>("nccl", store), env.rank,
                                                         env.world_size, options);
    }
    return *nccl;
  }
#endif
  /// Whether tensors like `t` are reduced where they are (CUDA tensors, where NCCL is compiled
  /// in) rather than through the CPU and Gloo.
  bool on_device(const torch::Tensor& t) const {
#ifdef USE_C10D_NCCL
    return t.is_cuda();
#else
    (void)t;
    return false;
#endif
  }
  /// Sums `v` across ranks with the transport on_device() chose.
  void allreduce(std::vector<torch::Tensor>& v, const LaunchEnvironment& env) {
#ifdef USE_C10D_NCCL
    if (on_device(v[0])) {
      nccl_group(env).allreduce(v)->wait();
      return;
    }
#else
    (void)env;
#endif
    pg->allreduce(v)->wait();
  }
};

namespace {

// Runs a collective; a failure (a peer that closed its connection, the timeout) becomes an Error
// that says which rank saw it and what to look for.
template <typename Fn>
void collective(const LaunchEnvironment& env, const std::string& what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    throw Error("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) + ": " + what +
                " failed (" + brief_error_text(e) +
                "); another process of the group stopped or the timeout (MPROTONET_DIST_TIMEOUT, " +
                std::to_string(env.timeout.count() / 1000) + " s) passed; see the other ranks' messages");
  }
}

// Flattens consecutive tensors of one dtype into buckets of at most `bucket_bytes`, runs `op`
// on each bucket (a CPU tensor, or on the tensors' device when `on_device`) and copies the
// result back.
void for_each_bucket(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes,
                     const std::function<void(torch::Tensor&)>& op, bool on_device = false) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  while (i < tensors.size()) {
    size_t j = i;
    int64_t bytes = 0;
    while (j < tensors.size() && tensors[j].scalar_type() == tensors[i].scalar_type() &&
           (j == i || bytes + tensors[j].numel() * tensors[j].element_size() <= bucket_bytes)) {
      bytes += tensors[j].numel() * tensors[j].element_size();
      ++j;
    }
    std::vector<torch::Tensor> flat_parts;
    for (size_t k = i; k < j; ++k)
      flat_parts.push_back(on_device ? tensors[k].detach().reshape({-1}) : tensors[k].detach().reshape({-1}).to(torch::kCPU));
    torch::Tensor flat = torch::cat(flat_parts).contiguous();
    op(flat);
    int64_t offset = 0;
    for (size_t k = i; k < j; ++k) {
      const int64_t n = tensors[k].numel();
      tensors[k].copy_(flat.narrow(0, offset, n).view(tensors[k].sizes()));
      offset += n;
    }
    i = j;
  }
}

// The rendezvous: a file, torchrun's agent store, or a TCP store hosted by rank 0.
c10::intrusive_ptr<c10d::Store> make_store(const LaunchEnvironment& env) {
  if (!env.store_file.empty()) {
    auto store = c10::make_intrusive<c10d::FileStore>(env.store_file, env.world_size);
    store->setTimeout(env.timeout);
    return store;
  }
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(env.master_port);
  so.isServer = !env.agent_store && env.rank == 0;
  so.numWorkers = env.agent_store ? c10::nullopt : c10::optional<size_t>(static_cast<size_t>(env.world_size));
  so.waitWorkers = false;
  so.timeout = env.timeout;
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
  if (env.agent_store)
    store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(env.restart_count), store);
  return store;
}

}  // namespace

ProcessGroup::ProcessGroup(const LaunchEnvironment& env) : env_(env), impl_(std::make_unique<Impl>()) {
  collective(env_, "joining the process group at " + env_.master_addr + ":" + std::to_string(env_.master_port), [&] {
    const c10::intrusive_ptr<c10d::Store> store = make_store(env_);
    impl_->store = c10::make_intrusive<c10d::PrefixStore>("mprotonet", store);
    auto options = c10d::ProcessGroupGloo::Options::create(env_.timeout);
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
    else if (is_loopback(env_.master_addr))  // one machine: stay on the loopback interface
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env_.rank, env_.world_size, options);
  });
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::average(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  collective(env_, "averaging across ranks", [&] {
    const bool device = !tensors.empty() && impl_->on_device(tensors[0]);
    for_each_bucket(
        tensors, bucket_bytes,
        [&](torch::Tensor& flat) {
          std::vector<torch::Tensor> v{flat};
          impl_->allreduce(v, env_);
          flat.div_(env_.world_size);
        },
        device);
  });
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int root) {
  collective(env_, "broadcasting from rank 0", [&] {
    for_each_bucket(tensors, 25 << 20, [&](torch::Tensor& flat) {
      std::vector<torch::Tensor> v{flat};
      c10d::BroadcastOptions bo;
      bo.rootRank = root;
      impl_->pg->broadcast(v, bo)->wait();
    });
  });
}

std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& t) {
  std::vector<std::vector<torch::Tensor>> out(1);
  collective(env_, "gathering from every rank", [&] {
    std::vector<torch::Tensor> in{t.detach().to(torch::kCPU).contiguous()};
    for (int r = 0; r < env_.world_size; ++r) out[0].push_back(torch::empty_like(in[0]));
    impl_->pg->allgather(out, in)->wait();
  });
  return out[0];
}

int64_t ProcessGroup::broadcast_value(int64_t v, int root) {
  auto t = torch::tensor({v}, torch::kLong);
  broadcast({t}, root);
  return t.item<int64_t>();
}

std::string ProcessGroup::broadcast_bytes(const std::string& bytes, int root) {
  const int64_t n = broadcast_value(static_cast<int64_t>(bytes.size()), root);
  if (n == 0) return {};
  auto t = torch::empty({n}, torch::kUInt8);
  if (rank() == root) std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), static_cast<size_t>(n));
  collective(env_, "broadcasting from rank 0", [&] {
    std::vector<torch::Tensor> v{t};
    c10d::BroadcastOptions bo;
    bo.rootRank = root;
    impl_->pg->broadcast(v, bo)->wait();
  });
  return std::string(reinterpret_cast<const char*>(t.data_ptr<uint8_t>()), static_cast<size_t>(n));
}

void ProcessGroup::barrier(std::chrono::milliseconds timeout) {
  collective(env_, "waiting for every rank", [&] {
    c10d::BarrierOptions bo;
    if (timeout.count() > 0) bo.timeout = timeout;
    impl_->pg->barrier(bo)->wait();
  });
}

ProcessGroup* process_group() {
  static std::once_flag once;
  static std::unique_ptr<ProcessGroup> group;
  static std::exception_ptr failure;
  std::call_once(once, [] {
    try {
      const auto env = launch_environment();
      if (env && env->world_size > 1) group = std::make_unique<ProcessGroup>(*env);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  if (failure) std::rethrow_exception(failure);
  return group.get();
}

int process_rank() {
  const ProcessGroup* g = process_group();
  return g ? g->rank() : 0;
}

nlohmann::json distributed_info(int64_t batch_size) {
  const ProcessGroup* g = process_group();
  const int w = g ? g->size() : 1;
  nlohmann::json j{{"world_size", w}, {"rank_batch", batch_size / w}};
  if (g) {
    j["launcher"] = g->environment().launcher;
    j["backend"] = "gloo";
    j["shards"] =
        "every epoch's seeded order cut into global batches of batch_size; rank r takes positions "
        "[r*rank_batch, (r+1)*rank_batch) of each; the push searches contiguous slices of the training subjects";
  }
  return j;
}

// ------------------------------------------------------------------------------ modules
void broadcast_module(ProcessGroup& group, torch::nn::Module& module) {
  group.broadcast(module.parameters());
  broadcast_buffers(group, module);
}

void broadcast_buffers(ProcessGroup& group, torch::nn::Module& module) {
  const auto buffers = module.buffers();
  if (!buffers.empty()) group.broadcast(buffers);
}

void average_gradients(ProcessGroup& group, torch::nn::Module& module) {
  std::vector<torch::Tensor> grads;
  int64_t numel = 0;
  for (auto& p : module.parameters())
    if (p.grad().defined()) {
      grads.push_back(p.mutable_grad());
      numel += p.numel();
    }
  // Every rank must reduce the same list: compare its size first (a mismatch would pair
  // unrelated buckets or wait forever).
  const auto sizes = group.all_gather(torch::tensor({numel}, torch::kLong));
  for (int r = 0; r < group.size(); ++r)
    check(sizes[static_cast<size_t>(r)].item<int64_t>() == numel,
          "rank " + std::to_string(r) + " has " + std::to_string(sizes[static_cast<size_t>(r)].item<int64_t>()) +
              " gradient values and rank " + std::to_string(group.rank()) + " has " + std::to_string(numel) +
              "; the processes do not train the same model");
  if (!grads.empty()) group.average(grads);
}

uint64_t weights_digest(torch::nn::Module& module) {
  uint64_t h = 1469598103934665603ull;
  auto feed = [&](const torch::Tensor& t) {
    const auto c = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const uint8_t*>(c.data_ptr());
    for (size_t i = 0, n = c.nbytes(); i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ull;
    }
  };
  for (const auto& p : module.named_parameters()) feed(p.value());
  for (const auto& b : module.named_buffers()) feed(b.value());
  return h;
}

std::vector<std::string> check_same_weights(ProcessGroup& group, torch::nn::Module& module) {
  const uint64_t mine = weights_digest(module);
  int64_t as_signed = 0;
  std::memcpy(&as_signed, &mine, sizeof mine);
  const auto all = group.all_gather(torch::tensor({as_signed}, torch::kLong));
  std::vector<std::string> hex;
  for (const auto& t : all) {
    const int64_t v = t.item<int64_t>();
    uint64_t u = 0;
    std::memcpy(&u, &v, sizeof u);
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(u));
    hex.emplace_back(buf);
  }
  for (size_t r = 1; r < hex.size(); ++r)
    check(hex[r] == hex[0], "after training, rank " + std::to_string(r) + "'s weights (digest " + hex[r] +
                                ") differ from rank 0's (" + hex[0] + "); the data-parallel run is inconsistent");
  return hex;
}

std::vector<int64_t> contiguous_shard(const std::vector<int64_t>& items, int rank, int parts) {
  check(parts >= 1 && rank >= 0 && rank < parts, "contiguous_shard: rank " + std::to_string(rank) + " of " + std::to_string(parts));
  const size_t n = items.size(), p = static_cast<size_t>(parts), r = static_cast<size_t>(rank);
  const size_t begin = r * (n / p) + std::min(r, n % p);
  const size_t len = n / p + (r < n % p ? 1 : 0);
  return std::vector<int64_t>(items.begin() + static_cast<std::ptrdiff_t>(begin),
                              items.begin() + static_cast<std::ptrdiff_t>(begin + len));
}

}  // namespace mprotonet
