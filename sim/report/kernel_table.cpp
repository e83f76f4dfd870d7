#include "report/kernel_table.hpp"

#include <cmath>
#include <sstream>
#include <utility>
#include <vector>

#include "scenario/units.hpp"
#include "workload/stages.hpp"

namespace trainsim {
namespace {

struct Tally {
  double time = 0;
  int kernels = 0;
  int at_floor = 0;
};

// `floor`: the launch interval (CostModel::kernel_overhead); a kernel priced at it is marked.
void add_block(units::TextTable& table, const std::string& part, const Block& block, double floor, Tally& tally) {
  for (const auto& k : block.kernels) {
    if (k.time <= 0) continue;
    const bool launch_bound = at_launch_interval(k, floor);
    table.add({part, block.name + "/" + k.name, units::format_thousands(k.flops / 1e9, 1),
               units::format_thousands(k.bytes / 1e6, 1),
               units::format_thousands(k.time * 1e6, 1) + (launch_bound ? " *" : "  ")});
    tally.time += k.time;
    ++tally.kernels;
    tally.at_floor += launch_bound ? 1 : 0;
  }
}

// Blocks with the pass each belongs to, in the order a micro-batch runs them.
std::string blocks_table(const std::string& title, const std::vector<std::pair<const char*, const Block*>>& blocks,
                         double floor) {
  using units::TextTable;
  TextTable table({TextTable::Align::left, TextTable::Align::left, TextTable::Align::right, TextTable::Align::right,
                   TextTable::Align::right},
                  "    ");
  table.add({"pass", "block/kernel", "GFLOP", "MB", "us  "});
  Tally tally;
  for (const auto& [pass, block] : blocks) add_block(table, pass, *block, floor, tally);
  std::ostringstream out;
  out << "  " << title << ": " << tally.kernels << " kernels, " << units::format_duration(tally.time)
      << " of compute per micro-batch (communication not included)";
  if (tally.at_floor > 0) out << "; " << tally.at_floor << " at the launch interval (*)";
  out << "\n" << table.str();
  return out.str();
}

std::string layer_table(const std::string& title, const LayerWork& layer, double floor) {
  return blocks_table(title,
                      {{"forward", &layer.attention_forward},
                       {"forward", &layer.mlp_forward},
                       {"recompute", &layer.recompute},
                       {"backward", &layer.attention_backward},
                       {"backward", &layer.mlp_backward}},
                      floor);
}

}  // namespace

std::string kernel_table(const Scenario& sc, const CalibrationProfile& profile) {
  const StageSetup setup = setup_stages(sc, profile);
  const Workload& work = setup.work.front();
  // The launch interval on a stage's GPU (a profile may measure its own).
  const auto launch_interval = [&](const GpuSpec& gpu) {
    return CostModel(gpu, sc.plan.precision, profile, sc.plan.fp8_recipe).kernel_overhead();
  };
  const double floor = launch_interval(setup.gpu.front());
  std::ostringstream out;
  out << "kernels of one micro-batch on " << setup.gpu.front().name << " (stage 0's GPU); * a kernel shorter than the "
      << units::format_duration(floor) << " launch interval, which the host's issue rate sets\n";
  const bool moe = sc.model.experts > 0;
  out << layer_table(moe ? "MoE layer" : "layer", work.layer, floor);
  if (moe && sc.model.has_dense_layers()) out << layer_table("dense layer", work.dense_layer, floor);
  const StageExtras& first = work.extras;
  out << blocks_table("first stage, besides its layers",
                      {{"forward", &first.embedding_forward}, {"backward", &first.embedding_backward}}, floor);
  // The last stage's GPU prices its head (a mixed cluster's stages may differ).
  const StageExtras& last = setup.work.back().extras;
  out << blocks_table("last stage, besides its layers",
                      {{"forward", &last.head_forward}, {"backward", &last.head_backward}},
                      launch_interval(setup.gpu.back()));
  return out.str();
}

}  // namespace trainsim
