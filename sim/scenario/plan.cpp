#include "scenario/plan.hpp"

#include <algorithm>
#include <numeric>

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
    case Recompute::qkv:
      return "save_qkv_proj";
    case Recompute::full:
      return "full";
  }
  return "?";
}

std::vector<int> first_layers(const std::vector<int>& chunk_layers) {
  std::vector<int> first(chunk_layers.size());
  std::exclusive_scan(chunk_layers.begin(), chunk_layers.end(), first.begin(), 0);
  return first;
}

std::string recompute_label(const PlanSpec& plan) {
  std::string label = recompute_name(plan.recompute);
  if (plan.recompute == Recompute::full && plan.recompute_fraction < 1) {
    label += " " + std::to_string(static_cast<int>(std::lround(100 * plan.recompute_fraction))) + "%";
  }
  return label;
}

const char* loss_name(Loss l) {
  switch (l) {
    case Loss::cast:
      return "cast";
    case Loss::decomposed:
      return "decomposed";
    case Loss::fused:
      return "fused";
    case Loss::fp32:
      break;
  }
  return "fp32";
}

const char* reshard_name(Reshard r) {
  switch (r) {
    case Reshard::always:
      return "always";
    case Reshard::never:
      return "never";
    case Reshard::by_default:
      break;
  }
  return "default";
}

const char* zero3_unit_name(Zero3Unit u) { return u == Zero3Unit::parameter ? "parameter" : "layer"; }

const char* master_weights_name(MasterWeights m) {
  switch (m) {
    case MasterWeights::half:
      return "16-bit";
    case MasterWeights::remainders:
      return "remainders";
    case MasterWeights::none:
      return "none";
    case MasterWeights::fp32:
      break;
  }
  return "fp32";
}

const char* tp_overlap_name(TpOverlap o) { return o == TpOverlap::async ? "async" : "userbuffers"; }

const char* expert_gemm_name(ExpertGemm g) { return g == ExpertGemm::grouped ? "grouped" : "streams"; }

const char* dispatcher_name(MoeDispatcher d) {
  switch (d) {
    case MoeDispatcher::alltoall:
      return "alltoall";
    case MoeDispatcher::deepep:
      return "deepep";
    case MoeDispatcher::hybridep:
      return "hybridep";
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
    case CollectiveAlgorithm::nvls:
      return "nvls";
    case CollectiveAlgorithm::sharp:
      return "sharp";
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

int folded_gpu(const PlanSpec& p, int stage, int i) {
  return gpu_of(p, i % p.tp, (i / p.tp) % p.cp, stage, i / (p.tp * p.cp));
}

std::string placement_name(const std::vector<Axis>& placement) {
  std::string name;
  for (const Axis a : placement) {
    if (!name.empty()) name += '-';
    name += axis_name(a);
  }
  return name;
}

std::vector<Axis> placement_in_use(const PlanSpec& p) {
  std::vector<Axis> order;
  for (const Axis a : p.placement) {
    const int size = a == Axis::tp ? p.tp : a == Axis::cp ? p.cp : a == Axis::pp ? p.pp : p.dp;
    if (size > 1) order.push_back(a);
  }
  return order;
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

namespace {

// The order in which a stage's chunks (by their index on the stage, 0 .. v-1) take one layer of a
// remainder: in order, except that the model's first chunk (index 0 of stage 0) and last (index
// v-1 of stage pp-1) come last, the first before the last. With remainder_stages, the whole rule
// of the uneven split (chunk_layers in plan.hpp).
std::vector<int> chunk_order_on_stage(int stage, int pp, int v) {
  const int model_first = stage == 0 ? 0 : -1;          // its index on this stage, if here
  const int model_last = stage == pp - 1 ? v - 1 : -1;  // likewise
  std::vector<int> order;
  for (int i = 0; i < v; ++i) {
    if (i != model_first && i != model_last) order.push_back(i);
  }
  if (model_first >= 0) order.push_back(model_first);
  if (model_last >= 0 && model_last != model_first) order.push_back(model_last);
  return order;
}

// The order in which stages take one layer of a remainder: the middle ones first, then the first,
// then the last.
std::vector<int> remainder_stages(int pp) {
  std::vector<int> order;
  for (int s = 1; s + 1 < pp; ++s) order.push_back(s);
  order.push_back(0);
  if (pp > 1) order.push_back(pp - 1);
  return order;
}

// `layers` over one stage's v chunks, differing by at most one, the remainder in the stage's order.
void split_stage(int layers, int stage, int pp, int v, std::vector<int>& chunks) {
  const std::vector<int> order = chunk_order_on_stage(stage, pp, v);
  for (int i = 0; i < v; ++i) chunks[std::size_t(i) * pp + stage] = layers / v;
  for (int r = 0; r < layers % v; ++r) ++chunks[std::size_t(order[r]) * pp + stage];
}

}  // namespace

std::vector<int> split_stages_into_chunks(const std::vector<int>& stage_layers, const PlanSpec& plan) {
  const int pp = static_cast<int>(stage_layers.size()), v = std::max(1, plan.virtual_stages);
  std::vector<int> chunks(std::size_t(pp) * v, 0);
  for (int s = 0; s < pp; ++s) split_stage(stage_layers[s], s, pp, v, chunks);
  return chunks;
}

std::vector<int> chunk_layers(int layers, const PlanSpec& plan) {
  const int pp = std::max(1, plan.pp), v = std::max(1, plan.virtual_stages);
  const std::size_t given = plan.layers_per_stage.size();
  if (given == std::size_t(pp) * v) return plan.layers_per_stage;
  if (given == std::size_t(pp)) return split_stages_into_chunks(plan.layers_per_stage, plan);
  // Whole rounds of one layer per chunk, then the remainder: stage by stage in remainder_stages'
  // order, one layer per stage per round, each stage's layer to its next chunk in its own order.
  // Every stage ends within one layer of the others, and no chunk gets two more than another.
  const int count = pp * v;
  std::vector<int> per_stage(pp, layers / count * v);
  const std::vector<int> stages = remainder_stages(pp);
  for (int r = 0; r < layers % count; ++r) ++per_stage[stages[r % pp]];
  std::vector<int> chunks(std::size_t(count), 0);
  for (int s = 0; s < pp; ++s) split_stage(per_stage[s], s, pp, v, chunks);
  return chunks;
}

std::vector<int> stage_layers(int layers, const PlanSpec& plan) {
  const int pp = std::max(1, plan.pp);
  std::vector<int> split(pp, 0);
  const std::vector<int> chunks = chunk_layers(layers, plan);
  for (std::size_t c = 0; c < chunks.size(); ++c) split[c % pp] += chunks[c];
  return split;
}

}  // namespace trainsim
