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
    case Recompute::op:
      return "op";
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

const char* fp8_recipe_name(Fp8Recipe r) {
  switch (r) {
    case Fp8Recipe::tensorwise:
      return "tensorwise";
    case Fp8Recipe::delayed:
      return "delayed";
    case Fp8Recipe::rowwise:
      return "rowwise";
    case Fp8Recipe::blockwise:
      return "blockwise";
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

int gpu_of(const PlanSpec& p, int tp, int cp, int pp, int dp) {
  int index = 0, stride = 1;
  for (const Axis axis : p.placement) {
    switch (axis) {
      case Axis::tp:
        index += tp * stride;
        stride *= p.tp;
        break;
      case Axis::cp:
        index += cp * stride;
        stride *= p.cp;
        break;
      case Axis::pp:
        index += pp * stride;
        stride *= p.pp;
        break;
      case Axis::dp:
        index += dp * stride;
        stride *= p.dp;
        break;
    }
  }
  return index;
}

std::string placement_name(const std::vector<Axis>& placement) {
  std::string name;
  for (const Axis a : placement) {
    if (!name.empty()) name += '-';
    name += axis_name(a);
  }
  return name;
}

std::vector<Axis> parse_placement(const std::string& text) {
  std::vector<Axis> axes;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('-', start), text.size());
    const std::string part = text.substr(start, end - start);
    const Axis axis = part == "tp" ? Axis::tp : part == "cp" ? Axis::cp : part == "pp" ? Axis::pp : Axis::dp;
    if ((part != "dp" && axis == Axis::dp) || std::find(axes.begin(), axes.end(), axis) != axes.end()) return {};
    axes.push_back(axis);
    start = end + 1;
  }
  return axes.size() == 4 ? axes : std::vector<Axis>{};
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
