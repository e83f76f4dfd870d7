// A prediction quotes how far the simulator missed the public runs of its GPU and precision, and
// the table it quotes from is the bench output kept in docs/.
#include "report/public_error.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

struct DocGroup {
  std::string name;  // "h100 16-bit"
  int rows = 0;
  double mape_percent = 0, signed_percent = 0;
};

// bench_accuracy's "by GPU and precision:" lines, as a file in docs/ keeps them: every line up to
// the next section ("peak memory:") must be one.
std::vector<DocGroup> groups_in(const std::string& doc) {
  std::ifstream in(kSource + "/docs/" + doc);
  static const std::regex line(R"(^  (\S+ \S+)\s+(\d+) rows\s+MAPE\s+([-\d.]+)%\s+mean signed error\s+([-+\d.]+)%$)");
  std::vector<DocGroup> groups;
  bool inside = false;
  for (std::string text; std::getline(in, text);) {
    if (text.rfind("by GPU and precision:", 0) == 0) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (text.rfind("peak memory:", 0) == 0) break;
    std::smatch m;
    EXPECT_TRUE(std::regex_match(text, m, line)) << doc << ": not a group line: " << text;
    if (m.empty()) continue;
    groups.push_back({m[1], std::stoi(m[2]), std::stod(m[3]), std::stod(m[4])});
  }
  return groups;
}

DocGroup group_named(const std::vector<DocGroup>& groups, const std::string& name) {
  for (const auto& g : groups) {
    if (g.name == name) return g;
  }
  return {};
}

}  // namespace

TEST(PublicError, ShippedTableIsTheBenchOutputInDocs) {
  const auto stated = groups_in("accuracy-rows.txt");
  ASSERT_GE(stated.size(), 5u) << "no 'by GPU and precision:' lines in docs/accuracy-rows.txt";
  std::set<std::string> documented;
  for (const auto& g : stated) documented.insert(g.name);
  const auto shipped = trainsim::public_error_groups();
  EXPECT_EQ(std::set<std::string>(shipped.begin(), shipped.end()), documented)
      << "sim/presets/accuracy.yaml and docs/accuracy-rows.txt name other groups: rerun bench/accuracy_summary.py";
  using trainsim::FrameworkBasis;
  for (const auto& [doc, basis] : {std::pair{"accuracy-rows.txt", FrameworkBasis::stated},
                                   std::pair{"accuracy-rows-named.txt", FrameworkBasis::named},
                                   std::pair{"accuracy-rows-defaults.txt", FrameworkBasis::defaults}}) {
    const auto rows = groups_in(doc);
    EXPECT_EQ(rows.size(), stated.size()) << doc;
    for (const auto& g : rows) {
      const auto quoted = trainsim::public_error_of_group(g.name, basis);
      ASSERT_TRUE(quoted) << g.name << " (docs/" << doc << ") is not in sim/presets/accuracy.yaml";
      EXPECT_EQ(quoted->rows, g.rows) << doc << ": " << g.name;
      EXPECT_NEAR(quoted->mape, g.mape_percent / 100, 1e-12) << doc << ": " << g.name;
      EXPECT_NEAR(quoted->mean_signed, g.signed_percent / 100, 1e-12) << doc << ": " << g.name;
    }
  }
}

TEST(PublicError, PredictionQuotesThePublicErrorOfItsGroup) {
  const auto stated = group_named(groups_in("accuracy-rows.txt"), "a100 16-bit");
  const auto named_group = group_named(groups_in("accuracy-rows-named.txt"), "a100 16-bit");
  const auto defaults = group_named(groups_in("accuracy-rows-defaults.txt"), "a100 16-bit");
  ASSERT_GE(stated.rows, trainsim::kPublicErrorMinRows);
  const std::string a100 = kSource + "/scenarios/gpt3-1.3b-32xa100.yaml";
  // Naming the attention kernels (or the framework) is what the bench's rows do.
  const CommandResult named = run("predict " + a100 + " --json --set plan.attention=flash2");
  ASSERT_EQ(named.code, 0) << named.output;
  const auto e = nlohmann::json::parse(named.output).at("public_error");
  EXPECT_EQ(e.at("group"), "a100 16-bit");
  EXPECT_EQ(e.at("rows").get<int>(), stated.rows);
  EXPECT_NEAR(e.at("mape").get<double>(), stated.mape_percent / 100, 1e-12);
  EXPECT_NEAR(e.at("mean_signed_error").get<double>(), stated.signed_percent / 100, 1e-12);
  EXPECT_EQ(e.at("framework"), "stated");
  // Left at the defaults, the rows' figures with their framework fields at the defaults.
  const CommandResult unnamed = run("predict " + a100 + " --json");
  ASSERT_EQ(unnamed.code, 0) << unnamed.output;
  const auto d = nlohmann::json::parse(unnamed.output).at("public_error");
  EXPECT_NEAR(d.at("mape").get<double>(), defaults.mape_percent / 100, 1e-12);
  EXPECT_EQ(d.at("framework"), "defaults");
  const CommandResult framework = run("predict " + a100 + " --json --set plan.framework=megatron");
  ASSERT_EQ(framework.code, 0) << framework.output;
  const auto n = nlohmann::json::parse(framework.output).at("public_error");
  EXPECT_EQ(n.at("framework"), "named");
  EXPECT_NEAR(n.at("mape").get<double>(), named_group.mape_percent / 100, 1e-12);
  // The rows ran at the default clock spread: another spread quotes no group's error.
  const CommandResult spread =
      run("predict " + a100 + " --json --set plan.attention=flash2 --set cluster.gpu_clock_spread=2%");
  ASSERT_EQ(spread.code, 0) << spread.output;
  const auto s = nlohmann::json::parse(spread.output);
  EXPECT_TRUE(s.at("public_error").is_null());
  EXPECT_LT(s.at("slowest_gpu_clock").get<double>(), nlohmann::json::parse(named.output).at("slowest_gpu_clock"));
  const CommandResult table = run("predict " + a100);
  ASSERT_EQ(table.code, 0) << table.output;
  EXPECT_NE(table.output.find("MAPE on the " + std::to_string(stated.rows) +
                              " public a100 16-bit runs with their "
                              "framework's fields left at the defaults"),
            std::string::npos)
      << table.output;
}

TEST(PublicError, NothingIsQuotedWhereThePublicRowsDoNotSpeak) {
  const auto quoted = [](const std::string& args) {
    const CommandResult r = run("predict " + args + " --json");
    EXPECT_EQ(r.code, 0) << r.output;
    return !nlohmann::json::parse(r.output.substr(r.output.find('{'))).at("public_error").is_null();
  };
  const std::string a100 = kSource + "/scenarios/gpt3-1.3b-32xa100.yaml";
  ASSERT_TRUE(quoted(a100));
  // No 16-bit H200 run is public, and two FP8 ones are too few.
  const std::string h200 = kSource + "/scenarios/gpt3-1.3b-single-h200.yaml";
  EXPECT_FALSE(quoted(h200));
  EXPECT_FALSE(quoted(h200 + " --set plan.precision=fp8"));
  // A GPU that is not its preset any more, a cluster of two GPU kinds, the search's closed form.
  EXPECT_FALSE(quoted(a100 + " --set 'cluster.gpu={preset: a100-80gb-sxm, peak: {bf16: 900TFLOP/s}}'"));
  EXPECT_FALSE(quoted(kSource + "/scenarios/mixed-gpt3-13b.yaml"));
  EXPECT_FALSE(quoted(a100 + " --fidelity estimate"));
  const CommandResult table = run("predict " + h200);
  EXPECT_EQ(table.output.find("MAPE on the "), std::string::npos) << table.output;
}
