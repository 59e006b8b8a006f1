// SPDX-License-Identifier: MIT
// Data-parallel training on PyTorch's distributed runtime (c10d): the process group a launcher
// describes in the environment, and the few collectives training needs.
//
// Launchers: torchrun (`python3 -m torch.distributed.run --no-python ...`: RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE) or
// Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE; MASTER_ADDR /
// MASTER_PORT when set, else the first host of SLURM_STEP_NODELIST / SLURM_JOB_NODELIST and
// port 29500 + SLURM_JOB_ID % 1000; only inside an srun step, not in the batch script itself). Without these variables (or with MPROTONET_DISTRIBUTED=0)
// nothing changes: one process, no group. Rendezvous: a c10d TCPStore (hosted by torchrun's
// agent, or by rank 0); transport: Gloo over TCP, on the CPU (tensors of a CUDA model are copied
// to the CPU for the collectives). MPROTONET_DIST_TIMEOUT (seconds, default 600) bounds joining
// and every collective; a rank that dies makes the others fail at their next collective.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

namespace torch::nn {
class Module;
}

namespace mprotonet {

/// This process's place in a multi-process launch.
struct LaunchEnvironment {
  std::string launcher;  ///< "torchrun" or "slurm"
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr;
  int master_port = 0;
  /// torchrun's agent hosts the store (every rank is a client, keys under /worker/attempt_N).
  bool agent_store = false;
  int restart_count = 0;
  /// Rendezvous through this file (c10d FileStore, on a folder every rank sees) instead of a TCP
  /// store; MPROTONET_DIST_STORE_FILE. Empty: TCP at master_addr:master_port. Default empty.
  std::string store_file;
  std::chrono::milliseconds timeout{600000};
};

/// The launch described by the variables `getenv` returns; nullopt when no launcher's variables
/// are present or MPROTONET_DISTRIBUTED=0. Error naming the variable when they are inconsistent
/// (a rank outside 0..WORLD_SIZE-1, a missing MASTER_ADDR, a port outside 1..65535, ...).
std::optional<LaunchEnvironment> launch_environment(const std::function<const char*(const char*)>& getenv);
/// launch_environment() of this process's environment.
std::optional<LaunchEnvironment> launch_environment();

/// First host name of a Slurm node list ("gpu[07-09,12],cpu1" -> "gpu07").
std::string first_slurm_host(const std::string& nodelist);

/// A joined group of processes: Gloo, and NCCL for averaging CUDA tensors where LibTorch has it
/// (PyPI's CUDA builds define USE_C10D_NCCL). Collectives block until every rank has called them;
/// a failure (a rank that died, the timeout) is an Error naming this rank.
/// How long the other ranks wait at a barrier for rank 0's one-rank work (preprocessing a
/// cohort, writing the synthetic one), which may take hours on a large dataset.
inline constexpr std::chrono::hours kWaitForRankZero{24};

class ProcessGroup {
 public:
  /// Joins the group (blocks until all world_size ranks have joined, or the timeout).
  explicit ProcessGroup(const LaunchEnvironment& env);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return env_.rank; }
  int size() const { return env_.world_size; }
  bool is_root() const { return env_.rank == 0; }
  const LaunchEnvironment& environment() const { return env_; }

  /// Replaces each tensor by the mean over the ranks, reduced in flattened buckets of at most
  /// bucket_bytes (one collective per bucket). Tensors of one dtype; any device.
  void average(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = 25 << 20);
  /// Copies root's tensors into every rank's (same shapes and dtypes on every rank).
  void broadcast(const std::vector<torch::Tensor>& tensors, int root = 0);
  /// Every rank's `t` (same shape and dtype on every rank), in rank order.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& t);
  /// root's value on every rank.
  int64_t broadcast_value(int64_t v, int root = 0);
  /// root's bytes on every rank.
  std::string broadcast_bytes(const std::string& bytes, int root = 0);
  /// Waits until every rank has called it (at most `timeout`; default: the group's).
  void barrier(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

 private:
  struct Impl;
  LaunchEnvironment env_;
  std::unique_ptr<Impl> impl_;
};

/// This process's group: joined on the first call when launch_environment() describes a launch of
/// more than one process; nullptr otherwise (and then nothing is distributed).
ProcessGroup* process_group();
/// Rank of this process (0 without a group).
int process_rank();

/// {"world_size", "launcher", "backend", "rank_batch"} for run.json (world size 1 without a group).
nlohmann::json distributed_info(int64_t batch_size);

/// Broadcasts every parameter and buffer of `module` from rank 0.
void broadcast_module(ProcessGroup& group, torch::nn::Module& module);
/// Broadcasts the buffers (BatchNorm running statistics) of `module` from rank 0.
void broadcast_buffers(ProcessGroup& group, torch::nn::Module& module);
/// Averages the gradients of every parameter of `module` that has one, across the ranks.
void average_gradients(ProcessGroup& group, torch::nn::Module& module);

/// 64-bit FNV-1a over the bytes of every parameter and buffer of `module`, in order: equal
/// digests mean bitwise-equal weights.
uint64_t weights_digest(torch::nn::Module& module);
/// Every rank's weights_digest (rank order) as 16-digit hex; Error when they differ (the ranks'
/// models have diverged, which averaged gradients and broadcast buffers rule out).
std::vector<std::string> check_same_weights(ProcessGroup& group, torch::nn::Module& module);

/// The `rank`-th of `parts` contiguous, nearly equal slices of `items` (the first ones one
/// longer when the count does not divide).
std::vector<int64_t> contiguous_shard(const std::vector<int64_t>& items, int rank, int parts);

}  // namespace mprotonet
