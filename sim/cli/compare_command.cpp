// `trainsim compare A.yaml B.yaml ...`: the best plan on each cluster, side by side, with time,
// cost and energy to train; as a table, a CSV file and an SVG chart for a slide.
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "report/prediction.hpp"
#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"
#include "search/search.hpp"

namespace trainsim::cli {
namespace {

struct Row {
  std::string file;
  Scenario scenario;
  Prediction prediction;
};

bool has_searched_fields(const std::string& path) { return !searched_fields(load_yaml_file(path)).empty(); }

// The plans a searched row tries, best first, until one's prediction fits (the estimate and the
// prediction agree on memory except where a mixed cluster's split moves layers).
constexpr std::size_t kPredictionsPerRow = 3;

std::string plan_text(const PlanSpec& p) {
  std::ostringstream out;
  out << "tp" << p.tp << " pp" << p.pp << " dp" << p.dp;
  if (p.cp > 1) out << " cp" << p.cp;
  if (p.ep > 1) out << " ep" << p.ep;
  out << " mb" << p.micro_batch;
  if (p.virtual_stages > 1) out << " v" << p.virtual_stages;
  if (p.zero > 0) out << " zero" << p.zero;
  if (p.recompute != Recompute::none) out << " " << recompute_name(p.recompute);
  return out.str();
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
    << "<text x=\"20\" y=\"30\" font-size=\"18\" font-weight=\"bold\">Time and cost to train, best plan per cluster</text>\n";
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
    if (has_cost) std::snprintf(label, sizeof label, "$%.2fM", *r.prediction.cost_to_train / 1e6);
    else std::snprintf(label, sizeof label, "%.0f MWh", r.prediction.energy_to_train_j.value_or(0) / 3.6e9);
    s << "<text x=\"" << left + second_width + 6 << "\" y=\"" << y + 18 << "\">" << label << "</text>\n";
    y += bar + gap + 10;
  }
  s << "<text x=\"20\" y=\"" << height - 12 << "\" fill=\"#666\">blue: days to train; orange: cost (green: energy "
       "where no price is known). trainsim predictions, not measurements.</text>\n</svg>\n";
  return s.str();
}

}  // namespace

int compare(const CompareOptions& options) {
  std::vector<Row> rows;
  std::vector<std::string> not_compared;  // scenarios without a plan that fits, and why
  for (const auto& file : options.scenarios) {
    Row row;
    row.file = file;
    bool fits = false;
    std::optional<int> fits_from;
    std::string name;
    if (has_searched_fields(file)) {
      const PlanSpace space = load_plan_space(file);
      SearchOptions search;
      search.top_k = options.top;
      const SearchResult result = search_plans(space, search);
      row.scenario = space.base;
      name = space.base.name;
      for (std::size_t i = 0; i < result.plans.size() && i < kPredictionsPerRow && !fits; ++i) {
        row.scenario.plan = result.plans[i].plan;
        row.prediction = predict(row.scenario);
        fits = row.prediction.memory.fits();
      }
      if (!fits) fits_from = smallest_fitting_gpus(space);
    } else {
      row.scenario = load_scenario(file);
      name = row.scenario.name;
      row.prediction = predict(row.scenario);
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
  std::printf("%-28s %-20s %6s  %-34s %9s %6s %12s %12s %10s %9s %9s\n", "scenario", "cluster", "GPUs", "best plan",
              "step", "MFU", "to train", "cost", "energy", "$/GPU-h", "$/M tok");
  for (const auto& r : rows) {
    const auto& p = r.prediction;
    const std::string days = p.time_to_train_s ? units::format_duration(*p.time_to_train_s) : "-";
    char cost[32] = "-", energy[32] = "-";
    if (p.cost_to_train) std::snprintf(cost, sizeof cost, "$%.2fM", *p.cost_to_train / 1e6);
    if (p.energy_to_train_j) std::snprintf(energy, sizeof energy, "%.0f MWh", *p.energy_to_train_j / 3.6e9);
    // The price assumed is printed beside the cost: it is the topology's (cost.gpu_hour), not a quote.
    const double price = r.scenario.cluster.topology.price_per_gpu_hour;
    char price_text[32] = "-", per_million[32] = "-";
    if (price > 0) std::snprintf(price_text, sizeof price_text, "$%.2f", price);
    if (p.cost_per_million_tokens) std::snprintf(per_million, sizeof per_million, "$%.3g", *p.cost_per_million_tokens);
    std::printf("%-28.28s %-20.20s %6d  %-34.34s %9s %5.1f%% %12s %12s %10s %9s %9s\n", r.scenario.name.c_str(),
                r.scenario.cluster.topology.name.c_str(), r.scenario.cluster.gpus, plan_text(r.scenario.plan).c_str(),
                units::format_duration(p.step.step_time).c_str(), 100 * p.mfu, days.c_str(), cost, energy, price_text,
                per_million);
    csv << r.scenario.name << ',' << r.scenario.cluster.topology.name << ',' << r.scenario.cluster.topology.gpu.name
        << ',' << r.scenario.cluster.gpus << ",\"" << plan_text(r.scenario.plan) << "\"," << p.step.step_time << ','
        << p.mfu << ',' << (p.time_to_train_s ? std::to_string(*p.time_to_train_s) : "") << ','
        << (p.cost_to_train ? std::to_string(*p.cost_to_train) : "") << ','
        << (p.energy_to_train_j ? std::to_string(*p.energy_to_train_j / 3.6e9) : "") << ',' << p.memory.peak << ','
        << (price > 0 ? std::to_string(price) : "") << ','
        << (p.cost_per_million_tokens ? std::to_string(*p.cost_per_million_tokens) : "") << "\n";
  }
  // Energy is a sum of parts with assumed defaults: say which, per cluster.
  if (!rows.empty()) std::printf("\nenergy counts\n");
  for (const auto& r : rows) {
    std::printf("  %-28.28s %s\n", r.scenario.name.c_str(), r.prediction.energy_counts.c_str());
  }
  if (!not_compared.empty()) {
    std::printf("\nnot compared (nothing fits in memory):\n");
    for (const auto& why : not_compared) std::printf("  %s\n", why.c_str());
    std::fflush(stdout);
    for (const auto& why : not_compared) std::cerr << "trainsim: " << why << "\n";
  }
  if (!options.csv_file.empty()) write_atomically(options.csv_file, csv.str());
  if (!options.svg_file.empty()) write_atomically(options.svg_file, svg_chart(rows));
  return not_compared.empty() ? 0 : kExitDoesNotFit;
}

}  // namespace trainsim::cli
