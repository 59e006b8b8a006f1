// SPDX-License-Identifier: MIT
// Data-parallel training (engines/distributed.h): the launchers' variables, the ranks' shards,
// the collectives against a single-process computation (two ranks as two threads joined through
// a c10d FileStore), and the CLI on two processes through torchrun. Processes that listen on a
// port (torchrun's store, Gloo) run in a network namespace of their own holding only the
// loopback interface (`unshare -n`), so nothing listens on another address; without the
// permission for that the CLI tests are skipped, saying so.
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engines/engine_fixture.h"
#include "mprotonet/core/error.h"
#include "mprotonet/core/fs.h"
#include "mprotonet/data/loader.h"
#include "mprotonet/engines/distributed.h"
#include "mprotonet/engines/push.h"
#include "mprotonet/nets/model_file.h"
#include "common/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mprotonet {
namespace {

using Env = std::map<std::string, std::string>;

std::optional<LaunchEnvironment> parse(const Env& env) {
  return launch_environment([&](const char* k) -> const char* {
    const auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const Env& env) {
  try {
    parse(env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LaunchVariables, WithoutALauncherNothingIsDistributed) {
  EXPECT_FALSE(parse({}).has_value());
  // Inside an sbatch script (no srun step), the job's task count is not this process's group.
  EXPECT_FALSE(parse({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_ID", "7"}}).has_value());
  EXPECT_FALSE(parse({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "29500"},
                      {"MPROTONET_DISTRIBUTED", "0"}})
                   .has_value());
}

TEST(LaunchVariables, TorchrunVariables) {
  const auto e = parse({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                        {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29400"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                        {"TORCHELASTIC_RESTART_COUNT", "2"}, {"MPROTONET_DIST_TIMEOUT", "30"}});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->launcher, "torchrun");
  EXPECT_EQ(e->rank, 3);
  EXPECT_EQ(e->world_size, 4);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->local_world_size, 2);
  EXPECT_EQ(e->master_addr, "node7");
  EXPECT_EQ(e->master_port, 29400);
  EXPECT_TRUE(e->agent_store);
  EXPECT_EQ(e->restart_count, 2);
  EXPECT_EQ(e->timeout.count(), 30000);
}

TEST(LaunchVariables, SlurmVariablesAndTheFirstHostOfTheStep) {
  const auto e = parse({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}, {"SLURM_LOCALID", "1"}, {"SLURM_STEP_ID", "0"},
                        {"SLURM_NTASKS_PER_NODE", "2(x3)"}, {"SLURM_STEP_NODELIST", "gpu[07-09],cpu1"},
                        {"SLURM_JOB_ID", "123456"}});
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->launcher, "slurm");
  EXPECT_EQ(e->rank, 5);
  EXPECT_EQ(e->world_size, 6);
  EXPECT_EQ(e->local_rank, 1);
  EXPECT_EQ(e->local_world_size, 2);
  EXPECT_EQ(e->master_addr, "gpu07");
  EXPECT_EQ(e->master_port, 29500 + 456);
  EXPECT_EQ(first_slurm_host("n1"), "n1");
  EXPECT_EQ(first_slurm_host("a01,b02"), "a01");
  EXPECT_EQ(first_slurm_host("x[3]"), "x3");
  EXPECT_EQ(first_slurm_host("rack[1-2]-n[001-004],x"), "rack1-n001");
}

TEST(LaunchVariables, InconsistentVariablesAreOneClearError) {
  const Env ok{{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  EXPECT_EQ(error_of(ok), "");
  Env e = ok;
  e["RANK"] = "2";
  EXPECT_NE(error_of(e).find("RANK=2 is not an integer in 0..1"), std::string::npos) << error_of(e);
  e = ok;
  e.erase("WORLD_SIZE");
  EXPECT_NE(error_of(e).find("WORLD_SIZE is not set"), std::string::npos) << error_of(e);
  e = ok;
  e.erase("MASTER_ADDR");
  EXPECT_NE(error_of(e).find("MASTER_ADDR is not set"), std::string::npos) << error_of(e);
  e = ok;
  e["MASTER_PORT"] = "70000";
  EXPECT_NE(error_of(e).find("MASTER_PORT=70000"), std::string::npos) << error_of(e);
  e = ok;
  e["WORLD_SIZE"] = "two";
  EXPECT_NE(error_of(e).find("WORLD_SIZE=two"), std::string::npos) << error_of(e);
}

TEST(Shards, ContiguousNearlyEqualSlicesInOrder) {
  const std::vector<int64_t> items{10, 11, 12, 13, 14, 15, 16};
  EXPECT_EQ(contiguous_shard(items, 0, 3), (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(contiguous_shard(items, 1, 3), (std::vector<int64_t>{13, 14}));
  EXPECT_EQ(contiguous_shard(items, 2, 3), (std::vector<int64_t>{15, 16}));
  EXPECT_TRUE(contiguous_shard({10}, 1, 2).empty());
}

// ------------------------------------------------------------------------------ in-process ranks
struct Cohort {
  test::TempDir dir;
  std::unique_ptr<PreprocessedCohort> cohort;
  Cohort() {
    test::write_synthetic_cohort(dir / "data", {1, 0, 1, 1, 0, 1, 0, 1, 0, 1}, 5);
    cohort = std::make_unique<PreprocessedCohort>(test::build_small_cohort(dir / "data", dir / "cache"));
  }
};

const PreprocessedCohort& cohort() {
  static Cohort c;
  return *c.cohort;
}

std::vector<int64_t> all_subjects() {
  std::vector<int64_t> v(static_cast<size_t>(cohort().size()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i);
  return v;
}

// Runs fn(group) on `world` threads, each a rank of one group joined through a FileStore.
void run_ranks(int world, const std::function<void(ProcessGroup&)>& fn) {
  test::TempDir dir;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(static_cast<size_t>(world));
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        LaunchEnvironment env;
        env.launcher = "test";
        env.rank = r;
        env.world_size = world;
        env.master_addr = "127.0.0.1";
        env.store_file = (dir / "store").string();
        env.timeout = std::chrono::milliseconds(60000);
        ProcessGroup group(env);
        fn(group);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (int r = 0; r < world; ++r) EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
}

TEST(Collectives, AveragedGradientsAreTheMeanOfEachRanksOwnGradients) {
  at::set_num_threads(1);
  const auto config = test::tiny_config("MProtoNet3D_pm5");
  // Rank r's batch: subjects 2r, 2r + 1. Reference: each batch's gradients alone, then their mean.
  auto batch = [&](int r) {
    return torch::stack({cohort().image(2 * r), cohort().image(2 * r + 1)});
  };
  auto grads_of = [&](nets::ClassifierImpl& m, const torch::Tensor& x) {
    m.zero_grad();
    m.forward(x).logsumexp(1).sum().backward();
    std::vector<torch::Tensor> g;
    for (const auto& p : m.parameters())
      if (p.grad().defined()) g.push_back(p.grad().clone());
    return g;
  };
  std::vector<std::vector<torch::Tensor>> single(2);
  for (int r = 0; r < 2; ++r) {
    auto m = nets::build_model(config, 3);
    single[static_cast<size_t>(r)] = grads_of(*m, batch(r));
  }
  ASSERT_FALSE(single[0].empty());
  ASSERT_FALSE(torch::equal(single[0][0], single[1][0])) << "the two batches should give different gradients";
  std::vector<std::vector<torch::Tensor>> averaged(2);
  run_ranks(2, [&](ProcessGroup& g) {
    auto m = nets::build_model(config, 3);
    m->zero_grad();
    m->forward(batch(g.rank())).logsumexp(1).sum().backward();
    average_gradients(g, *m);
    for (const auto& p : m->parameters())
      if (p.grad().defined()) averaged[static_cast<size_t>(g.rank())].push_back(p.grad().clone());
  });
  ASSERT_EQ(averaged[0].size(), single[0].size());
  ASSERT_EQ(averaged[1].size(), single[0].size());
  for (size_t i = 0; i < single[0].size(); ++i) {
    const auto mean = (single[0][i] + single[1][i]) / 2;
    EXPECT_TRUE(torch::allclose(averaged[0][i], mean, 1e-6, 1e-9)) << "parameter " << i;
    EXPECT_TRUE(torch::equal(averaged[0][i], averaged[1][i])) << "parameter " << i << " differs between the ranks";
  }
}

TEST(Collectives, BroadcastGivesEveryRankRankZerosWeightsAndGatherKeepsRankOrder) {
  at::set_num_threads(1);
  const auto config = test::tiny_config("CNN3D");
  const uint64_t rank0 = weights_digest(*nets::build_model(config, 0));
  ASSERT_NE(rank0, weights_digest(*nets::build_model(config, 1)));
  std::vector<uint64_t> after(2);
  std::vector<std::vector<int64_t>> gathered(2);
  run_ranks(2, [&](ProcessGroup& g) {
    auto m = nets::build_model(config, static_cast<uint64_t>(g.rank()));  // different weights per rank
    broadcast_module(g, *m);
    after[static_cast<size_t>(g.rank())] = weights_digest(*m);
    EXPECT_EQ(check_same_weights(g, *m).size(), 2u);
    for (const auto& t : g.all_gather(torch::tensor({10 + g.rank()}, torch::kLong)))
      gathered[static_cast<size_t>(g.rank())].push_back(t.item<int64_t>());
    EXPECT_EQ(g.broadcast_bytes(g.rank() == 0 ? std::string("from rank 0\0x", 13) : std::string()),
              std::string("from rank 0\0x", 13));
  });
  EXPECT_EQ(after[0], rank0);
  EXPECT_EQ(after[1], rank0);
  EXPECT_EQ(gathered[1], (std::vector<int64_t>{10, 11}));
}

TEST(Collectives, DivergedWeightsAreAnError) {
  at::set_num_threads(1);
  const auto config = test::tiny_config("CNN3D");
  std::vector<std::string> messages(2);
  run_ranks(2, [&](ProcessGroup& g) {
    auto m = nets::build_model(config, static_cast<uint64_t>(g.rank()));
    try {
      check_same_weights(g, *m);
    } catch (const Error& e) {
      messages[static_cast<size_t>(g.rank())] = e.what();
    }
  });
  for (const auto& msg : messages) EXPECT_NE(msg.find("rank 1's weights"), std::string::npos) << msg;
}

TEST(DataParallelLoader, TheRanksShardsMakeUpTheSingleProcessBatch) {
  LoaderOptions o;
  o.batch_size = 4;
  o.seed = 9;
  o.workers = 0;
  auto epoch = [&](int rank, int count) {
    o.shard_rank = rank;
    o.shard_count = count;
    BatchLoader loader(cohort(), all_subjects(), o);
    std::vector<Batch> out;
    loader.start_epoch(3);
    while (auto b = loader.next()) out.push_back(*b);
    return out;
  };
  const auto whole = epoch(0, 1), r0 = epoch(0, 2), r1 = epoch(1, 2);
  ASSERT_EQ(whole.size(), 2u);
  ASSERT_EQ(r0.size(), 2u);
  ASSERT_EQ(r1.size(), 2u);
  for (size_t b = 0; b < whole.size(); ++b) {
    std::vector<int64_t> joined = r0[b].indices;
    joined.insert(joined.end(), r1[b].indices.begin(), r1[b].indices.end());
    EXPECT_EQ(joined, whole[b].indices);
    EXPECT_EQ(r0[b].indices.size(), 2u);
    // Augmented exactly as in one process (the augmentation stream follows the global position).
    EXPECT_TRUE(torch::equal(torch::cat({r0[b].images, r1[b].images}), whole[b].images));
  }
  o.shard_rank = 0;
  o.shard_count = 3;
  try {
    BatchLoader bad(cohort(), all_subjects(), o);
    ADD_FAILURE() << "a batch of 4 cannot be split over 3 processes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not divisible by the 3 processes"), std::string::npos) << e.what();
  }
}

void check_distributed_push(const std::string& model_name, int world) {
  at::set_num_threads(1);
  const auto config = test::tiny_config(model_name, 6);
  PushOptions po;
  po.batch_size = 3;
  auto single = nets::build_model(config, 4);
  auto& sp = dynamic_cast<nets::MProtoNet3DImpl&>(*single);
  const PushRecord expected = push_prototypes(sp, cohort(), all_subjects(), po);
  std::vector<PushRecord> got(static_cast<size_t>(world));
  std::vector<torch::Tensor> vectors(static_cast<size_t>(world));
  run_ranks(world, [&](ProcessGroup& g) {
    auto m = nets::build_model(config, 4);
    auto& mp = dynamic_cast<nets::MProtoNet3DImpl&>(*m);
    PushOptions o = po;
    o.group = &g;
    got[static_cast<size_t>(g.rank())] = push_prototypes(mp, cohort(), contiguous_shard(all_subjects(), g.rank(), g.size()), o);
    vectors[static_cast<size_t>(g.rank())] = mp.prototype_vectors.detach().clone();
  });
  for (int r = 0; r < world; ++r) {
    const auto& rec = got[static_cast<size_t>(r)];
    ASSERT_EQ(rec.prototypes.size(), expected.prototypes.size());
    for (size_t p = 0; p < rec.prototypes.size(); ++p) {
      const auto& a = rec.prototypes[p];
      const auto& b = expected.prototypes[p];
      EXPECT_EQ(a.subject_id, b.subject_id) << model_name << " rank " << r << " prototype " << p;
      EXPECT_EQ(a.voxel, b.voxel) << model_name << " rank " << r << " prototype " << p;
      EXPECT_NEAR(a.distance, b.distance, 1e-4 * (1 + std::abs(b.distance)));
      ASSERT_TRUE(a.picture.has_value());
      EXPECT_EQ(a.picture->input_voxel, b.picture->input_voxel);
      EXPECT_EQ(a.picture->map, b.picture->map);
    }
    EXPECT_TRUE(torch::allclose(vectors[static_cast<size_t>(r)], sp.prototype_vectors.detach(), 1e-5, 1e-6));
  }
}

TEST(DataParallelPush, EachRanksSliceGivesTheSingleProcessPush) {
  check_distributed_push("MProtoNet3D_pm5", 2);
  check_distributed_push("MProtoNet3D_pm0", 3);
}

// ------------------------------------------------------------------------------ the CLI on two processes
std::string q(const fs::path& p) { return test::shell_quote(p.string()); }

// A command line run in a network namespace of its own with only the loopback interface up;
// empty when this process may not create one (then the test is skipped).
std::string in_private_network(const std::string& script) {
  static const bool allowed = test::run_command("unshare -n true 2>&1").exit_code == 0;
  if (!allowed) return "";
  return "timeout 600 unshare -n sh -c " + test::shell_quote("ip link set lo up && " + script) + " 2>&1";
}

std::string train_args(const fs::path& dir, const fs::path& out, const std::string& extra) {
  return " train --data " + q(dir / "data") + " --cache " + q(dir / "cache") + " --out " + q(out) +
         " --features resnet18_ri --n-layers 5 --prototypes 4 --batch-size 4 --spacing 6 --folds 2 --fold 0"
         " --model-name MProtoNet3D_pm5 --push-interval 1 --last-layer-epochs 1 --threads 1 " + extra;
}

// --redirects 1 --tee 1: Debian's torchrun (PyTorch 1.13) on Python 3.11 fails on its default
// "0" (3.11's enum.Flag no longer lists the zero member it looks up); stdout is then also kept in
// torchrun's log folder, stderr goes straight through.
std::string torchrun(int n) {
  return test::python() + " -m torch.distributed.run --standalone --nproc_per_node " + std::to_string(n) +
         " --redirects 1 --tee 1 --no_python ";
}

TEST(DataParallelCli, TwoProcessesThroughTorchrunTrainOneModelWithIdenticalWeights) {
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "data", {1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 7);
  const std::string cli = q(test::cli_path());
  const std::string cmd = in_private_network(torchrun(2) + cli + train_args(dir.path(), dir / "two", "--epochs 2"));
  if (cmd.empty()) GTEST_SKIP() << "no permission to create a network namespace (unshare -n): the test would listen "
                                   "on every interface";
  const auto two = test::run_command(cmd);
  ASSERT_EQ(two.exit_code, 0) << two.output;
  const json fold = json::parse(read_text_file(dir / "two" / "fold_0" / "test_predictions.json"));
  const auto& d = fold.at("distributed");
  EXPECT_EQ(d.at("world_size"), 2);
  EXPECT_EQ(d.at("rank_batch"), 2);
  const auto digests = d.at("weights_digests").get<std::vector<std::string>>();
  ASSERT_EQ(digests.size(), 2u);
  EXPECT_EQ(digests[0], digests[1]) << "the ranks' weights differ";
  // The digests are of the weights rank 0 saved.
  const auto saved = nets::load_model_file(dir / "two" / "fold_0" / "model.mpn");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(weights_digest(*saved.model)));
  EXPECT_EQ(digests[0], hex);
  const json run = json::parse(read_text_file(dir / "two" / "run.json"));
  EXPECT_EQ(run.at("distributed").at("world_size"), 2);
  EXPECT_EQ(run.at("distributed").at("launcher"), "torchrun");
  EXPECT_NE(run.at("distributed").at("shards").get<std::string>().find("rank r takes positions"), std::string::npos);
  // One log (rank 0's), not two.
  size_t lines = 0;
  for (size_t at = 0; (at = two.output.find("[fold 0] epoch 1/2 joint", at)) != std::string::npos; ++at) ++lines;
  EXPECT_EQ(lines, 1u) << two.output;

  // One process with the same global batch: the same subjects and augmentation per step; only
  // the BatchNorm batch statistics (per rank of 2 subjects vs of 4) differ.
  const auto one = test::run_command(cli + train_args(dir.path(), dir / "one", "--epochs 2") + " 2>&1");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  auto first_loss = [](const fs::path& run) {
    std::ifstream in(run / "fold_0" / "epochs.jsonl");
    std::string line;
    std::getline(in, line);
    return json::parse(line).at("losses").at("cls").get<double>();
  };
  const double l1 = first_loss(dir / "one"), l2 = first_loss(dir / "two");
  EXPECT_NEAR(l2, l1, 0.15 * l1) << "first-epoch classification loss, 2 ranks vs 1 process";
}

TEST(DataParallelCli, AKilledRankStopsTheOtherWithAnErrorAndResumeContinues) {
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "data", {1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 8);
  const std::string cli = q(test::cli_path());
  const fs::path run = dir / "run";
  const std::string args = train_args(dir.path(), run, "--epochs 8");
  const std::string env = "MASTER_ADDR=127.0.0.1 MASTER_PORT=29511 WORLD_SIZE=2 MPROTONET_DIST_TIMEOUT=60 ";
  // Rank 1 is killed (SIGKILL) once the first checkpoint exists; rank 0 must stop by itself.
  const std::string script = env + "RANK=0 " + cli + args + " > " + q(dir / "rank0.log") + " 2>&1 & p0=$!; " + env +
                             "RANK=1 " + cli + args + " > " + q(dir / "rank1.log") + " 2>&1 & p1=$!; " +
                             "i=0; while [ ! -f " + q(run / "fold_0" / "checkpoint.pt") +
                             " ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; kill -9 $p1; "
                             "start=$(date +%s); wait $p0; rc=$?; echo rank0-exit=$rc after=$(( $(date +%s) - start ))";
  const std::string cmd = in_private_network(script);
  if (cmd.empty()) GTEST_SKIP() << "no permission to create a network namespace (unshare -n)";
  const auto r = test::run_command(cmd);
  const std::string log0 = read_text_file(dir / "rank0.log");
  ASSERT_NE(r.output.find("rank0-exit="), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("rank0-exit=0"), std::string::npos) << "rank 0 went on without rank 1\n" << r.output << log0;
  EXPECT_NE(log0.find("another process of the group stopped"), std::string::npos) << log0;
  ASSERT_TRUE(fs::exists(run / "fold_0" / "checkpoint.pt"));

  const auto resumed = test::run_command(in_private_network(torchrun(2) + cli + args + " --resume"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming after step"), std::string::npos) << resumed.output;
  EXPECT_TRUE(fs::exists(run / "fold_0" / "model.mpn"));
}


TEST(DataParallelCli, TheMainJobOnTwoProcessesWritesOneReport) {
  test::TempDir dir;
  const std::string cli = q(test::cli_path());
  const std::string cmd = in_private_network(
      torchrun(2) + cli + " demo --out " + q(dir / "demo") +
      " --cases 12 --synth-spacing 6 --spacing 8 --epochs 1 --cnn-epochs 1 --batch-size 4 --last-layer-epochs 1"
      " --faithfulness-subjects 1 --faithfulness-steps 4 --missing-modalities false --report-cases 1"
      " --models CNN3D,MProtoNet3D_pm5");
  if (cmd.empty()) GTEST_SKIP() << "no permission to create a network namespace (unshare -n)";
  const auto r = test::run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t banners = 0;
  for (size_t at = 0; (at = r.output.find("row 2/2 MProtoNet C", at)) != std::string::npos; ++at) ++banners;
  EXPECT_EQ(banners, 1u) << "one log (rank 0's), not one per process\n" << r.output;
  EXPECT_TRUE(fs::exists(dir / "demo" / "report.html"));
  EXPECT_TRUE(fs::exists(dir / "demo" / "comparison.json"));
  for (const char* model : {"CNN3D", "MProtoNet3D_pm5"}) {
    const fs::path run = dir / "demo" / "runs" / model;
    EXPECT_EQ(json::parse(read_text_file(run / "run.json")).at("distributed").at("world_size"), 2) << model;
    for (int k = 0; k < 3; ++k) {
      const auto d = json::parse(read_text_file(run / ("fold_" + std::to_string(k)) / "test_predictions.json")).at("distributed");
      EXPECT_EQ(d.at("weights_digests").at(0), d.at("weights_digests").at(1)) << model << " fold " << k;
    }
    EXPECT_TRUE(fs::exists(run / "evaluation.json")) << model;
  }
}

// ------------------------------------------------------------------------------ Slurm
bool have(const std::string& program) { return test::run_command("command -v " + program + " >/dev/null 2>&1").exit_code == 0; }

TEST(SlurmArray, FoldsAsAnArrayOfDataParallelTasksThenMergeEvaluateAndReport) {
  for (const char* p : {"slurmctld", "slurmd", "sbatch", "munged", "mungekey"})
    if (!have(p)) GTEST_SKIP() << p << " is not installed (scripts/setup.sh installs slurm-wlm and munge)";
  test::TempDir dir;
  test::write_synthetic_cohort(dir / "data", {1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 9);
  const fs::path run = dir / "run";
  const fs::path scripts = test::source_dir() / "scripts" / "slurm";
  // The cluster's daemons bind their ports on every address of their namespace; glibc offers them
  // no IPv4 address unless one besides 127.0.0.1 exists, hence a private one on the loopback.
  const std::string submit =
      "MPROTONET=" + q(test::cli_path()) + " SBATCH_TRAIN='--ntasks 2' EVALUATE_OPTIONS='--methods mprotonet,gradcam "
      "--no-missing --no-faithfulness' " + q(scripts / "submit.sh") + " --data " + q(dir / "data") + " --cache " +
      q(dir / "cache") + " --out " + q(run) +
      " --folds 2 --features resnet18_ri --n-layers 5 --prototypes 4 --batch-size 4 --spacing 6 --epochs 2"
      " --model-name MProtoNet3D_pm5 --push-interval 0 --last-layer-epochs 1 --threads 1 --quiet";
  const std::string wait =
      "i=0; while [ $i -lt 1200 ]; do q=$(squeue -h -o '%i %T %r'); [ -z \"$q\" ] && break; "
      "echo \"$q\" | grep -q DependencyNeverSatisfied && { echo \"$q\"; break; }; sleep 0.5; i=$((i+1)); done; "
      "echo queue-empty=$([ -z \"$(squeue -h)\" ] && echo yes || echo no)";
  const std::string cluster = q(test::source_dir() / "tests" / "helpers" / "slurm_cluster.sh") + " " + q(dir / "slurm");
  const std::string cmd =
      in_private_network("ip addr add 10.254.0.1/32 dev lo && " + cluster + " sh -c " + test::shell_quote(submit + " && " + wait));
  if (cmd.empty()) GTEST_SKIP() << "no permission to create a network namespace (unshare -n)";
  const auto r = test::run_command(cmd);
  std::string logs;
  if (fs::exists(run / "slurm"))
    for (const auto& f : fs::directory_iterator(run / "slurm")) logs += "--- " + f.path().string() + "\n" + read_text_file(f.path());
  ASSERT_EQ(r.exit_code, 0) << r.output << logs;
  EXPECT_NE(r.output.find("train array:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("queue-empty=yes"), std::string::npos) << r.output << logs;
  // Both folds trained as 2-rank srun steps, then merged, evaluated and reported.
  for (int k = 0; k < 2; ++k) {
    const json fold = json::parse(read_text_file(run / ("fold_" + std::to_string(k)) / "test_predictions.json"));
    EXPECT_EQ(fold.at("distributed").at("world_size"), 2) << logs;
    EXPECT_EQ(fold.at("distributed").at("launcher"), "slurm");
    const auto d = fold.at("distributed").at("weights_digests");
    EXPECT_EQ(d.at(0), d.at(1));
  }
  const json results = json::parse(read_text_file(run / "results.json"));
  EXPECT_EQ(results.at("folds").size(), 2u);
  EXPECT_TRUE(fs::exists(run / "evaluation.json")) << logs;
  EXPECT_TRUE(fs::exists(run / "report.html")) << logs;
}

}  // namespace
}  // namespace mprotonet
