// `trainsim compare A.yaml B.yaml ...`: the best plan on each cluster, side by side, with time,
// cost and energy to train; as a table, a CSV file and an SVG chart for a slide.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/time_limit.hpp"
#include "report/prediction.hpp"
#include "scenario/overrides.hpp"
#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"
#include "search/search.hpp"

namespace trainsim::cli {
namespace {

struct Row {
  std::string file;
  Scenario scenario;
  Prediction prediction;
  bool search_cut = false;  // by --time-limit: the best plan found by then
};

// The plans a searched row tries, best first, until one's prediction fits (the estimate and the
// prediction agree on memory except where a mixed cluster's split moves layers).
constexpr std::size_t kPredictionsPerRow = 3;

// "tp 8, pp 16 (interleaved, 3 virtual stages), dp 8, micro-batch 1, zero 1, recompute full".
std::string plan_text(const PlanSpec& p) {
  std::string text = plan_summary(p) + ", micro-batch " + std::to_string(p.micro_batch);
  if (p.zero > 0) text += ", zero " + std::to_string(p.zero);
  if (p.recompute != Recompute::none) text += ", recompute " + recompute_label(p);
  return text;
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial);
    if (!out) throw InputError({path, 0, 0}, "", "cannot write the file");
    out << text;
  }
  std::rename(partial.c_str(), path.c_str());
}

std::string svg_chart(const std::vector<Row>& rows) {
  // Two bar groups: days to train and cost (or energy when no price is known).
  const int width = 900, bar = 26, gap = 14, left = 260;
  const int height = 90 + int(rows.size()) * 2 * (bar + gap);
  double max_days = 0, max_cost = 0, max_energy = 0;
  for (const auto& r : rows) {
    max_days = std::max(max_days, r.prediction.time_to_train_s.value_or(0) / 86400);
    max_cost = std::max(max_cost, r.prediction.cost_to_train.value_or(0));
    max_energy = std::max(max_energy, r.prediction.energy_to_train_j.value_or(0) / 3.6e9);
  }
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"13\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"20\" y=\"30\" font-size=\"18\" font-weight=\"bold\">Time and cost to train, best plan per "
       "cluster</text>\n";
  int y = 60;
  for (const auto& r : rows) {
    const double days = r.prediction.time_to_train_s.value_or(0) / 86400;
    const bool has_cost = r.prediction.cost_to_train.has_value() && max_cost > 0;
    const double second = has_cost ? *r.prediction.cost_to_train / max_cost
                                   : r.prediction.energy_to_train_j.value_or(0) / 3.6e9 / std::max(max_energy, 1e-9);
    char label[128];
    s << "<text x=\"20\" y=\"" << y + 18 << "\">" << r.scenario.cluster.topology.name << " (" << r.scenario.cluster.gpus
      << " GPUs)</text>\n";
    const int days_width = max_days > 0 ? int((width - left - 120) * days / max_days) : 0;
    s << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << days_width << "\" height=\"" << bar
      << "\" fill=\"#4c72b0\"/>\n";
    std::snprintf(label, sizeof label, "%.1f days", days);
    s << "<text x=\"" << left + days_width + 6 << "\" y=\"" << y + 18 << "\">" << label << "</text>\n";
    y += bar + 4;
    const int second_width = int((width - left - 120) * second);
    s << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << second_width << "\" height=\"" << bar
      << "\" fill=\"" << (has_cost ? "#dd8452" : "#55a868") << "\"/>\n";
    if (has_cost)
      std::snprintf(label, sizeof label, "$%.2fM", *r.prediction.cost_to_train / 1e6);
    else
      std::snprintf(label, sizeof label, "%.0f MWh", r.prediction.energy_to_train_j.value_or(0) / 3.6e9);
    s << "<text x=\"" << left + second_width + 6 << "\" y=\"" << y + 18 << "\">" << label << "</text>\n";
    y += bar + gap + 10;
  }
  s << "<text x=\"20\" y=\"" << height - 12
    << "\" fill=\"#666\">blue: days to train; orange: cost (green: energy "
       "where no price is known). trainsim predictions, not measurements.</text>\n</svg>\n";
  return s.str();
}

}  // namespace

int compare(const CompareOptions& options) {
  SimulationOptions simulation;
  simulation.estimate = options.fidelity == "estimate";
  std::vector<Row> rows;
  std::vector<std::string> not_compared;  // scenarios without a plan that fits, and why
  for (const auto& file : options.scenarios) {
    Row row;
    row.file = file;
    bool fits = false;
    std::optional<int> fits_from;
    std::string name;
    const YAML::Node document = load_yaml_with_overrides(file, options.overrides);
    if (!searched_fields(document).empty()) {
      // Not a clone: yaml-cpp's clones lose the line marks that errors cite; the document is not
      // read again.
      const PlanSpace space = load_plan_space(document, file);
      SearchOptions search;
      search.top_k = simulation.estimate ? 0 : options.top;
      std::atomic<bool> cut{false};
      search.cancel = &cut;
      const SearchResult result = [&] {
        const TimeLimit time_limit(options.time_limit_s, cut);
        return search_plans(space, search);
      }();
      row.search_cut = result.cancelled;
      if (row.search_cut) {
        std::cerr << "trainsim: " << file << ": search cut by --time-limit "
                  << units::format_duration(options.time_limit_s) << " after " << result.enumerated
                  << " plans: the best plan so far\n";
      }
      row.scenario = space.base;
      name = space.base.name;
      for (std::size_t i = 0; i < result.plans.size() && i < kPredictionsPerRow && !fits; ++i) {
        row.scenario.plan = result.plans[i].plan;
        row.prediction = predict(row.scenario, simulation);
        fits = row.prediction.memory.fits();
      }
      if (!fits) fits_from = smallest_fitting_gpus(space);
    } else {
      row.scenario = load_scenario_document(document, file);
      name = row.scenario.name;
      row.prediction = predict(row.scenario, simulation);
      fits = row.prediction.memory.fits();
      if (!fits) fits_from = smallest_fitting_gpus(nearby_plans(row.scenario));
    }
    if (fits) {
      rows.push_back(std::move(row));
      continue;
    }
    // Never ranked: a plan that does not fit would fail at its first step.
    std::string why =
        name + " (" + file + "): no plan fits in GPU memory on " + std::to_string(row.scenario.cluster.gpus) + " GPUs";
    why += fits_from ? "; one fits on " + std::to_string(*fits_from) + " GPUs" : "";
    not_compared.push_back(why);
  }
  std::ostringstream csv;
  csv << "scenario,topology,gpu,gpus,plan,step_time_s,mfu,time_to_train_s,cost_to_train_usd,energy_to_train_mwh,"
         "peak_memory_bytes,price_per_gpu_hour_usd,cost_per_million_tokens_usd\n";
  // The table: every column as wide as its widest cell, nothing cut. When it is wider than the
  // terminal, the plans go below it instead of in a column.
  using units::TextTable;
  const auto L = TextTable::Align::left, R = TextTable::Align::right;
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    const auto& p = r.prediction;
    // The price assumed is printed beside the cost: it is the topology's (cost.gpu_hour), not a quote.
    const double price = r.scenario.cluster.topology.price_per_gpu_hour;
    std::string energy = "-";
    if (p.energy_to_train_j) {
      const double mwh = *p.energy_to_train_j / 3.6e9;
      energy = mwh >= 1 ? units::format_thousands(mwh, mwh >= 100 ? 0 : 1) + " MWh"
                        : units::format_thousands(mwh * 1000, 1) + " kWh";
    }
    cells.push_back({r.scenario.name, r.scenario.cluster.topology.name,
                     units::format_thousands(r.scenario.cluster.gpus),
                     plan_text(r.scenario.plan) + (r.search_cut ? " (search cut by --time-limit)" : ""),
                     units::format_duration(p.step.step_time) + (p.host_bound_share >= kHostBoundWarning ? "!" : ""),
                     units::format_percent(p.mfu), p.time_to_train_s ? units::format_duration(*p.time_to_train_s) : "-",
                     p.cost_to_train ? units::format_money(*p.cost_to_train) : "-", energy,
                     price > 0 ? units::format_money(price) : "-",
                     p.cost_per_million_tokens ? units::format_money(*p.cost_per_million_tokens) : "-"});
    csv << r.scenario.name << ',' << r.scenario.cluster.topology.name << ',' << r.scenario.cluster.topology.gpu_names()
        << ',' << r.scenario.cluster.gpus << ",\"" << plan_text(r.scenario.plan) << "\"," << p.step.step_time << ','
        << p.mfu << ',' << (p.time_to_train_s ? std::to_string(*p.time_to_train_s) : "") << ','
        << (p.cost_to_train ? std::to_string(*p.cost_to_train) : "") << ','
        << (p.energy_to_train_j ? std::to_string(*p.energy_to_train_j / 3.6e9) : "") << ',' << p.memory.peak << ','
        << (price > 0 ? std::to_string(price) : "") << ','
        << (p.cost_per_million_tokens ? std::to_string(*p.cost_per_million_tokens) : "") << "\n";
  }
  if (options.json) {
    nlohmann::json clusters = nlohmann::json::array();
    for (const auto& r : rows) {
      clusters.push_back({{"scenario", r.scenario.name},
                          {"file", r.file},
                          {"topology", r.scenario.cluster.topology.name},
                          {"gpu", r.scenario.cluster.topology.gpu_names()},
                          {"gpus", r.scenario.cluster.gpus},
                          {"plan", plan_text(r.scenario.plan)},
                          {"plan_fields", plan_json(r.scenario.plan)},
                          {"search_cut_by_time_limit", r.search_cut},
                          {"prediction", prediction_json(r.prediction)}});
    }
    const nlohmann::json out = {{"fidelity", options.fidelity}, {"clusters", clusters}, {"not_compared", not_compared}};
    std::cout << out.dump(2) << "\n";
  } else {
    const std::vector<std::string> header = {"scenario", "cluster", "GPUs",   "best plan", "step",   "MFU",
                                             "to train", "cost",    "energy", "$/GPU-h",   "$/M tok"};
    const std::vector<TextTable::Align> align = {L, L, R, L, R, R, R, R, R, R, R};
    const auto table = [&](bool with_plan) {
      auto drop_plan = [&](std::vector<std::string> row) {
        if (!with_plan) row.erase(row.begin() + 3);
        return row;
      };
      std::vector<TextTable::Align> a = align;
      if (!with_plan) a.erase(a.begin() + 3);
      TextTable t(a, "");
      t.add(drop_plan(header));
      for (const auto& row : cells) t.add(drop_plan(row));
      return t;
    };
    const char* columns = std::getenv("COLUMNS");
    const std::size_t terminal = columns && std::atoi(columns) > 40 ? std::size_t(std::atoi(columns)) : 120;
    const TextTable wide = table(true);
    if (wide.width() <= terminal) {
      std::printf("%s", wide.str().c_str());
    } else {
      std::printf("%s\nbest plans\n", table(false).str().c_str());
      TextTable plans({L, L});
      for (const auto& row : cells) plans.add({row[0], row[3]});
      std::printf("%s", plans.str().c_str());
    }
    if (std::any_of(rows.begin(), rows.end(),
                    [](const auto& r) { return r.prediction.host_bound_share >= kHostBoundWarning; })) {
      std::printf("%s\n", launch_bound_legend().c_str());
    }
    if (simulation.estimate && !rows.empty()) {
      std::printf(
          "estimates: plans and steps from the closed form, nothing simulated (on the shipped scenarios "
          "1.7%% from the simulation on average, at most 8.1%%; docs/speed.md)\n");
    }
    // Energy is a sum of parts with assumed defaults: say which, per cluster.
    if (!rows.empty()) std::printf("\nenergy counts\n");
    TextTable counts({L, L});
    for (const auto& r : rows) counts.add({r.scenario.name, r.prediction.energy_counts});
    std::printf("%s", counts.str().c_str());
    if (!not_compared.empty()) {
      std::printf("\nnot compared (nothing fits in memory):\n");
      for (const auto& why : not_compared) std::printf("  %s\n", why.c_str());
      std::fflush(stdout);
    }
  }
  for (const auto& why : not_compared) std::cerr << "trainsim: " << why << "\n";
  if (!options.csv_file.empty()) write_atomically(options.csv_file, csv.str());
  if (!options.svg_file.empty()) write_atomically(options.svg_file, svg_chart(rows));
  return not_compared.empty() ? 0 : kExitDoesNotFit;
}

}  // namespace trainsim::cli
