#include "scenario/scenario.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "report/measurement.hpp"
#include "scenario/writer.hpp"
#include "search/search.hpp"

using namespace trainsim;

namespace {
const std::string kSource = TRAINSIM_SOURCE_DIR;

const char* kGood = R"(name: good
model: {preset: gpt3-1.3b}
cluster: {topology: dgx-a100-superpod, gpus: 16}
plan: {tp: 2, pp: 2, micro_batch: 2, global_batch: 64}
)";
}  // namespace

TEST(Scenario, EveryShippedScenarioLoads) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/scenarios")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().filename().string();
    if (name.rfind("search-", 0) == 0 || name.rfind("compare-", 0) == 0) {
      // Plan spaces (fields left to the search): they load as such.
      EXPECT_FALSE(load_plan_space(entry.path().string()).choices.empty()) << entry.path();
    } else {
      EXPECT_NO_THROW(load_scenario(entry.path().string())) << entry.path();
    }
    ++count;
  }
  EXPECT_GE(count, 5);
}

TEST(Scenario, DefaultIsGpt3On1024A100WithMegatronPlan) {
  const Scenario sc = load_scenario(kSource + "/scenarios/default.yaml");
  EXPECT_EQ(sc.model.name, "gpt3-175b");
  EXPECT_EQ(sc.cluster.gpus, 1024);
  EXPECT_EQ(sc.cluster.topology.gpu.name, "a100-80gb-sxm");
  EXPECT_EQ(sc.plan.tp, 8);
  EXPECT_EQ(sc.plan.pp, 16);
  EXPECT_EQ(sc.plan.dp, 8);
  EXPECT_EQ(sc.plan.micro_batches(), 192);
  ASSERT_TRUE(sc.training.tokens);
  EXPECT_DOUBLE_EQ(*sc.training.tokens, 300e9);
}

TEST(Scenario, DpIsDerivedFromGpus) {
  const Scenario sc = load_scenario_text(kGood, "good.yaml");
  EXPECT_EQ(sc.plan.dp, 4);
  EXPECT_EQ(sc.plan.micro_batches(), 8);
}

TEST(Scenario, FieldsOverrideAPreset) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: llama2-7b, layers: 4, seq_len: 1024}
cluster: {topology: single-h200}
plan: {}
)",
                                         "o.yaml");
  EXPECT_EQ(sc.model.layers, 4);
  EXPECT_EQ(sc.model.seq_len, 1024);
  EXPECT_EQ(sc.model.ffn_hidden, 11008);
  EXPECT_EQ(sc.model.arch, Arch::llama);
}

TEST(Scenario, ClusterOverridesTopology) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: gpt3-1.3b}
cluster: {topology: dgx-a100-superpod, gpus: 64, gpu: a100-40gb-sxm, nic_bandwidth: 100Gb/s, oversubscription: 2}
plan: {}
)",
                                         "o.yaml");
  EXPECT_EQ(sc.cluster.topology.gpu.name, "a100-40gb-sxm");
  EXPECT_DOUBLE_EQ(sc.cluster.topology.nic_bandwidth, 12.5e9);
  EXPECT_DOUBLE_EQ(sc.cluster.topology.oversubscription, 2);
}

TEST(Scenario, HuggingFaceConfigs) {
  for (const char* name : {"gpt2", "llama", "mixtral", "bert"}) {
    const std::string text = std::string("model: {hf_config: hf/") + name +
                             ".json}\n"
                             "cluster: {topology: single-h200}\nplan: {}\n";
    const Scenario sc = load_scenario_text(text, "hf.yaml", kSource + "/tests/data");
    EXPECT_GT(total_parameters(sc.model), 1e6) << name;
  }
  const Scenario mixtral =
      load_scenario_text("model: {hf_config: hf/mixtral.json}\ncluster: {topology: single-h200}\nplan: {}\n", "hf.yaml",
                         kSource + "/tests/data");
  EXPECT_EQ(mixtral.model.experts, 8);
  EXPECT_EQ(mixtral.model.top_k, 2);
  EXPECT_EQ(mixtral.model.kv_heads, 8);
}

TEST(Scenario, WarningsDoNotStopTheLoad) {
  const Scenario sc = load_scenario_text(R"(
model: {preset: gpt3-1.3b}
cluster: {topology: dgx-a100-superpod, gpus: 16}
plan: {tp: 16, micro_batch: 1, global_batch: 8, sequence_parallel: true}
)",
                                         "w.yaml");
  ASSERT_FALSE(sc.warnings.empty());
  EXPECT_EQ(sc.warnings.front().key, "plan.tp");
}

// A fabric grows by the nodes a job needs in its segments (GPUs of each node it fills), not by
// whole nodes: 32 GPUs in segments of 3 take 11 nodes. It was refused ("has 12 ... sized by its
// torus or dragonfly dimensions") on a fat tree of 4 such nodes.
TEST(Scenario, AFabricGrowsByTheNodesAJobFillsInSegments) {
  const std::string topology = testing::TempDir() + "/segment3.yaml";
  std::ofstream(topology) << "name: t\ngpu: h100-sxm-80gb\ngpus_per_node: 8\nsegment: 3\nnodes: 4\n"
                             "node: {latency: 1us}\nnetwork: {kind: fat-tree, nic_bandwidth: 400Gb/s, "
                             "nic_latency: 2us, switch_latency: 130ns, nodes_per_leaf: 2}\n";
  const Scenario sc = load_scenario_text(
      "model: {preset: gpt2}\ncluster: {topology: " + topology + ", gpus: 32}\nplan: {dp: 32, global_batch: 32}\n",
      "grow.yaml");
  EXPECT_EQ(sc.cluster.topology.gpus_per_node, 3);
  EXPECT_EQ(sc.cluster.topology.nodes, 11);
  int grown = 0;
  for (const auto& w : sc.warnings) grown += w.key == "cluster.gpus";
  EXPECT_EQ(grown, 1);
}

// collective_sms is checked against the GPU's SMs where the scenario writes it: its default (24)
// on a GPU of 20 SMs is the GPU's share cap's to handle, not an error at a key nobody wrote.
TEST(Scenario, CollectiveSmsIsCheckedWhereWritten) {
  const std::string small =
      "model: {preset: gpt2}\ncluster: {topology: single-h100, gpu: {preset: h100-sxm-80gb, "
      "sm_count: 20}}\nplan: {";
  EXPECT_NO_THROW(load_scenario_text(small + "}\n", "sm.yaml"));
  EXPECT_NO_THROW(load_scenario_text(small + "collective_sms: 8}\n", "sm.yaml"));
  EXPECT_THROW(load_scenario_text(small + "collective_sms: 24}\n", "sm.yaml"), InputError);
  // A device of one SM (the cpu preset's) leaves a collective none to hold.
  const std::string one =
      "model: {preset: gpt2}\ncluster: {topology: single-h100, gpu: {preset: h100-sxm-80gb, "
      "sm_count: 1}}\nplan: {";
  EXPECT_NO_THROW(load_scenario_text(one + "collective_sms: 0}\n", "sm.yaml"));
  EXPECT_THROW(load_scenario_text(one + "collective_sms: 24}\n", "sm.yaml"), InputError);
}

// NVLink SHARP runs on the NVLink ports: a GPU given a slower or faster NVLink, and no NVLS of its
// own, reduces at the preset's NVLS bus bandwidth in proportion (found by a fuzzing pass: NVLS at
// 480 GB/s over a 1 GB/s NVLink).
TEST(Scenario, NvlsFollowsAnOverriddenNvlink) {
  const auto nvls = [](const std::string& gpu) {
    return load_scenario_text(
               "model: {preset: gpt2}\ncluster: {topology: dgx-h100-superpod, gpus: 8, gpu: " + gpu + "}\nplan: {}\n",
               "nvls.yaml")
        .cluster.topology.gpu.nvls_bandwidth;
  };
  const double preset = nvls("h100-sxm-80gb");
  EXPECT_NEAR(nvls("{preset: h100-sxm-80gb, nvlink_bandwidth: 900GB/s}"), 2 * preset, 1e-6 * preset);
  EXPECT_NEAR(nvls("{preset: h100-sxm-80gb, nvlink_bandwidth: 45GB/s}"), preset / 10, 1e-6 * preset);
  EXPECT_DOUBLE_EQ(nvls("{preset: h100-sxm-80gb, nvlink_bandwidth: 900GB/s, nvls_bandwidth: 500GB/s}"), 500e9);
  // A topology's node NVLink does the same to its GPUs.
  const TopologySpec t = parse_topology_text(
      "{name: t, gpu: h100-sxm-80gb, gpus_per_node: 8, nodes: 1, node: {nvlink_bandwidth: 225GB/s}}\n", "t.yaml");
  EXPECT_NEAR(t.gpu.nvls_bandwidth, preset / 2, 1e-6 * preset);
  // An NVLS the GPU's own map states stays as stated.
  const TopologySpec stated = parse_topology_text(
      "{name: t, gpu: {preset: h100-sxm-80gb, nvls_bandwidth: 480GB/s}, gpus_per_node: 8, nodes: 1, "
      "node: {nvlink_bandwidth: 225GB/s}}\n",
      "t.yaml");
  EXPECT_DOUBLE_EQ(stated.gpu.nvls_bandwidth, 480e9);
}

// A GPU file is named by its stem even when it starts from a preset: a modified preset is not
// the preset; a map keeps its preset's name.
TEST(Scenario, AGpuFileIsNamedByItsStem) {
  const auto named = [](const std::string& gpu) {
    return load_scenario_text("model: {preset: gpt2}\ncluster: {topology: single-h100, gpu: " + gpu + "}\nplan: {}\n",
                              "gpu.yaml", kSource + "/tests/data")
        .cluster.topology.gpu.name;
  };
  EXPECT_EQ(named("gpus/h100-at-500w.yaml"), "h100-at-500w");
  EXPECT_EQ(named("{preset: h100-sxm-80gb, memory: 96GiB}"), "h100-sxm-80gb");
  EXPECT_EQ(named("{preset: h100-sxm-80gb, name: mine}"), "mine");
}

// An algorithm the hardware lacks (SHARP without reducing switches, NVLS without NVLink SHARP)
// runs as a ring, and says so.
TEST(Scenario, AnAlgorithmTheHardwareLacksIsNamed) {
  const auto warned = [](const std::string& topology, const std::string& plan) {
    const Scenario sc = load_scenario_text("model: {preset: gpt2}\ncluster: {topology: " + topology +
                                               ", gpus: 16}\nplan: {dp: 16, global_batch: 32, " + plan + "}\n",
                                           "alg.yaml");
    std::string keys;
    for (const auto& w : sc.warnings) {
      if (w.message.find("run as rings") != std::string::npos) keys += w.key + ";";
    }
    return keys;
  };
  EXPECT_EQ(warned("dgx-h100-superpod", "dp_algorithm: sharp"), "plan.dp_algorithm;");
  EXPECT_EQ(warned("dgx-a100-superpod", "tp_algorithm: nvls"), "plan.tp_algorithm;");
  EXPECT_EQ(warned("dgx-h100-superpod", "tp_algorithm: nvls"), "");
  EXPECT_EQ(warned("dgx-h100-superpod", "dp_algorithm: ring"), "");
}

// A power cap the clock relation cannot price is named: one at or above the board power (no
// effect) and one below a third of it (past the measured range); a cap in between is silent.
TEST(Scenario, PowerCapsOutsideTheMeasuredRangeAreNamed) {
  const auto named = [](const std::string& cap) {
    const Scenario sc = load_scenario_text(
        "model: {preset: gpt2}\ncluster: {topology: single-h200, power_limit: " + cap + "}\nplan: {}\n", "cap.yaml");
    int n = 0;
    for (const auto& w : sc.warnings) n += w.key == "cluster.power_limit";
    return n;
  };
  EXPECT_EQ(named("500W"), 0);  // the H200's board power is 700 W
  EXPECT_EQ(named("700W"), 1);
  EXPECT_EQ(named("1kW"), 1);
  EXPECT_EQ(named("200W"), 1);
  EXPECT_EQ(named("141W"), 1);  // just above what it draws idle (20%); at or below, an error (kBadCases)
  // A cap the GPU's own map sets is named there, and one on a GPU with no board power changes nothing.
  const auto keys = [](const std::string& gpu) {
    const Scenario sc = load_scenario_text(
        "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu: " + gpu + "}\nplan: {}\n", "cap.yaml");
    std::string found;
    for (const auto& w : sc.warnings) found += w.key + ";";
    return found;
  };
  EXPECT_EQ(keys("{preset: h200-sxm-141gb, power_limit: 900W}"), "cluster.gpu;");
  EXPECT_EQ(keys("{preset: h200-sxm-141gb, power_limit: 600W}"), "");
  EXPECT_EQ(keys("{preset: h200-sxm-141gb, power: 0, power_limit: 600W}"), "cluster.gpu;");
}

// ZeRO-3's collective shape asked for with a lower ZeRO stage: named, and without effect.
TEST(Scenario, Zero3FieldsWithoutZero3AreNamed) {
  const auto findings = [](const std::string& zero) {
    const Scenario sc = load_scenario_text(
        "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\n"
        "plan: {dp: 16, global_batch: 32, zero3_unit: parameter, zero: " +
            zero + "}\n",
        "z.yaml");
    int named = 0;
    for (const auto& w : sc.warnings) named += w.key == "plan.zero3_unit";
    return named;
  };
  EXPECT_EQ(findings("1"), 1);
  EXPECT_EQ(findings("3"), 0);
}

// A share of layers recomputed: read, written back, spread as fms-fsdp spreads them, and named
// when the plan does not recompute whole layers.
TEST(Scenario, RecomputeFractionSpreadsTheCheckpointedLayers) {
  const auto load = [](const std::string& plan) {
    return load_scenario_text(
        "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan: {dp: 8, global_batch: 16, " +
            plan + "}\n",
        "fraction.yaml");
  };
  const Scenario half = load("recompute: full, recompute_fraction: 0.5");
  EXPECT_DOUBLE_EQ(half.plan.recompute_fraction, 0.5);
  EXPECT_TRUE(half.warnings.empty());
  std::string pattern;
  for (int i = 0; i < 6; ++i) pattern += half.plan.layer_recomputed(i) ? 'x' : '-';
  EXPECT_EQ(pattern, "x-x-x-");
  Scenario third = half;
  third.plan.recompute_fraction = 1.0 / 3;
  pattern.clear();
  for (int i = 0; i < 6; ++i) pattern += third.plan.layer_recomputed(i) ? 'x' : '-';
  EXPECT_EQ(pattern, "-x--x-");
  third.plan.recompute_fraction = 0.7;
  EXPECT_EQ(third.plan.recomputed_layers(0, 80), 56);
  const Scenario again = load_scenario_text(scenario_to_yaml(half), "again.yaml");
  EXPECT_DOUBLE_EQ(again.plan.recompute_fraction, 0.5);
  int named = 0;
  for (const auto& w : load("recompute: selective, recompute_fraction: 0.5").warnings)
    named += w.key == "plan.recompute_fraction";
  EXPECT_EQ(named, 1);
}

// A network-less node split by cluster.gpus_per_node still runs a job that fits in one of the
// nodes it makes (the malformed cases below refuse the jobs that span two).
TEST(Scenario, SplitNodeWithoutNetworkRunsAOneNodeJob) {
  const Scenario sc = load_scenario_text(
      "model: {preset: llama3-8b}\ncluster: {topology: topologies/one-node.yaml, gpus_per_node: 4, gpus: 4}\n"
      "plan: {tp: 4, micro_batch: 1, global_batch: 4}\n",
      "split.yaml", kSource + "/tests/data");
  EXPECT_EQ(sc.cluster.topology.gpus_per_node, 4);
  EXPECT_EQ(sc.cluster.gpus, 4);
}

// A clock spread reads as a fraction or a percentage; one above 5% (likely a percentage written
// as a bare number) is warned, the usual ones are not.
TEST(Scenario, GpuClockSpreadReadsFractionsAndPercentages) {
  const auto spread_of = [](const std::string& value) {
    return load_scenario_text(
        "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu_clock_spread: " + value + "}\nplan: {}\n",
        "spread.yaml");
  };
  EXPECT_DOUBLE_EQ(spread_of("1.5%").cluster.clock_spread, 0.015);
  EXPECT_DOUBLE_EQ(spread_of("0.015").cluster.clock_spread, 0.015);
  EXPECT_TRUE(spread_of("2%").warnings.empty());
  const Scenario bare = spread_of("0.1");
  EXPECT_DOUBLE_EQ(bare.cluster.clock_spread, 0.1);
  ASSERT_EQ(bare.warnings.size(), 1u);
  EXPECT_EQ(bare.warnings[0].key, "cluster.gpu_clock_spread");
  EXPECT_NE(bare.warnings[0].message.find("write 0.1%"), std::string::npos);
  // Written back as a percentage where that is exact, and read back the same.
  for (const double spread : {0.015, 1.0 / 30, 0.0}) {
    Scenario sc = spread_of("2%");
    sc.cluster.clock_spread = spread;
    const std::string text = scenario_to_yaml(sc);
    if (spread == 0.015) EXPECT_NE(text.find("gpu_clock_spread: 1.5%"), std::string::npos) << text;
    EXPECT_DOUBLE_EQ(load_scenario_text(text, "written.yaml").cluster.clock_spread, spread) << text;
  }
}

// ---- Malformed input: each case names the key, the line and what was expected. ----------------

struct BadCase {
  const char* name;
  const char* yaml;
  const char* key;      // expected key in the error ("" for syntax errors)
  int line;             // expected line (0: do not check)
  const char* message;  // a piece of the expected message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class MalformedScenario : public ::testing::TestWithParam<BadCase> {};

TEST_P(MalformedScenario, IsAnInputErrorNamingKeyAndLine) {
  const BadCase& c = GetParam();
  try {
    load_scenario_text(c.yaml, "bad.yaml", kSource + "/tests/data");
    FAIL() << c.name << ": no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.key(), c.key) << e.what();
    if (c.line > 0) {
      EXPECT_EQ(e.where().line, c.line) << e.what();
    }
    EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    EXPECT_FALSE(e.where().file.empty()) << e.what();
  }
}

// Names no file system can look up (past NAME_MAX), where a file may be named: once an uncaught
// filesystem_error and exit 1 (found by bench/fuzz's fuzz_topology).
const std::string kUnlookableName = "x/" + std::string(5000, 'a');
const std::string kGpuUnlookable =
    "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu: " + kUnlookableName + "}\nplan: {}\n";
const std::string kTopologyUnlookable =
    "model: {preset: gpt2}\ncluster: {topology: " + kUnlookableName + ".yaml}\nplan: {}\n";
const std::string kLengthsUnlookable = "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\n" +
                                       std::string("data: {lengths: ") + kUnlookableName + "}\n";

const BadCase kBadCases[] = {
    {"gpu_name_no_file_system_takes", kGpuUnlookable.c_str(), "cluster.gpu", 2, "no GPU file"},
    {"topology_name_no_file_system_takes", kTopologyUnlookable.c_str(), "cluster.topology", 2, "no topology file"},
    {"lengths_name_no_file_system_takes", kLengthsUnlookable.c_str(), "data.lengths", 4, "no dataset preset"},
    {"syntax", "model: {preset: gpt2\ncluster: x\n", "", 0, "YAML syntax error"},
    {"topology_cap_below_idle",
     "model: {preset: gpt2}\ncluster: {topology: topologies/capped-too-low.yaml}\nplan: {}\n", "power.gpu_limit", 6,
     "draws idle"},
    {"topology_storage_zero", "model: {preset: gpt2}\ncluster: {topology: topologies/no-storage.yaml}\nplan: {}\n",
     "storage.bandwidth", 6, "above 0"},
    {"not_a_map", "- a\n- b\n", "", 1, "expected a map"},
    {"no_model", "cluster: {topology: single-h200}\nplan: {}\n", "model", 0, "needs a 'model'"},
    {"recompute_fraction_above_one",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  recompute: full\n  recompute_fraction: 1.5\n",
     "plan.recompute_fraction", 5, "expected"},
    {"no_cluster", "model: {preset: gpt2}\nplan: {}\n", "cluster", 0, "needs a 'cluster'"},
    // Bandwidths a transfer cannot do without; a GPU map without NVLink in a node of 8; a reserve
    // as large as the GPU's memory; a straggler outside the job.
    {"nic_bandwidth_zero",
     "model: {preset: gpt2}\ncluster: {topology: dgx-h100-superpod, nic_bandwidth: 0Gb/s}\nplan: {}\n",
     "cluster.nic_bandwidth", 2, "above 0"},
    {"custom_gpu_without_nvlink",
     "model: {preset: gpt2}\ncluster:\n  topology: dgx-h100-superpod\n  gpus: 16\n"
     "  gpu: {peak: {bf16: 1000TFLOP/s}, memory: 96GiB, memory_bandwidth: 4TB/s}\nplan: {}\n",
     "cluster.gpu", 5, "nvlink_bandwidth"},
    {"memory_reserve_above_memory",
     "model: {preset: gpt2}\ncluster: {topology: dgx-h100-superpod, gpus: 8, memory_reserve: 100GiB}\nplan: {}\n",
     "cluster.memory_reserve", 2, "leaves nothing"},
    {"slow_node_outside_job",
     "model: {preset: gpt2}\ncluster: {topology: dgx-h100-superpod, gpus: 16, slow_nodes: [2]}\nplan: {}\n",
     "cluster.slow_nodes", 2, "outside the job's 2 nodes"},
    // A cluster given only its GPU: the error names the topology presets built on each GPU.
    {"no_topology", "model: {preset: gpt2}\ncluster: {gpu: h100-sxm-80gb, gpus: 8}\nplan: {}\n", "cluster.topology", 2,
     "dgx-h100-superpod (h100-sxm-80gb)"},
    {"no_plan", "model: {preset: gpt2}\ncluster: {topology: single-h200}\n", "plan", 0, "needs a 'plan'"},
    {"unknown_top_key", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\nplam: {}\n", "plam", 4,
     "did you mean 'plan'"},
    {"unknown_plan_key", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  tpp: 2\n", "plan.tpp", 4,
     "did you mean"},
    {"unknown_model_preset", "model: {preset: gpt3-175}\ncluster: {topology: single-h200}\nplan: {}\n", "model.preset",
     1, "did you mean gpt3-175b"},
    {"unknown_topology", "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpot}\nplan: {}\n",
     "cluster.topology", 2, "did you mean dgx-a100-superpod"},
    {"missing_topology_file", "model: {preset: gpt2}\ncluster: {topology: nowhere/x.yaml}\nplan: {}\n",
     "cluster.topology", 2, "no topology file"},
    {"unknown_gpu", "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu: h100}\nplan: {}\n", "cluster.gpu", 2,
     "no GPU preset"},
    {"tp_not_integer", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  tp: two\n", "plan.tp", 4,
     "expected an integer"},
    {"tp_zero", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {tp: 0}\n", "plan.tp", 3, "from 1 to"},
    {"tp_fraction", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {tp: 1.5}\n", "plan.tp", 3,
     "expected an integer"},
    {"tp_list", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {tp: [1, 2]}\n", "plan.tp", 3,
     "found a list"},
    {"product_mismatch",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\nplan:\n  tp: 2\n  pp: 2\n  dp: 2\n",
     "plan.dp", 6, "tp*pp*dp*cp"},
    {"gpus_do_not_divide",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 12}\nplan: {tp: 8}\n", "plan.tp", 3,
     "does not divide"},
    // A fat tree grows to the job (tests/topology_test.cpp); a torus is sized by its dimensions.
    {"too_many_gpus", "model: {preset: gpt3-1.3b}\ncluster: {topology: torus-3d-h100, gpus: 65536}\nplan: {}\n",
     "cluster.gpus", 2, "is sized by its torus or dragonfly dimensions"},
    {"heads_not_divisible", "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan: {tp: 8}\n",
     "plan.tp", 3, "heads (12)"},
    {"interleaved_more_chunks_than_layers",  // uneven splits are allowed, empty chunks but
                                             // the embedding's and the loss's not
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 5}\n"
     "plan: {pp: 5, schedule: interleaved, virtual_stages: 6, global_batch: 10}\n",
     "plan.virtual_stages", 3, "pp*virtual_stages (30) exceeds the layers (24)"},
    {"chunk_split_wrong_length",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 2}\n"
     "plan: {pp: 2, virtual_stages: 2, global_batch: 2, layers_per_stage: [8, 8, 8]}\n",
     "plan.layers_per_stage", 3, "one per model chunk (pp*virtual_stages = 4, in model order), found 3"},
    {"chunk_split_wrong_sum",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 2}\nplan:\n  pp: 2\n"
     "  virtual_stages: 2\n  global_batch: 2\n  layers_per_stage: [5, 6, 6, 6]\n",
     "plan.layers_per_stage", 7, "add up to the model's layers (24), found 23"},
    {"stage_split_too_few_for_its_chunks",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 2}\n"
     "plan: {pp: 2, virtual_stages: 3, global_batch: 2, layers_per_stage: [2, 22]}\n",
     "plan.layers_per_stage", 3, "stage 0 has 2 layers, fewer than its virtual_stages (3)"},
    {"batch_not_divisible",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan: {micro_batch: 2, "
     "global_batch: 20}\n",
     "plan.global_batch", 3, "micro_batch*dp"},
    {"interleaved_without_stages",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 4}\nplan: {pp: 4, schedule: "
     "interleaved, global_batch: 16}\n",
     "plan.virtual_stages", 3, "virtual_stages >= 2"},
    {"virtual_without_interleaved",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 4}\nplan: {pp: 4, schedule: 1f1b, "
     "virtual_stages: 2, global_batch: 16}\n",
     "plan.virtual_stages", 3, "needs schedule: interleaved"},
    {"interleaved_microbatches",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 4}\nplan: {pp: 4, virtual_stages: 2, "
     "global_batch: 6}\n",
     "plan.global_batch", 3, "divisible by pp"},
    {"bad_schedule", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {schedule: 1f1f}\n",
     "plan.schedule", 3, "did you mean 1f1b"},
    {"bad_precision", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {precision: bf32}\n",
     "plan.precision", 3, "one of fp32"},
    // "8k" tokens usually means 8192, a count of 8k 8000: a dimension is written out in full.
    {"seq_len_with_a_suffix", "model: {preset: gpt2, seq_len: 8k}\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.seq_len", 1, "8192 (8 x 1024) or 8000"},
    {"fp8_on_a100", "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpod, gpus: 1}\nplan: {precision: fp8}\n",
     "plan.precision", 3, "not supported"},
    {"zero_out_of_range", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {zero: 4}\n", "plan.zero", 3,
     "from 0 to 3"},
    {"bad_recompute", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {recompute: partial}\n",
     "plan.recompute", 3, "none, selective, op, save_qkv_proj, full"},
    {"bad_power_limit", "model: {preset: gpt2}\ncluster: {topology: single-h200, power_limit: 500}\nplan: {}\n",
     "cluster.power_limit", 2, "500W"},
    {"zero_power_limit", "model: {preset: gpt2}\ncluster: {topology: single-h200, power_limit: 0W}\nplan: {}\n",
     "cluster.power_limit", 2, "above 0 W"},
    // Quantities past any machine made infinite durations: a stalled simulation (rc 1) or inf
    // in the report (found by an adversarial pass over the CLI, session 42).
    {"denormal_power_limit",
     "model: {preset: gpt2}\ncluster: {topology: single-h200, power_limit: 1e-300W}\nplan: {}\n", "cluster.power_limit",
     2, "from 1mW to 10MW"},
    {"power_limit_past_a_long",
     "model: {preset: gpt2}\ncluster: {topology: single-h200, power_limit: 1e19W}\nplan: {}\n", "cluster.power_limit",
     2, "from 1mW to 10MW"},
    {"hf_config_missing", "model: {hf_config: nowhere/config.json}\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.hf_config", 1, "no Hugging Face config.json at"},
    {"power_limit_below_idle", "model: {preset: gpt2}\ncluster: {topology: single-h200, power_limit: 100W}\nplan: {}\n",
     "cluster.power_limit", 2, "draws idle"},
    {"denormal_memory_bandwidth",
     "model: {preset: gpt2}\ncluster: {topology: single-h200,\n  gpu: {preset: h200-sxm-141gb, memory_bandwidth: "
     "1e-300GB/s}}\nplan: {}\n",
     "cluster.gpu.memory_bandwidth", 3, "from 1kB/s to 1PB/s"},
    {"negative_bandwidth",
     "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu: {preset: h200-sxm-141gb, nvls_bandwidth: "
     "-5GB/s}}\nplan: {}\n",
     "cluster.gpu.nvls_bandwidth", 2, "expected a bandwidth"},
    {"denormal_peak_rate",
     "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu: {preset: h200-sxm-141gb, peak: {bf16: "
     "1e-300TFLOP/s}}}\nplan: {}\n",
     "cluster.gpu.peak.bf16", 2, "1MFLOP/s"},
    {"checkpoint_interval_zero",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\ntraining: {tokens: 1e9, "
     "checkpoint_interval: 0s}\n",
     "training.checkpoint_interval", 4, "above 0"},
    {"mtbf_zero",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\ntraining:\n  tokens: 1e9\n"
     "  failures: {mtbf_per_node: 0h}\n",
     "training.failures.mtbf_per_node", 6, "above 0"},
    {"collective_sms_all_of_the_gpu",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  collective_sms: 1000\n", "plan.collective_sms",
     0, "fewer than h200-sxm-141gb's 132 SMs"},
    {"more_parameter_servers_than_nodes",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  parameter_servers: 4\n",
     "plan.parameter_servers", 0, "at most the job's 1 nodes"},
    // A bare number for a gradient bucket is most likely megabytes (DeepSpeed's and Megatron's
    // bucket sizes are tens of MB): the hint says so, not GiB.
    {"gradient_bucket_without_a_unit",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {bucket_size: 25}\n", "plan.bucket_size", 3,
     "25 needs a unit: 25MB"},
    {"empty_gradient_bucket", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  bucket_size: 0MB\n",
     "plan.bucket_size", 4, "above 0"},
    {"recompute_modules_empty",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  recompute: selective\n  recompute_modules: "
     "[]\n",
     "plan.recompute_modules", 5, "found an empty list"},
    {"placement_of_three_axes",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  placement: [tp, dp, pp]\n", "plan.placement", 4,
     "found a list of 3 items"},
    {"failure_rate_given_twice",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\ntraining:\n  tokens: 1e9\n"
     "  failures: {mtbf_per_node: 1000h, gpu_failures_per_day: 0.001}\n",
     "training.failures.gpu_failures_per_day", 6, "once"},
    {"fp8_recipe_without_fp8", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {fp8_recipe: rowwise}\n",
     "plan.fp8_recipe", 3, "precision: fp8"},
    {"mxfp8_on_hopper", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {precision: mxfp8}\n",
     "plan.precision", 3, "Blackwell"},
    // Blackwell's data has no fp32 tensor rate; refused at the key, not when the step is priced.
    {"fp32_on_gb200",
     "model: {preset: gpt2}\ncluster: {topology: gb200-nvl72-superpod, gpus: 4}\nplan: {precision: fp32}\n",
     "plan.precision", 3, "not supported by gb200"},
    // A mixed cluster's every GPU kind must run the precision: its A100 nodes have no FP8.
    {"fp8_on_mixed_cluster_a100_nodes",
     "model: {preset: gpt3-13b}\ncluster: {topology: mixed-h100-a100, gpus: 256}\n"
     "plan: {tp: 8, pp: 2, dp: 16, global_batch: 128, precision: fp8}\n",
     "plan.precision", 3, "a100-80gb-sxm"},
    {"flash3_on_a100",
     "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpod, gpus: 8}\nplan: {dp: 8, attention: flash3}\n",
     "plan.attention", 3, "flash2"},
    {"bad_quantize_efficiency",
     "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu: {preset: h200-sxm-141gb, kernels: {quantize: 2}}}\n"
     "plan: {}\n",
     "cluster.gpu.kernels.quantize", 2, "1"},
    {"bad_kernels", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {kernels: compiled}\n",
     "plan.kernels", 3, "fused, eager"},
    {"bad_bool", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {sequence_parallel: maybe}\n",
     "plan.sequence_parallel", 3, "true or false"},
    {"ep_without_moe", "model: {preset: gpt2}\ncluster: {topology: dgx-a100-superpod, gpus: 2}\nplan: {ep: 2}\n",
     "plan.ep", 3, "mixture-of-experts"},
    {"ep_not_dividing_experts",
     "model: {preset: mixtral-8x7b}\ncluster: {topology: dgx-a100-superpod, gpus: 3}\nplan: {ep: 3, global_batch: 3}\n",
     "plan.ep", 3, "experts (8)"},
    {"cp_sequence",
     "model: {preset: gpt2, seq_len: 1000}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\nplan: {cp: 16}\n",
     "plan.cp", 3, "2*cp"},
    {"hidden_heads",
     "model: {arch: gpt, layers: 2, hidden: 100, heads: 3, vocab: 10, seq_len: 8}\ncluster: {topology: "
     "single-h200}\nplan: {}\n",
     "model.heads", 1, "divisible by heads"},
    {"model_missing_field",
     "model: {arch: gpt, layers: 2, hidden: 64, vocab: 10, seq_len: 8}\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.heads", 1, "needs 'heads'"},
    {"moe_top_k", "model: {preset: gpt2, moe: {experts: 2, top_k: 3}}\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.moe.top_k", 1, "must not exceed"},
    {"duplicate_key", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  tp: 1\n  tp: 1\n", "plan.tp",
     5, "twice"},
    {"bad_bandwidth", "model: {preset: gpt2}\ncluster: {topology: single-h200, nic_bandwidth: 400Gbit}\nplan: {}\n",
     "cluster.nic_bandwidth", 2, "400Gb/s"},
    {"bad_tokens", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\ntraining: {tokens: lots}\n",
     "training.tokens", 4, "300e9"},
    {"huge_batch", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {global_batch: 1e12}\n",
     "plan.global_batch", 3, "from 1 to"},
    {"huge_gpus", "model: {preset: gpt2}\ncluster: {topology: single-h200, gpus: 1000000}\nplan: {}\n", "cluster.gpus",
     2, "from 1 to"},
    {"placement_bad", "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {placement: [tp, tp, pp, dp]}\n",
     "plan.placement", 3, "four axes"},
    {"uneven_split_sum",
     "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 2}\nplan: {pp: 2, layers_per_stage: "
     "[10, 10], global_batch: 2}\n",
     "plan.layers_per_stage", 3, "add up"},
    {"hf_both", "model: {preset: gpt2, hf_config: hf/gpt2.json}\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.hf_config", 1, "not both"},
    {"hf_broken_json", "model: {hf_config: hf/broken.json}\ncluster: {topology: single-h200}\nplan: {}\n", "", 3,
     "JSON syntax error"},
    {"hf_unknown_type", "model: {hf_config: hf/t5.json}\ncluster: {topology: single-h200}\nplan: {}\n", "model_type", 0,
     "found \"t5\""},
    // Found by bench/fuzz (fuzz_hf_config): a number where the model type should be.
    {"hf_model_type_not_text",
     "model: {hf_config: hf/fuzz-model-type-number.json}\ncluster: {topology: single-h200}\nplan: {}\n", "model_type",
     0, "expected a text"},
    {"hf_number_overflow",
     "model: {hf_config: hf/fuzz-number-overflow.json}\ncluster: {topology: single-h200}\nplan: {}\n", "", 0,
     "number overflow"},
    {"data_unknown_preset",
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\ndata:\n  lengths: wikipedia-bert-51\n",
     "data.lengths", 5, "did you mean wikipedia-bert-512"},
    {"data_longer_than_model",
     "model: {preset: bert-large, seq_len: 128}\ncluster: {topology: single-h200}\nplan: {}\n"
     "data: {lengths: wikipedia-bert-512}\n",
     "data.lengths", 4, "more than model.seq_len (128)"},
    {"data_binned_without_bin_size",
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\n"
     "data: {lengths: wikipedia-bert-512, batching: binned}\n",
     "data.batching", 4, "needs a bin_size"},
    {"data_bin_size_without_binned",
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\n"
     "data: {lengths: wikipedia-bert-512, bin_size: 64}\n",
     "data.bin_size", 4, "batching: binned"},
    {"data_batching_without_lengths",
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\ndata: {batching: longest}\n",
     "data.batching", 4, "sequence lengths"},
    {"data_bad_batching",
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\n"
     "data: {lengths: wikipedia-bert-512, batching: chunked}\n",
     "data.batching", 4, "padded, longest, binned, packed"},
    {"data_histogram_file_error",
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\ndata: {lengths: bad/lengths.yaml}\n",
     "counts", 2, "from 0"},
    {"data_device_file",  // read before the size check, /dev/zero would never end
     "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\ndata: {lengths: /dev/zero}\n", "", 0,
     "expected a regular file"},
    {"mlm_predictions_without_bert",
     "model:\n  preset: gpt2\n  mlm_predictions: masked\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.mlm_predictions", 3, "arch: bert"},
    {"mlm_predictions_bad_value",
     "model: {preset: bert-large, mlm_predictions: some}\ncluster: {topology: single-h200}\nplan: {}\n",
     "model.mlm_predictions", 1, "all, masked"},
    {"topology_device_file", "model: {preset: gpt2}\ncluster: {topology: /dev/zero}\nplan: {}\n", "", 0,
     "expected a regular file"},
    {"topology_file_error", "model: {preset: gpt2}\ncluster: {topology: bad/topology.yaml}\nplan: {}\n",
     "network.nic_bandwidth", 0, "400Gb/s"},
    {"topology_torus_dims", "model: {preset: gpt2}\ncluster: {topology: bad/torus.yaml}\nplan: {}\n", "network.torus",
     0, "multiply"},
    // A GPU whose memory would not hold its own reserve: a unit slip, 128 MiB for 128 GiB.
    {"gpu_memory_below_the_reserve",
     "model: {preset: gpt3-1.3b}\ncluster:\n  topology: single-h200\n"
     "  gpu: {name: tiny, peak: {bf16: 100TFLOP/s}, memory: 128MiB, memory_bandwidth: 1TB/s}\nplan: {}\n",
     "cluster.gpu", 4, "check its unit"},
    // Fields only experts or multi-head latent attention read, on a model without them (ignored
    // before; Megatron-Core refuses mla_up_proj without MLA).
    {"moe_dispatcher_on_a_dense_model",
     "model: {preset: llama3-8b}\ncluster: {topology: single-h200}\nplan:\n  moe_dispatcher: deepep\n",
     "plan.moe_dispatcher", 4, "mixture-of-experts"},
    {"expert_gemm_on_a_dense_model",
     "model: {preset: llama3-8b}\ncluster: {topology: single-h200}\nplan: {expert_gemm: grouped}\n", "plan.expert_gemm",
     3, "has none"},
    {"moe_recompute_module_on_a_dense_model",
     "model: {preset: llama3-8b}\ncluster: {topology: single-h200}\nplan:\n  recompute: selective\n"
     "  recompute_modules: [core_attn, moe_act]\n",
     "plan.recompute_modules", 5, "experts"},
    {"mla_up_proj_without_mla",
     "model: {preset: qwen3-30b-a3b}\ncluster: {topology: single-h200}\nplan:\n  recompute: selective\n"
     "  recompute_modules: [mla_up_proj]\n",
     "plan.recompute_modules", 5, "latent attention"},
    {"shared_experts_module_without_shared_experts",
     "model: {preset: qwen3-30b-a3b}\ncluster: {topology: single-h200}\nplan:\n  recompute: selective\n"
     "  recompute_modules: [shared_experts]\n",
     "plan.recompute_modules", 5, "shared experts"},
    // Checked after the cluster's overrides too: 4 GPUs per node make two nodes of one.
    {"gpus_per_node_splits_a_node_without_network",
     "model: {preset: llama3-8b}\ncluster:\n  topology: topologies/one-node.yaml\n  gpus_per_node: 4\nplan: {}\n",
     "cluster.gpus_per_node", 4, "make 2 nodes"},
    {"cluster_network_without_nic_bandwidth",
     "model: {preset: llama3-8b}\ncluster:\n  topology: topologies/one-node.yaml\n  gpus_per_node: 4\n"
     "  network: fat-tree\nplan: {}\n",
     "cluster.network", 5, "nic_bandwidth"},
    // A spread of clocks given in percent without its sign: 5 would be 500%.
    {"gpu_clock_spread_out_of_range",
     "model: {preset: gpt2}\ncluster: {topology: single-h200, gpu_clock_spread: 5}\nplan: {}\n",
     "cluster.gpu_clock_spread", 2, "such as 1%"},
    {"cuda_graph_scope_unknown",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  cuda_graphs: [attn, layer]\n",
     "plan.cuda_graphs", 4, "CUDA graph scopes"},
    {"cuda_graph_router_of_a_dense_model",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  cuda_graphs: [attn, moe_router]\n",
     "plan.cuda_graphs", 4, "has none"},
    {"cuda_graph_preprocess_without_router",
     "model: {preset: qwen3-30b-a3b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\nplan:\n  dp: 8\n  ep: 8\n"
     "  cuda_graphs: [moe_preprocess]\n",
     "plan.cuda_graphs", 6, "add moe_router"},
    {"cuda_graph_full_iteration_with_a_layer_part",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  cuda_graphs: [full_iteration, attn]\n",
     "plan.cuda_graphs", 4, "list it alone"},
    {"cuda_graph_moe_with_its_router",
     "model: {preset: qwen3-30b-a3b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\nplan:\n  dp: 8\n  ep: 8\n"
     "  cuda_graphs: [moe, moe_router]\n",
     "plan.cuda_graphs", 6, "moe or moe_router"},
    {"cuda_graph_dense_mlp_of_an_all_moe_model",
     "model: {preset: qwen3-30b-a3b}\ncluster: {topology: dgx-h100-superpod, gpus: 8}\nplan:\n  dp: 8\n  ep: 8\n"
     "  cuda_graphs: [attn, mlp]\n",
     "plan.cuda_graphs", 6, "every layer of this model"},
    {"cuda_graph_per_layer_with_full_recompute",
     "model: {preset: gpt2}\ncluster: {topology: single-h200}\nplan:\n  recompute: full\n  cuda_graphs: [attn]\n",
     "plan.cuda_graphs", 5, "full_iteration"},
};

INSTANTIATE_TEST_SUITE_P(Inputs, MalformedScenario, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Scenario, AtLeastThirtyMalformedInputsAreCovered) { EXPECT_GE(std::size(kBadCases), 30u); }

TEST(Scenario, WrittenYamlReadsBackTheSame) {
  // Every shipped scenario that predicts (search spaces aside): what the writer leaves out would
  // be lost when the GUI saves a scenario.
  int written = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/scenarios")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("search-", 0) == 0) continue;
    Scenario original;
    try {
      original = load_scenario(entry.path().string());
    } catch (const InputError&) {
      continue;  // a scenario that searches (lists or auto)
    }
    const Scenario again = load_scenario_text(scenario_to_yaml(original), "again.yaml", kSource + "/scenarios");
    ++written;
    EXPECT_EQ(scenario_to_yaml(again), scenario_to_yaml(original)) << name;
    EXPECT_EQ(again.plan.micro_batches(), original.plan.micro_batches()) << name;
    EXPECT_DOUBLE_EQ(total_parameters(again.model), total_parameters(original.model)) << name;
    EXPECT_DOUBLE_EQ(model_flops_per_token(again.model), model_flops_per_token(original.model)) << name;
    EXPECT_EQ(again.plan.etp, original.plan.etp) << name;
    EXPECT_EQ(again.plan.layers_per_stage, original.plan.layers_per_stage) << name;
    EXPECT_EQ(again.plan.placement, original.plan.placement) << name;
    EXPECT_EQ(again.plan.attention, original.plan.attention) << name;
    EXPECT_EQ(again.plan.recompute, original.plan.recompute) << name;
    EXPECT_EQ(again.plan.precision, original.plan.precision) << name;
    EXPECT_EQ(again.plan.fp8_param_gather, original.plan.fp8_param_gather) << name;
    EXPECT_EQ(again.plan.fp8_weight_cache, original.plan.fp8_weight_cache) << name;
    EXPECT_EQ(again.plan.gradient_reduce_bytes, original.plan.gradient_reduce_bytes) << name;
    EXPECT_EQ(again.cluster.topology.gpu.name, original.cluster.topology.gpu.name) << name;
    EXPECT_DOUBLE_EQ(again.cluster.topology.gpu.power_limit_watts, original.cluster.topology.gpu.power_limit_watts)
        << name;
    EXPECT_EQ(again.cluster.topology.gpus_per_node, original.cluster.topology.gpus_per_node) << name;
    EXPECT_DOUBLE_EQ(again.cluster.topology.nic_bandwidth, original.cluster.topology.nic_bandwidth) << name;
  }
  EXPECT_GE(written, 15);
}

TEST(Scenario, DataSectionReadsAPresetOrAFileOfLengths) {
  const Scenario preset = load_scenario(kSource + "/scenarios/bert-large-phase2-dgx-a100.yaml");
  EXPECT_EQ(preset.data.lengths, "wikipedia-bert-512");
  ASSERT_EQ(preset.data.length_counts.size(), 512u);
  EXPECT_EQ(preset.data.batching, Batching::binned);
  EXPECT_EQ(preset.data.bin_size, 64);

  const Scenario file = load_scenario_text(
      "model: {preset: bert-large}\ncluster: {topology: single-h200}\nplan: {}\n"
      "data: {lengths: lengths/two-lengths.yaml, batching: longest}\n",
      "file.yaml", kSource + "/tests/data");
  ASSERT_EQ(file.data.length_counts.size(), 100u);
  EXPECT_EQ(file.data.length_counts[9], 1);
  EXPECT_EQ(file.data.length_counts[99], 1);
  EXPECT_EQ(file.data.batching, Batching::longest);
  EXPECT_TRUE(std::filesystem::path(file.data.lengths).is_absolute());  // saved files find it again

  const Scenario none = load_scenario_text(kGood, "good.yaml");
  EXPECT_TRUE(none.data.full_rows());
}

// trainsim-exec's run.json, as `trainsim validate` reads it.
TEST(Measurement, AppliesTheModelAndPlanTheRunUsed) {
  auto sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt-tiny-cpu.yaml");
  const auto run = parse_measurement(
      R"({"step_time_s": 0.5, "model": {"arch": "llama", "layers": 4, "hidden": 128, "heads": 8, "kv_heads": 2,
          "ffn_hidden": 256, "seq_len": 64, "vocab": 512},
          "plan": {"dp": 1, "tp": 2, "pp": 1, "micro_batch": 2, "global_batch": 4, "schedule": "gpipe",
                   "recompute": "full", "sequence_parallel": true, "precision": "fp32"}})",
      "run.json");
  apply_measurement(sc, run, "run.json");
  EXPECT_EQ(sc.model.arch, Arch::llama);
  EXPECT_EQ(sc.model.kv_heads, 2);
  EXPECT_EQ(sc.model.ffn_hidden, 256);
  EXPECT_EQ(sc.plan.tp, 2);
  EXPECT_EQ(sc.plan.schedule, Schedule::gpipe);
  EXPECT_EQ(sc.plan.recompute, Recompute::full);
  EXPECT_TRUE(sc.plan.sequence_parallel);
  EXPECT_EQ(sc.cluster.gpus, 2);

  // The executor runs full rows: a scenario's sequence lengths do not describe the run.
  auto bert = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/bert-large-phase2-dgx-a100.yaml");
  ASSERT_FALSE(bert.data.full_rows());
  apply_measurement(bert, parse_measurement(R"({"step_time_s": 1.0})", "run.json"), "run.json");
  EXPECT_TRUE(bert.data.full_rows());
}

TEST(Measurement, MalformedIsAnInputErrorNamingTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1, 2]", ""},
      {"{\"tokens_per_s\": 3}", "step_time_s"},
      {"{\"step_time_s\": \"fast\"}", "step_time_s"},
      {"{\"step_time_s\": -1}", "step_time_s"},
      {"{\"step_time_s\": 1e-300}", "step_time_s"},
      {"{\"step_time_s\": 1, \"memory_per_gpu_bytes\": {\"peak\": -1}}", "peak"},
      {"{\"step_time_s\": 1, \"breakdown_s\": {\"compute\": -0.5}}", "compute"},
      {"{\"step_time_s\": 1, \"plan\": 7}", "plan"},
      {"{\"step_time_s\": 1, \"device\": 7}", "device"},
      {"{\"step_time_s\": 1,", ""},
      {"{\"step_time_s\": 1, \"tokens_per_s\": 0}", "tokens_per_s"},
      {"{\"step_time_s\": 1, \"mfu\": -0.5}", "mfu"},
      {"{\"step_time_s\": 1, \"step_times_s\": [0.1, -5, 1e308]}", "step_times_s"},
      {"{\"step_time_s\": 1, \"step_times_s\": 0.6}", "step_times_s"},
      {"{\"step_time_s\": 1, \"warmup\": -2}", "warmup"},
  };
  for (const auto& [text, key] : cases) {
    try {
      (void)parse_measurement(text, "run.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("run.json"), std::string::npos) << e.what();
      if (!key.empty()) {
        EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
      }
    }
  }
  auto sc = load_scenario(std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/gpt-tiny-cpu.yaml");
  for (const char* bad :
       {R"({"step_time_s": 1, "plan": {"tp": 1e12}})", R"({"step_time_s": 1, "model": {"layers": 0}})",
        R"({"step_time_s": 1, "plan": {"sequence_parallel": 3}})"}) {
    EXPECT_THROW(apply_measurement(sc, parse_measurement(bad, "run.json"), "run.json"), InputError) << bad;
  }
  // A measured model of a shape no scenario could give (validate --force would price it) is
  // refused as a scenario's would be, at the key at fault.
  for (const auto& [bad, key] :
       {std::pair{R"({"step_time_s": 1, "model": {"hidden": 100, "heads": 3}})", "model.heads"},
        std::pair{R"({"step_time_s": 1, "model": {"heads": 4, "kv_heads": 3}})", "model.kv_heads"}}) {
    try {
      apply_measurement(sc, parse_measurement(bad, "run.json"), "run.json");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(e.key(), key) << e.what();
    }
  }
}

// Layers that do not divide by pp: the remainder goes to the middle stages, then the first, then
// the last (which also runs the LM head), and the plan is valid with a warning.
TEST(Plan, UnevenPipelineSplitIsBalancedAndAllowed) {
  PlanSpec p;
  p.pp = 4;
  EXPECT_EQ(stage_layers(30, p), (std::vector<int>{7, 8, 8, 7}));
  EXPECT_EQ(stage_layers(31, p), (std::vector<int>{8, 8, 8, 7}));
  EXPECT_EQ(stage_layers(32, p), (std::vector<int>{8, 8, 8, 8}));
  p.pp = 2;
  EXPECT_EQ(stage_layers(5, p), (std::vector<int>{3, 2}));
  p.layers_per_stage = {1, 4};
  EXPECT_EQ(stage_layers(5, p), (std::vector<int>{1, 4}));

  auto sc = load_scenario(kSource + "/scenarios/gpt3-1.3b-32xa100.yaml");  // 24 layers, pp 4
  sc.model.layers = 26;
  bool warned = false;
  for (const auto& f : check_plan(sc.model, sc.cluster, sc.plan)) {
    EXPECT_NE(f.severity, Finding::Severity::error) << f.message;
    warned = warned || f.message.find("uneven split 6, 7, 7, 6") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  // Interleaved too: 26 layers over 8 chunks, with a warning that shows the split.
  sc.plan.schedule = Schedule::interleaved;
  sc.plan.virtual_stages = 2;
  warned = false;
  for (const auto& f : check_plan(sc.model, sc.cluster, sc.plan)) {
    EXPECT_NE(f.severity, Finding::Severity::error) << f.message;
    warned = warned || f.message.find("uneven split 6, 7, 7, 6 per stage, chunks of 3 or 4") != std::string::npos;
  }
  EXPECT_TRUE(warned);
}

namespace {
std::vector<int> per_stage_sums(const std::vector<int>& chunks, int pp) {
  std::vector<int> sums(pp, 0);
  for (std::size_t c = 0; c < chunks.size(); ++c) sums[c % pp] += chunks[c];
  return sums;
}
}  // namespace

// Interleaved splits that do not divide: every layer placed once, chunks within one layer of
// each other, stages within one layer of each other, and the model's first chunk (with the
// embedding) and last chunk (with the LM head and loss) among the short ones, only full when
// every other chunk is.
TEST(Plan, UnevenInterleavedSplitIsBalancedWithShortFirstAndLastChunks) {
  for (const auto& [layers, pp, v] : {std::tuple{126, 8, 8},
                                      {126, 16, 4},
                                      {126, 4, 4},
                                      {26, 4, 2},
                                      {30, 4, 2},
                                      {100, 4, 3},
                                      {7, 1, 4},
                                      {9, 2, 2},
                                      {31, 4, 2},
                                      {17, 3, 5}}) {
    PlanSpec p;
    p.pp = pp;
    p.virtual_stages = v;
    p.schedule = Schedule::interleaved;
    const auto chunks = chunk_layers(layers, p);
    const std::string label = std::to_string(layers) + " layers, pp " + std::to_string(pp) + " x " + std::to_string(v);
    ASSERT_EQ(chunks.size(), std::size_t(pp * v)) << label;
    EXPECT_EQ(std::accumulate(chunks.begin(), chunks.end(), 0), layers) << label;
    const auto [least, most] = std::minmax_element(chunks.begin(), chunks.end());
    EXPECT_LE(*most - *least, 1) << label;
    EXPECT_GE(*least, 1) << label;
    const auto stages = stage_layers(layers, p);
    EXPECT_EQ(stages, per_stage_sums(chunks, pp)) << label;
    const auto [few, many] = std::minmax_element(stages.begin(), stages.end());
    EXPECT_LE(*many - *few, 1) << label;
    const int remainder = layers % (pp * v);
    const int count = pp * v;
    // The first chunk takes a layer of the remainder only when every chunk but the last has one.
    EXPECT_EQ(chunks.front(), *least + (remainder >= count - 1 ? 1 : 0)) << label;
    EXPECT_EQ(chunks.back(), *least) << label;
  }
  // Llama 3.1 405B's 126 layers over 8 stages of 8 chunks: the embedding's and the head's chunks
  // one layer each, the other 62 chunks two; the end stages one layer short of the middle ones.
  PlanSpec p;
  p.pp = 8;
  p.virtual_stages = 8;
  p.schedule = Schedule::interleaved;
  const auto chunks = chunk_layers(126, p);
  EXPECT_EQ(chunks.front(), 1);
  EXPECT_EQ(chunks.back(), 1);
  EXPECT_EQ(std::count(chunks.begin(), chunks.end(), 2), 62);
  EXPECT_EQ(stage_layers(126, p), (std::vector<int>{15, 16, 16, 16, 16, 16, 16, 15}));
}

// Where the layers divide, every chunk gets the same share, as before uneven splits existed.
TEST(Plan, EvenInterleavedSplitIsUniform) {
  PlanSpec p;
  p.pp = 4;
  p.virtual_stages = 3;
  p.schedule = Schedule::interleaved;
  EXPECT_EQ(chunk_layers(96, p), std::vector<int>(12, 8));
  EXPECT_EQ(stage_layers(96, p), std::vector<int>(4, 24));
  p.virtual_stages = 1;
  p.schedule = Schedule::one_f_one_b;
  EXPECT_EQ(chunk_layers(96, p), std::vector<int>(4, 24));
}

// layers_per_stage with virtual stages: one entry per stage (each split over its chunks, the
// model's first and last chunks short first) or one per chunk in model order (taken as given).
TEST(Plan, LayersPerStageWithVirtualStagesPerStageOrPerChunk) {
  PlanSpec p;
  p.pp = 2;
  p.virtual_stages = 2;
  p.schedule = Schedule::interleaved;
  // Chunk order: chunk 0 and 2 on stage 0, chunk 1 and 3 on stage 1.
  p.layers_per_stage = {11, 13};
  EXPECT_EQ(chunk_layers(24, p), (std::vector<int>{5, 7, 6, 6}));
  EXPECT_EQ(stage_layers(24, p), (std::vector<int>{11, 13}));
  p.layers_per_stage = {3, 7, 9, 5};
  EXPECT_EQ(chunk_layers(24, p), (std::vector<int>{3, 7, 9, 5}));
  EXPECT_EQ(stage_layers(24, p), (std::vector<int>{12, 12}));

  for (const char* split : {"[11, 13]", "[3, 7, 9, 5]"}) {
    const Scenario sc =
        load_scenario_text(std::string("model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 2}\n"
                                       "plan: {pp: 2, virtual_stages: 2, global_batch: 4, layers_per_stage: ") +
                               split + "}\n",
                           "split.yaml");
    EXPECT_EQ(std::accumulate(sc.plan.layers_per_stage.begin(), sc.plan.layers_per_stage.end(), 0), 24) << split;
    EXPECT_EQ(chunk_layers(sc.model.layers, sc.plan).size(), 4u) << split;
  }
}
