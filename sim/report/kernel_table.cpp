#include "report/kernel_table.hpp"

#include <sstream>

#include "scenario/units.hpp"
#include "workload/stages.hpp"

namespace trainsim {
namespace {

void add_block(units::TextTable& table, const std::string& part, const Block& block, double& total_s, int& kernels) {
  for (const auto& k : block.kernels) {
    if (k.time <= 0) continue;
    table.add({part, block.name + "/" + k.name, units::format_thousands(k.flops / 1e9, 1),
               units::format_thousands(k.bytes / 1e6, 1), units::format_thousands(k.time * 1e6, 1)});
    total_s += k.time;
    ++kernels;
  }
}

std::string layer_table(const std::string& title, const LayerWork& layer) {
  using units::TextTable;
  TextTable table({TextTable::Align::left, TextTable::Align::left, TextTable::Align::right, TextTable::Align::right,
                   TextTable::Align::right},
                  "    ");
  table.add({"pass", "block/kernel", "GFLOP", "MB", "us"});
  double total = 0;
  int kernels = 0;
  add_block(table, "forward", layer.attention_forward, total, kernels);
  add_block(table, "forward", layer.mlp_forward, total, kernels);
  add_block(table, "recompute", layer.recompute, total, kernels);
  add_block(table, "backward", layer.attention_backward, total, kernels);
  add_block(table, "backward", layer.mlp_backward, total, kernels);
  std::ostringstream out;
  out << "  " << title << ": " << kernels << " kernels, " << units::format_duration(total)
      << " of compute per micro-batch (communication not included)\n"
      << table.str();
  return out.str();
}

}  // namespace

std::string kernel_table(const Scenario& sc, const CalibrationProfile& profile) {
  const StageSetup setup = setup_stages(sc, profile);
  const Workload& work = setup.work.front();
  std::ostringstream out;
  out << "kernels of one micro-batch on " << setup.gpu.front().name << " (stage 0's GPU)\n";
  const bool moe = sc.model.experts > 0;
  out << layer_table(moe ? "MoE layer" : "layer", work.layer);
  if (moe && sc.model.moe_layers() < sc.model.layers) out << layer_table("dense layer", work.dense_layer);
  return out.str();
}

}  // namespace trainsim
