#include "scenario/plan.hpp"

#include <algorithm>

namespace trainsim {

const char* schedule_name(Schedule s) {
  switch (s) {
    case Schedule::gpipe:
      return "gpipe";
    case Schedule::one_f_one_b:
      return "1f1b";
    case Schedule::interleaved:
      return "interleaved";
  }
  return "?";
}

const char* recompute_name(Recompute r) {
  switch (r) {
    case Recompute::none:
      return "none";
    case Recompute::selective:
      return "selective";
    case Recompute::full:
      return "full";
  }
  return "?";
}

const char* algorithm_name(CollectiveAlgorithm a) {
  switch (a) {
    case CollectiveAlgorithm::automatic:
      return "auto";
    case CollectiveAlgorithm::ring:
      return "ring";
    case CollectiveAlgorithm::tree:
      return "tree";
    case CollectiveAlgorithm::halving_doubling:
      return "halving-doubling";
    case CollectiveAlgorithm::hierarchical:
      return "hierarchical";
  }
  return "?";
}

const char* axis_name(Axis a) {
  switch (a) {
    case Axis::tp:
      return "tp";
    case Axis::cp:
      return "cp";
    case Axis::pp:
      return "pp";
    case Axis::dp:
      return "dp";
  }
  return "?";
}

std::vector<int> stage_layers(int layers, const PlanSpec& plan) {
  if (!plan.layers_per_stage.empty()) return plan.layers_per_stage;
  const int pp = std::max(1, plan.pp);
  std::vector<int> split(pp, layers / pp);
  std::vector<int> order;
  for (int s = 1; s + 1 < pp; ++s) order.push_back(s);
  order.push_back(0);
  if (pp > 1) order.push_back(pp - 1);
  for (int r = 0; r < layers % pp; ++r) ++split[order[r]];
  return split;
}

}  // namespace trainsim
