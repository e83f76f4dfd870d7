// A prediction quotes how far the simulator missed the published runs of its GPU and precision,
// and the table it quotes from is the bench output kept in docs/.
#include "report/public_error.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_run.hpp"

using namespace trainsim_test;

namespace {

struct DocGroup {
  std::string name;  // "h100 16-bit"
  int rows = 0;
  double mape_percent = 0, signed_percent = 0;
};

// bench_accuracy's "by GPU and precision:" lines, as docs/accuracy-rows.txt keeps them.
std::vector<DocGroup> groups_in_docs() {
  std::ifstream in(kSource + "/docs/accuracy-rows.txt");
  static const std::regex line(R"(^  (\S+ \S+)\s+(\d+) rows\s+MAPE\s+([-\d.]+)%\s+mean signed error\s+([-+\d.]+)%$)");
  std::vector<DocGroup> groups;
  bool inside = false;
  for (std::string text; std::getline(in, text);) {
    if (text.rfind("by GPU and precision:", 0) == 0) {
      inside = true;
      continue;
    }
    std::smatch m;
    if (!inside) continue;
    if (!std::regex_match(text, m, line)) break;
    groups.push_back({m[1], std::stoi(m[2]), std::stod(m[3]), std::stod(m[4])});
  }
  return groups;
}

trainsim::Precision precision_of(const std::string& group) {
  const std::string kind = group.substr(group.find(' ') + 1);
  for (auto p : {trainsim::Precision::tf32, trainsim::Precision::fp32, trainsim::Precision::fp8,
                 trainsim::Precision::mxfp8, trainsim::Precision::nvfp4}) {
    if (kind == trainsim::precision_name(p)) return p;
  }
  return trainsim::Precision::bf16;  // "16-bit"
}

}  // namespace

TEST(PublicError, ShippedTableIsTheBenchOutputInDocs) {
  const auto groups = groups_in_docs();
  ASSERT_GE(groups.size(), 5u) << "no 'by GPU and precision:' lines in docs/accuracy-rows.txt";
  for (const auto& g : groups) {
    const std::string gpu = g.name.substr(0, g.name.find(' ')) + "-any";
    const auto quoted = trainsim::public_error(gpu, precision_of(g.name));
    if (g.rows < trainsim::kPublicErrorMinRows) {
      EXPECT_FALSE(quoted) << g.name << ": " << g.rows << " rows are too few to quote";
      continue;
    }
    ASSERT_TRUE(quoted) << g.name << " is in docs/accuracy-rows.txt but not in sim/presets/accuracy.yaml: "
                        << "rerun bench/accuracy_summary.py";
    EXPECT_EQ(quoted->group, g.name);
    EXPECT_EQ(quoted->rows, g.rows) << g.name;
    EXPECT_NEAR(quoted->mape, g.mape_percent / 100, 1e-12) << g.name;
    EXPECT_NEAR(quoted->mean_signed, g.signed_percent / 100, 1e-12) << g.name;
  }
}

TEST(PublicError, PredictionQuotesThePublicErrorOfItsGroup) {
  const CommandResult json = run("predict " + kSource + "/scenarios/default.yaml --json");
  ASSERT_EQ(json.code, 0) << json.output;
  const auto e = nlohmann::json::parse(json.output).at("public_error");
  EXPECT_EQ(e.at("group"), "a100 16-bit");
  DocGroup a100;
  for (const auto& g : groups_in_docs()) {
    if (g.name == "a100 16-bit") a100 = g;
  }
  ASSERT_GE(a100.rows, trainsim::kPublicErrorMinRows);
  EXPECT_EQ(e.at("rows").get<int>(), a100.rows);
  EXPECT_NEAR(e.at("mape").get<double>(), a100.mape_percent / 100, 1e-12);
  EXPECT_NEAR(e.at("mean_signed_error").get<double>(), a100.signed_percent / 100, 1e-12);
  const CommandResult table = run("predict " + kSource + "/scenarios/default.yaml");
  ASSERT_EQ(table.code, 0) << table.output;
  EXPECT_NE(table.output.find("MAPE on the "), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("published a100 16-bit runs"), std::string::npos) << table.output;
  // The public set has no 16-bit H200 run and two FP8 ones: nothing to quote, and no line.
  const std::string h200 = kSource + "/scenarios/gpt3-1.3b-single-h200.yaml";
  for (const char* precision : {"bf16", "fp8"}) {
    const CommandResult r = run("predict " + h200 + " --json --set plan.precision=" + precision);
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(nlohmann::json::parse(r.output.substr(r.output.find('{'))).at("public_error").is_null()) << precision;
  }
  const CommandResult none = run("predict " + h200);
  EXPECT_EQ(none.output.find("MAPE on the "), std::string::npos) << none.output;
}
