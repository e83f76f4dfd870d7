// Answers a user can act on: the memory reserve in every fit decision, predict on a plan that does
// not fit, search and compare ranking only plans that fit, and one validation for every input path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "report/prediction.hpp"
#include "scenario/scenario.hpp"
#include "scenario/yaml_reader.hpp"
#include "search/search.hpp"
#include "workload/memory.hpp"

using namespace trainsim;

namespace {

const std::string kSource = TRAINSIM_SOURCE_DIR;
constexpr double kGiB = 1024.0 * 1024 * 1024;

struct CommandResult {
  int code;
  std::string out;  // stdout
  std::string err;  // stderr
};

CommandResult run(const std::string& arguments) {
  // One file per process: CTest runs the tests of this binary as parallel processes.
  const std::string err_file = testing::TempDir() + "/fit_test_stderr." + std::to_string(getpid()) + ".txt";
  const std::string command = std::string(TRAINSIM_BINARY) + " " + arguments + " 2>" + err_file;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buffer{};
  while (const auto n = fread(buffer.data(), 1, buffer.size(), pipe.get())) out.append(buffer.data(), n);
  const int status = pclose(pipe.release());
  std::ifstream in(err_file);
  std::stringstream err;
  err << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err.str()};
}

// Named after the running test too: CTest runs tests in parallel, and two writing one path race.
std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path =
      testing::TempDir() + "/" + testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// Llama 2 70B with tp 8 on one node: about twice an H100's memory.
const char* kTooBig = R"(name: too-big
model: {preset: llama2-70b}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan: {tp: 8, micro_batch: 1, global_batch: 16}
)";

// A plan space on a node of H100s where nothing fits (no ZeRO, no pipeline, no recomputation).
const char* kNothingFits = R"(name: nothing-fits
model: {preset: llama2-70b}
cluster: {topology: dgx-h100-superpod, gpus: 8}
plan:
  tp: [4, 8]
  micro_batch: [1, 2]
  zero: [0, 1]
  recompute: [none, selective]
  global_batch: 64
)";

// Some of these plans fit on 16 H100s, some do not (small tp, no ZeRO, no recomputation).
const char* kSomeFit = R"(name: some-fit
model: {preset: llama2-13b}
cluster: {topology: dgx-h100-superpod, gpus: 16}
plan:
  tp: [1, 2, 4, 8]
  pp: [1, 2]
  micro_batch: [1, 4]
  zero: [0, 3]
  recompute: [none, full]
  global_batch: 64
)";

}  // namespace

// ---- The reserve ------------------------------------------------------------------------------

TEST(MemoryReserve, APlanAt79Point8Of80GiBDoesNotFitUnderTheDefault) {
  MemoryBreakdown m;
  m.capacity = 80 * kGiB;
  m.peak = 79.8 * kGiB;
  m.reserve = default_memory_reserve(m.capacity);
  EXPECT_FALSE(m.fits());
  // The same through the memory model: a plan whose peak is 99.75% of the GPU's memory.
  Scenario sc = load_scenario(kSource + "/scenarios/gpt3-1.3b-32xa100.yaml");
  const MemoryBreakdown model = estimate_step(sc).memory;
  sc.cluster.topology.gpu.memory_bytes = model.peak / (79.8 / 80);
  const MemoryBreakdown tight = estimate_step(sc).memory;
  EXPECT_NEAR(tight.peak / tight.capacity, 79.8 / 80, 1e-9);
  EXPECT_GT(tight.reserve, 0);
  EXPECT_FALSE(tight.fits());
  // Without a reserve it would fit: the reserve is what refuses it.
  sc.cluster.memory_reserve = 0;
  EXPECT_TRUE(estimate_step(sc).memory.fits());
}

TEST(MemoryReserve, DefaultIsAFixedPartAndAShareOfTheGpu) {
  EXPECT_DOUBLE_EQ(default_memory_reserve(80 * kGiB), kReserveFixedBytes + kReserveFraction * 80 * kGiB);
  EXPECT_GT(default_memory_reserve(141e9), default_memory_reserve(80 * kGiB));
}

TEST(MemoryReserve, ClusterKeyOverridesTheDefault) {
  const Scenario sc = load_scenario_text(
      "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 8, memory_reserve: 4GiB}\n"
      "plan: {global_batch: 8}\n",
      "reserve.yaml");
  ASSERT_TRUE(sc.cluster.memory_reserve.has_value());
  EXPECT_DOUBLE_EQ(*sc.cluster.memory_reserve, 4 * kGiB);
  const MemoryBreakdown m = estimate_step(sc).memory;
  EXPECT_DOUBLE_EQ(m.reserve, 4 * kGiB);
  EXPECT_DOUBLE_EQ(m.usable(), m.capacity - 4 * kGiB);
}

// ---- predict on a plan that does not fit --------------------------------------------------------

// A datasheet's "141 GB" is the HBM's size in GiB less what the driver keeps; the capacity a plan
// must fit is what the driver reports (nvidia-smi's total, cited in sim/presets/gpus.yaml), not
// that many 10^9 bytes, which is 7% less.
TEST(MemoryReserve, AGpusMemoryIsWhatItsDriverReports) {
  constexpr double kMiB = 1024.0 * 1024;
  const struct {
    const char* preset;
    double datasheet_gb, driver_mib;
  } gpus[] = {{"h100-sxm-80gb", 80, 81559},    {"h200-sxm-141gb", 141, 143771}, {"b200-sxm-180gb", 180, 183359},
              {"gb200-186gb", 186, 189471},    {"b300-sxm-288gb", 288, 275040}, {"gb300-288gb", 288, 284208},
              {"h100-sxm-96gb", 96, 95 * 1024}};
  for (const auto& g : gpus) {
    SCOPED_TRACE(g.preset);
    const double memory = gpu_preset(g.preset).memory_bytes;
    EXPECT_DOUBLE_EQ(memory, g.driver_mib * kMiB);
    // Within 8% of the datasheet's figure read as GiB (B300's 288 GB is 10^9 bytes: 268.6 GiB).
    EXPECT_NEAR(memory / (g.datasheet_gb * kGiB), 1.0, 0.08);
  }
  // An H200 plan whose tensors take 128 GiB fits under the default reserve (140.4 GiB less 9 GiB);
  // against 141e9 bytes (131.3 GiB less 8.6 GiB) it would not.
  MemoryBreakdown m;
  m.capacity = gpu_preset("h200-sxm-141gb").memory_bytes;
  m.reserve = default_memory_reserve(m.capacity);
  m.peak = 128 * kGiB;
  EXPECT_TRUE(m.fits());
  m.capacity = 141e9;
  m.reserve = default_memory_reserve(m.capacity);
  EXPECT_FALSE(m.fits());
}

TEST(PredictFit, StrictExitsThreeAndJsonCarriesEveryWarning) {
  const std::string path = write_temp("too-big.yaml", kTooBig);
  EXPECT_EQ(run("predict " + path + " --strict").code, 3);
  const CommandResult r = run("predict " + path + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["fits_in_memory"].get<bool>());
  ASSERT_TRUE(j["warnings"].is_array());
  bool memory_warning = false;
  for (const auto& w : j["warnings"]) {
    memory_warning = memory_warning || w["message"].get<std::string>().find("does not fit") != std::string::npos;
  }
  EXPECT_TRUE(memory_warning) << j["warnings"].dump();
  // Every warning line on stderr is one of the JSON's warnings.
  std::istringstream lines(r.err);
  int printed = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("warning") == std::string::npos) continue;
    ++printed;
    bool found = false;
    for (const auto& w : j["warnings"])
      found = found || line.find(w["message"].get<std::string>()) != std::string::npos;
    EXPECT_TRUE(found) << line;
  }
  EXPECT_EQ(printed, static_cast<int>(j["warnings"].size()));
}

TEST(PredictFit, TableSaysSoFirstAndSuggestsPlansThatFit) {
  const std::string path = write_temp("too-big.yaml", kTooBig);
  const CommandResult r = run("predict " + path);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("DOES NOT FIT", 0), 0u) << r.out.substr(0, 200);
  // The suggestions fit under the same reserve, by the same memory model.
  const Scenario sc = load_scenario(path);
  const auto suggestions = suggest_fitting_plans(sc);
  ASSERT_FALSE(suggestions.empty());
  EXPECT_LE(suggestions.size(), 3u);
  for (const auto& s : suggestions) {
    Scenario candidate = sc;
    candidate.plan = s.plan;
    EXPECT_TRUE(check_plan(candidate.model, candidate.cluster, candidate.plan).empty() ||
                check_plan(candidate.model, candidate.cluster, candidate.plan).front().severity ==
                    Finding::Severity::warning);
    const MemoryBreakdown m = estimate_step(candidate).memory;
    EXPECT_TRUE(m.fits()) << s.changes;
    EXPECT_DOUBLE_EQ(m.peak, s.peak_bytes);
    EXPECT_NE(r.out.find(s.changes), std::string::npos) << s.changes;
  }
  const auto j = nlohmann::json::parse(run("predict " + path + " --json").out);
  EXPECT_EQ(j["suggestions"].size(), suggestions.size());
}

TEST(PredictFit, FittingPlanExitsZeroEvenWhenStrict) {
  const CommandResult r = run("predict " + kSource + "/scenarios/gpt3-1.3b-32xa100.yaml --strict --json");
  EXPECT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["fits_in_memory"].get<bool>());
  EXPECT_TRUE(j["warnings"].is_array());
}

// Every shipped scenario fits, or says in a comment that it shows a plan that does not.
TEST(PredictFit, ShippedScenariosFitOrSaySo) {
  for (const auto& entry : std::filesystem::directory_iterator(kSource + "/scenarios")) {
    const std::string path = entry.path().string();
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!searched_fields(load_yaml_text(text, path)).empty()) continue;  // plan spaces: search ranks only what fits
    const Scenario sc = load_scenario(path);
    const MemoryBreakdown m = estimate_step(sc).memory;
    if (!m.fits()) {
      EXPECT_NE(text.find("does NOT fit"), std::string::npos) << path << " needs " << m.peak / kGiB;
    }
  }
}

// ---- search and compare rank only plans that fit ------------------------------------------------

TEST(SearchFit, RanksOnlyPlansThatFit) {
  const PlanSpace space = load_plan_space(write_temp("some-fit.yaml", kSomeFit));
  SearchOptions options;
  options.top_k = 2;
  const SearchResult result = search_plans(space, options);
  EXPECT_GT(result.not_fitting, 0u);
  ASSERT_FALSE(result.plans.empty());
  for (const auto& c : result.plans) {
    Scenario sc = space.base;
    sc.plan = c.plan;
    EXPECT_TRUE(estimate_step(sc).memory.fits());
  }
  // The CLI's JSON lists the same plans: none above its GPU's usable memory.
  const CommandResult r = run("search " + write_temp("some-fit.yaml", kSomeFit) + " --top 2 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const double usable = space.base.cluster.topology.gpu.memory_bytes -
                        default_memory_reserve(space.base.cluster.topology.gpu.memory_bytes);
  EXPECT_EQ(j["plans"].size(), result.plans.size());
  for (const auto& plan : j["plans"]) EXPECT_LE(plan["peak_memory_bytes"].get<double>(), usable);
}

TEST(SearchFit, NothingFitsSaysSoAndNamesTheSmallestJob) {
  const std::string path = write_temp("nothing-fits.yaml", kNothingFits);
  const CommandResult r = run("search " + path + " --top 2");
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("no plan fits in GPU memory on 8 GPUs"), std::string::npos) << r.err;
  const auto smallest = smallest_fitting_gpus(load_plan_space(path));
  ASSERT_TRUE(smallest.has_value());
  EXPECT_GT(*smallest, 8);
  EXPECT_NE(r.err.find("fits: " + std::to_string(*smallest) + " GPUs"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(run("search " + path + " --top 2 --json").out);
  EXPECT_TRUE(j["plans"].empty());
  EXPECT_EQ(j["fits_from_gpus"].get<int>(), *smallest);
}

TEST(CompareFit, NeverListsAPlanThatDoesNotFit) {
  const std::string csv = testing::TempDir() + "/fit-compare.csv";
  const std::string too_big = write_temp("too-big.yaml", kTooBig);
  const CommandResult r =
      run("compare " + too_big + " " + kSource + "/scenarios/gpt3-1.3b-32xa100.yaml --top 1 --csv " + csv);
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("not compared"), std::string::npos) << r.out;
  std::ifstream in(csv);
  std::string header, row;
  std::getline(in, header);
  int rows = 0;
  while (std::getline(in, row)) {
    ++rows;
    EXPECT_EQ(row.find("too-big"), std::string::npos) << row;
  }
  EXPECT_EQ(rows, 1);
}

// ---- one validation for every path --------------------------------------------------------------

TEST(Validation, SearchedListsAreCheckedLikeSingleValues) {
  const std::string zero = write_temp("zero-list.yaml",
                                      "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\n"
                                      "plan:\n  tp: [1, 2]\n  zero: [1, 5, 7]\n  global_batch: 64\n");
  try {
    load_plan_space(zero);
    FAIL() << "zero: [1, 5, 7] loaded";
  } catch (const InputError& e) {
    EXPECT_EQ(e.where().file, zero);
    EXPECT_EQ(e.where().line, 5);
    EXPECT_EQ(e.key(), "plan.zero");
  }
  const CommandResult r = run("search " + zero);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("zero-list.yaml:5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'plan.zero'"), std::string::npos) << r.err;

  const std::string recompute =
      write_temp("recompute-list.yaml",
                 "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\n"
                 "plan:\n  tp: [1, 2]\n  recompute: [full,\n    banana]\n  global_batch: 64\n");
  const CommandResult b = run("search " + recompute);
  EXPECT_EQ(b.code, 2);
  EXPECT_NE(b.err.find("recompute-list.yaml:6"), std::string::npos) << b.err;  // banana's own line
  EXPECT_NE(b.err.find("'plan.recompute'"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("banana"), std::string::npos) << b.err;
  // Values the GPUs do not divide are invalid plans, not input errors.
  const std::string tp = write_temp("tp-list.yaml",
                                    "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\n"
                                    "plan:\n  tp: [1, 2, 3]\n  global_batch: 64\n");
  std::size_t invalid = 0;
  EXPECT_EQ(enumerate_plans(load_plan_space(tp), &invalid).size(), 2u);
  EXPECT_EQ(invalid, 1u);
}

TEST(Validation, BareNumbersForDimensionedKeysAreInputErrors) {
  const std::string path = write_temp(
      "bare.yaml", "model: {preset: gpt2}\ncluster: {topology: single-h200, nic_bandwidth: 400}\nplan: {}\n");
  const CommandResult r = run("predict " + path);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bare.yaml:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'cluster.nic_bandwidth'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("400 needs a unit: 400Gb/s"), std::string::npos) << r.err;
  for (const char* text : {"cluster: {topology: single-h200, memory_reserve: 4}\nplan: {}\n",
                           "cluster: {topology: single-h200}\nplan: {bucket_size: 80}\n",
                           "cluster: {topology: single-h200}\nplan: {}\ntraining: {checkpoint_interval: 3600}\n"}) {
    EXPECT_THROW(load_scenario_text(std::string("model: {preset: gpt2}\n") + text, "bare.yaml"), InputError) << text;
  }
  // Every shipped topology and preset still parses.
  for (const auto& name : topology_preset_names()) EXPECT_NO_THROW(load_topology(name)) << name;
  for (const auto& name : gpu_preset_names()) EXPECT_NO_THROW(gpu_preset(name)) << name;
}

TEST(Validation, InvalidUtf8IsAnInputError) {
  const std::string path =
      write_temp("latin1.yaml", "name: caf\xE9\nmodel: {preset: gpt2}\ncluster: {topology: single-h200}\nplan: {}\n");
  const CommandResult r = run("predict " + path + " --json");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.err.find("latin1.yaml:1:10"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
  // Valid multi-byte text is fine.
  EXPECT_NO_THROW(
      load_scenario_text("name: caf\xC3\xA9\nmodel: {preset: gpt2}\ncluster: {topology: single-h200}\n"
                         "plan: {}\n",
                         "utf8.yaml"));
  // A truncated sequence in a comment, an overlong form, a surrogate: all refused.
  for (const char* bad : {"# \xE2\x82\n", "# \xC0\xAF\n", "# \xED\xA0\x80\n"}) {
    EXPECT_THROW(load_scenario_text(std::string(bad) + "model: {preset: gpt2}\ncluster: {topology: single-h200}\n"
                                                       "plan: {}\n",
                                    "bad.yaml"),
                 InputError);
  }
}

TEST(Validation, DpAutoPredictsTheSameAsDpOmitted) {
  const std::string base = "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 16}\n";
  const Scenario with_auto = load_scenario_text(base + "plan: {tp: 2, dp: auto, global_batch: 64}\n", "x.yaml");
  const Scenario omitted = load_scenario_text(base + "plan: {tp: 2, global_batch: 64}\n", "x.yaml");
  EXPECT_EQ(with_auto.plan.dp, 8);
  EXPECT_EQ(with_auto.plan.dp, omitted.plan.dp);
  EXPECT_EQ(prediction_json(predict(with_auto)).dump(), prediction_json(predict(omitted)).dump());
}

TEST(Validation, PredictOnASearchScenarioPointsToSearch) {
  const CommandResult r = run("predict " + kSource + "/scenarios/search-llama2-7b.yaml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("this scenario searches"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run trainsim search"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("search-llama2-7b.yaml:6"), std::string::npos) << r.err;
}

// A searched key the best plan leaves at its default (no hybrid sharding, every layer recomputed
// or none) is taken out of the exported file: left as `auto` or a list, predict refused the file
// as a search (found by an adversarial pass over the CLI, session 42).
TEST(SearchDecision, ExportedBestPlanKeepsNoSearchedKey) {
  const std::string scenario = testing::TempDir() + "/shard-auto.yaml";
  std::ofstream(scenario) << "model: {preset: llama2-7b}\ncluster: {topology: dgx-h100-superpod, gpus: 64}\n"
                             "plan: {zero: 1, dp_shard: auto, recompute_fraction: [0.5, 1], global_batch: 256}\n";
  const std::string best = testing::TempDir() + "/shard-best.yaml";
  const CommandResult searched = run("search " + scenario + " --fidelity estimate --export " + best);
  ASSERT_EQ(searched.code, 0) << searched.err;
  const CommandResult predicted = run("predict " + best);
  EXPECT_EQ(predicted.code, 0) << predicted.err;
}

// A job that fails faster than it checkpoints never finishes: the search says so ("never", and
// null in --json), as predict's warning does; it printed "$infB".
TEST(SearchDecision, AJobThatNeverFinishesSaysSo) {
  const std::string scenario = testing::TempDir() + "/never.yaml";
  std::ofstream(scenario) << "model: {preset: gpt3-1.3b}\ncluster: {topology: dgx-a100-superpod, gpus: 64, "
                             "price_per_gpu_hour: 2}\nplan: {tp: auto, micro_batch: 1, global_batch: 64}\n"
                             "training: {tokens: 30e9, failures: {mtbf_per_node: 1us}}\n";
  const CommandResult table = run("search " + scenario + " --fidelity estimate");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("never"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("inf"), std::string::npos) << table.out;
  const CommandResult json = run("search " + scenario + " --fidelity estimate --json");
  ASSERT_EQ(json.code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  ASSERT_FALSE(j["plans"].empty());
  EXPECT_TRUE(j["plans"][0]["time_to_train_s"].is_null());
  EXPECT_TRUE(j["plans"][0]["cost_to_train"].is_null());
}

// The search ends in a decision: the best plan exported as a scenario predicts the step the
// search simulated, to the bit; --top K prints K rows; --json --all lists the plans not ranked
// with the reason; progress goes to stderr when it is not a terminal.
TEST(SearchDecision, ExportedBestPlanPredictsTheSameStep) {
  const std::string best = testing::TempDir() + "/best.yaml";
  const std::string scenario = std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-llama2-7b.yaml";
  const CommandResult searched = run("search " + scenario + " --top 2 --json --all --export " + best);
  ASSERT_EQ(searched.code, 0) << searched.err;
  const auto j = nlohmann::json::parse(searched.out);
  ASSERT_FALSE(j["plans"].empty());
  const auto& top = j["plans"][0];
  ASSERT_TRUE(top["simulated_step_time_s"].is_number());
  EXPECT_TRUE(top["time_to_train_s"].is_number());  // training.tokens is given
  // Progress lines, since stderr is a file here.
  EXPECT_NE(searched.err.find("trainsim search: estimating"), std::string::npos) << searched.err;

  const CommandResult predicted = run("predict " + best + " --json");
  ASSERT_EQ(predicted.code, 0) << predicted.err;
  const auto p = nlohmann::json::parse(predicted.out);
  EXPECT_EQ(p["step_time_s"].get<double>(), top["simulated_step_time_s"].get<double>());
  EXPECT_EQ(p["gpus"], j["gpus"]);

  // Every plan of the space is ranked or listed with why not, and those that do not fit say so.
  const auto& not_ranked = j["not_ranked"];
  EXPECT_EQ(j["plans"].size() + not_ranked.size(), j["enumerated"].get<std::size_t>());
  std::size_t not_fitting = 0, duplicates = 0;
  for (const auto& r : not_ranked) {
    ASSERT_TRUE(r["reason"].is_string());
    EXPECT_FALSE(r["reason"].get<std::string>().empty());
    if (r["reason"].get<std::string>().find("does not fit in GPU memory") != std::string::npos) ++not_fitting;
    if (r["reason"].get<std::string>().find("the same") != std::string::npos) ++duplicates;
  }
  EXPECT_EQ(not_fitting, j["not_fitting"].get<std::size_t>());
  EXPECT_GT(not_fitting, 0u);
  EXPECT_GT(duplicates, 0u);
  // Selective recomputation with flash attention is `none` again: never ranked.
  for (const auto& plan : j["plans"]) EXPECT_NE(plan["recompute"], "selective");
}

TEST(SearchDecision, TopKPrintsKRows) {
  const std::string scenario = std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-llama2-7b.yaml";
  for (const int k : {1, 3}) {
    const CommandResult r = run("search " + scenario + " --top " + std::to_string(k));
    ASSERT_EQ(r.code, 0) << r.err;
    std::istringstream lines(r.out);
    int rows = 0;
    bool table = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("rank", 0) == 0)
        table = true;
      else if (table && !line.empty())
        ++rows;
    }
    EXPECT_EQ(rows, k) << r.out;
    EXPECT_NE(r.out.find("to train"), std::string::npos);
  }
}

// Fewest GPUs that finish by a deadline: a later deadline never needs more GPUs.
TEST(SearchDecision, FewestGpusByADeadline) {
  const std::string scenario = std::string(TRAINSIM_SOURCE_DIR) + "/scenarios/search-llama2-7b.yaml";
  const CommandResult tight = run("search " + scenario + " --top 1 --json --objective gpus --deadline 30d");
  const CommandResult loose = run("search " + scenario + " --top 1 --json --objective gpus --deadline 400d");
  ASSERT_EQ(tight.code, 0) << tight.err;
  ASSERT_EQ(loose.code, 0) << loose.err;
  const auto t = nlohmann::json::parse(tight.out), l = nlohmann::json::parse(loose.out);
  EXPECT_LE(l["gpus"].get<int>(), t["gpus"].get<int>());
  EXPECT_LT(l["gpus"].get<int>(), 64);
  EXPECT_LE(t["plans"][0]["time_to_train_s"].get<double>(), 30 * 86400.0 * 1.05);  // chosen on estimates
  EXPECT_EQ(run("search " + scenario + " --objective gpus").code, 2);              // needs --deadline
}

// validate compares like with like: a measurement of another model is refused (exit 2, naming what
// differs) unless --force, which warns; the verdict is one line.
TEST(ValidateLikeWithLike, RefusesAnotherModelUnlessForced) {
  const std::string source = TRAINSIM_SOURCE_DIR;
  const std::string scenario = source + "/scenarios/gpt3-1.3b-single-h200.yaml";
  const std::string measured = source + "/data/measurements/h200-2026-11-28-gpt-1.3b.json";
  const CommandResult same = run("validate " + scenario + " --measured " + measured);
  ASSERT_EQ(same.code, 0) << same.err;
  EXPECT_NE(same.out.find("prediction "), std::string::npos) << same.out;
  EXPECT_NE(same.out.find(" than measured"), std::string::npos) << same.out;

  std::ifstream in(measured);
  nlohmann::json other = nlohmann::json::parse(in);
  other["model"]["layers"] = other["model"]["layers"].get<int>() / 2;
  other["step_times_s"] = {0.5, 0.3, 0.31, 0.29};
  other["warmup"] = 1;
  const std::string other_file = write_temp("other-model.json", other.dump());
  const CommandResult refused = run("validate " + scenario + " --measured " + other_file);
  EXPECT_EQ(refused.code, 2);
  EXPECT_NE(refused.err.find("model.layers"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;

  const CommandResult forced = run("validate " + scenario + " --measured " + other_file + " --force");
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_NE(forced.err.find("WARNING"), std::string::npos) << forced.err;
  EXPECT_NE(forced.out.find("measured steps: 3 after 1 warm-up"), std::string::npos) << forced.out;

  // Another plan or device is refused as well.
  nlohmann::json plan = nlohmann::json::parse(std::ifstream(measured));
  plan["plan"]["micro_batch"] = 1;
  EXPECT_EQ(run("validate " + scenario + " --measured " + write_temp("other-plan.json", plan.dump())).code, 2);
  nlohmann::json device = nlohmann::json::parse(std::ifstream(measured));
  device["device"] = "cpu (Gloo)";
  EXPECT_EQ(run("validate " + scenario + " --measured " + write_temp("other-device.json", device.dump())).code, 2);
}
