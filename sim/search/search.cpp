#include "search/search.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "scenario/units.hpp"
#include "scenario/yaml_reader.hpp"
#include "workload/memory.hpp"
#include "workload/sequences.hpp"

namespace trainsim {
namespace {

const std::vector<std::string> kSearchKeys = {"tp",
                                              "pp",
                                              "cp",
                                              "ep",
                                              "micro_batch",
                                              "virtual_stages",
                                              "zero",
                                              "dp_shard",
                                              "recompute",
                                              "recompute_fraction",
                                              "sequence_parallel",
                                              "placement"};

std::vector<std::string> divisors_up_to(int n, int limit, bool powers_of_two) {
  std::vector<std::string> out;
  for (int d = 1; d <= std::min(n, limit); ++d) {
    if (n % d != 0) continue;
    if (powers_of_two && (d & (d - 1)) != 0) continue;
    out.push_back(std::to_string(d));
  }
  return out;
}

std::vector<std::string> expand_auto(const std::string& key, const Scenario& sc) {
  const auto& m = sc.model;
  const auto& t = sc.cluster.topology;
  if (key == "tp") return divisors_up_to(m.heads, t.gpus_per_node, true);
  if (key == "pp") {
    // The divisors of the layers, and the powers of two below them split unevenly (Megatron's
    // uneven first and last stages; DeepSeek-V3's 61 and Qwen3-235B's 94 layers have no other
    // useful divisor), as predict accepts them.
    const int limit = std::min({64, sc.cluster.gpus, m.layers});
    std::set<int> stages;
    for (const auto& d : divisors_up_to(m.layers, limit, false)) stages.insert(std::stoi(d));
    for (int d = 1; d <= limit; d *= 2) stages.insert(d);
    std::vector<std::string> out;
    for (const int d : stages) out.push_back(std::to_string(d));
    return out;
  }
  if (key == "cp") return m.seq_len >= 16384 ? divisors_up_to(16, 16, true) : std::vector<std::string>{"1"};
  if (key == "ep") return m.moe() ? divisors_up_to(m.experts, m.experts, true) : std::vector<std::string>{"1"};
  if (key == "micro_batch") return {"1", "2", "4", "8"};
  if (key == "virtual_stages") return {"1", "2", "3", "4"};
  if (key == "zero") return {"0", "1", "3"};
  // Sharding over all data-parallel ranks, or hybrid sharding in groups of a node's GPU count.
  if (key == "dp_shard") return {"0", std::to_string(t.gpus_per_node)};
  if (key == "recompute") return {"none", "selective", "full"};
  // Checkpointing a share of the layers trades memory for time between none and full.
  if (key == "recompute_fraction") return {"0.25", "0.5", "0.75", "1"};
  if (key == "sequence_parallel") return {"false", "true"};
  // Megatron-Core's and torchtitan's order (dp inside pp: each stage on consecutive nodes, what a
  // cluster mixing GPU kinds needs, and data- and expert-parallel groups on the nearest ranks), and
  // dp outermost (Megatron-LM's --use-tp-pp-dp-mapping: a replica's stages on consecutive nodes).
  if (key == "placement") return {"tp-cp-dp-pp", "tp-cp-pp-dp"};
  return {};
}

void apply(PlanSpec& p, const std::string& key, const std::string& value) {
  if (key == "recompute") {
    p.recompute = value == "none"            ? Recompute::none
                  : value == "selective"     ? Recompute::selective
                  : value == "op"            ? Recompute::op
                  : value == "save_qkv_proj" ? Recompute::qkv
                                             : Recompute::full;
  } else if (key == "recompute_fraction") {
    p.recompute_fraction = std::stod(value);
  } else if (key == "sequence_parallel") {
    p.sequence_parallel = value == "true";
  } else if (key == "placement") {
    p.placement = parse_placement(value);
    if (p.placement.empty()) throw std::invalid_argument("placement");
  } else {
    const int v = std::stoi(value);
    if (key == "tp") p.tp = v;
    if (key == "pp") p.pp = v;
    if (key == "cp") p.cp = v;
    if (key == "ep") p.ep = v;
    if (key == "micro_batch") p.micro_batch = v;
    if (key == "virtual_stages") p.virtual_stages = v;
    if (key == "zero") p.zero = v;
    if (key == "dp_shard") p.dp_shard = v;
  }
}

// Whether a plan value is searched: a list (of placements, for placement, itself a list) or auto.
bool is_searched(const std::string& key, const YAML::Node& value) {
  if (std::find(kSearchKeys.begin(), kSearchKeys.end(), key) == kSearchKeys.end()) return false;
  const bool list = value.IsSequence() && (key != "placement" || (value.size() > 0 && value[0].IsSequence()));
  return list || (value.IsScalar() && value.Scalar() == "auto");
}

}  // namespace

std::vector<std::string> searched_fields(const YAML::Node& document) {
  std::vector<std::string> keys;
  if (!document.IsMap() || !document["plan"] || !document["plan"].IsMap()) return keys;
  for (const auto& entry : document["plan"]) {
    if (entry.first.IsScalar() && is_searched(entry.first.Scalar(), entry.second)) keys.push_back(entry.first.Scalar());
  }
  return keys;
}

PlanSpace load_plan_space(const std::string& path) { return load_plan_space(load_yaml_file(path), path); }

PlanSpace load_plan_space(YAML::Node document, const std::string& path) {
  PlanSpace space;
  std::map<std::string, YAML::Node> searched;
  if (document.IsMap() && document["plan"] && document["plan"].IsMap()) {
    YAML::Node plan = document["plan"];
    for (const auto& key : kSearchKeys) {
      const YAML::Node value = plan[key];
      if (value && is_searched(key, value)) searched[key] = value;
    }
    for (const auto& [key, value] : searched) plan.remove(key);
    if (searched.count("virtual_stages") && !plan["schedule"]) plan["schedule"] = "interleaved";
  }
  space.base = load_scenario_unchecked(document, path);
  for (const auto& key : kSearchKeys) {
    const auto it = searched.find(key);
    if (it == searched.end()) continue;
    std::vector<std::string> values;
    if (it->second.IsScalar()) {
      values = expand_auto(key, space.base);
    } else {
      for (const auto& item : it->second) {
        if (key == "placement") {
          values.push_back(placement_name(read_placement(item, path)));
          continue;
        }
        if (!item.IsScalar()) throw InputError(location_of(item, path), "plan." + key, "expected a list of values");
        // The value in place of the list, read as predict reads it: the same range and spelling
        // checks, and errors at the item's line (the item node keeps its position in the file).
        // dp is pinned so that a tp or pp the GPUs do not divide is left to the enumeration
        // (an invalid plan), not refused here.
        YAML::Node probe = YAML::Clone(document);
        probe["plan"]["dp"] = 1;
        probe["plan"][key] = static_cast<const YAML::Node&>(item);
        load_scenario_unchecked(probe, path);
        values.push_back(item.Scalar());
      }
    }
    if (values.empty()) throw InputError(location_of(it->second, path), "plan." + key, "expected at least one value");
    space.choices[key] = values;
  }
  return space;
}

std::vector<PlanSpec> enumerate_plans(const PlanSpace& space, std::size_t* invalid,
                                      std::vector<RejectedPlan>* rejected_plans) {
  std::vector<std::pair<std::string, std::vector<std::string>>> axes(space.choices.begin(), space.choices.end());
  std::vector<PlanSpec> plans;
  std::size_t rejected = 0;
  std::vector<std::size_t> index(axes.size(), 0);
  const bool dp_fixed = false;  // dp always follows the other axes
  // Selective recomputation reruns the attention core to drop its s x s scores; flash attention
  // never stores them (workload/memory.cpp), so it only adds the attention kernel's rerun
  // (workload/work.cpp): the same memory as `none` and more time. Counted once, as `none`,
  // when the space has both.
  const auto recompute = space.choices.find("recompute");
  const bool none_searched =
      recompute != space.choices.end() &&
      std::find(recompute->second.begin(), recompute->second.end(), "none") != recompute->second.end();
  const auto fraction_axis =
      std::find_if(axes.begin(), axes.end(), [](const auto& a) { return a.first == "recompute_fraction"; });
  // Whether the space holds the plan without hybrid sharding (dp_shard 0), which a group as
  // large as dp, or one without ZeRO, repeats.
  const auto shard_axis = space.choices.find("dp_shard");
  const bool whole_dp_listed =
      shard_axis == space.choices.end()
          ? space.base.plan.dp_shard == 0
          : std::find(shard_axis->second.begin(), shard_axis->second.end(), "0") != shard_axis->second.end();
  const auto sp_axis = space.choices.find("sequence_parallel");
  const bool without_sequence_parallel_listed =
      sp_axis == space.choices.end()
          ? !space.base.plan.sequence_parallel
          : std::find(sp_axis->second.begin(), sp_axis->second.end(), "false") != sp_axis->second.end();
  for (;;) {
    PlanSpec p = space.base.plan;
    for (std::size_t a = 0; a < axes.size(); ++a) apply(p, axes[a].first, axes[a].second[index[a]]);
    reapply_framework(p);  // what it runs can follow tp and zero
    const int others = p.tp * p.pp * p.cp;
    bool ok = space.base.cluster.gpus % others == 0;
    if (ok && !dp_fixed) p.dp = space.base.cluster.gpus / others;
    if (p.virtual_stages > 1)
      p.schedule = Schedule::interleaved;
    else if (p.schedule == Schedule::interleaved)
      p.schedule = Schedule::one_f_one_b;
    std::string reason;
    if (!ok)
      reason = "tp x pp x cp = " + std::to_string(others) + " does not divide the " +
               std::to_string(space.base.cluster.gpus) + " GPUs";
    // Without tensor parallelism sequence parallelism splits nothing: the plan is the one without
    // it, counted once where the space holds both, else kept as that plan.
    if (ok && p.tp == 1 && p.sequence_parallel) {
      if (without_sequence_parallel_listed) {
        ok = false;
        reason = "the same work as sequence_parallel false (tp 1)";
      } else {
        p.sequence_parallel = false;
      }
    }
    // A share of the layers goes with full recomputation only: any other plan takes the first
    // share listed (as 1) and is the same plan under the others; a share that recomputes as
    // many layers as an earlier one listed is that plan again.
    if (ok && fraction_axis != axes.end()) {
      const std::size_t at = index[fraction_axis - axes.begin()];
      const auto& shares = fraction_axis->second;
      if (p.recompute != Recompute::full) {
        p.recompute_fraction = 1;
        if (at > 0) {
          ok = false;
          reason = std::string("the same plan as recompute_fraction ") + shares[0] + ": recompute " +
                   recompute_name(p.recompute) + " does not checkpoint whole layers";
        }
      } else {
        const int count = p.recomputed_layers(0, space.base.model.layers);
        for (std::size_t earlier = 0; earlier < at && ok; ++earlier) {
          PlanSpec other = p;
          other.recompute_fraction = std::stod(shares[earlier]);
          if (other.recomputed_layers(0, space.base.model.layers) == count) {
            ok = false;
            reason =
                "recomputes the same " + std::to_string(count) + " layers as recompute_fraction " + shares[earlier];
          }
        }
      }
    } else if (p.recompute != Recompute::full) {
      p.recompute_fraction = 1;  // the base plan's share means nothing without full recomputation
    }
    // Groups of all of dp, or without ZeRO's sharding, are the plan without hybrid sharding.
    if (ok && p.dp_shard > 0 && (p.dp_shard == p.dp || p.zero == 0) && whole_dp_listed) {
      ok = false;
      reason = p.zero == 0 ? "the same plan as dp_shard 0 (zero 0 shards nothing)"
                           : "the same plan as dp_shard 0 (one group holds all " + std::to_string(p.dp) + " ranks)";
    }
    if (ok && none_searched && p.recompute == Recompute::selective && p.attention != Attention::unfused) {
      // Unless the rerun frees a copy the kernel kept (a low-precision recipe's attention output).
      PlanSpec none = p;
      none.recompute = Recompute::none;
      if (activation_bytes_per_layer(space.base.model, none) == activation_bytes_per_layer(space.base.model, p)) {
        ok = false;
        reason = "the same memory as recompute none with fused attention, and more time";
      }
    }
    for (std::size_t a = 0; a < axes.size() && ok; ++a) {
      if (axes[a].first != "placement") continue;
      // A placement that orders the axes in use as an earlier choice does is that plan again.
      for (std::size_t earlier = 0; earlier < index[a] && ok; ++earlier) {
        PlanSpec other = p;
        other.placement = parse_placement(axes[a].second[earlier]);
        if (placement_in_use(other) == placement_in_use(p)) {
          ok = false;
          reason = "the same rank order as placement " + placement_name(other.placement);
        }
      }
    }
    if (ok) {
      for (const Finding& f : check_plan(space.base.model, space.base.cluster, p)) {
        if (f.severity != Finding::Severity::error) continue;
        ok = false;
        reason = f.key + ": " + f.message;
        break;
      }
    }
    if (ok) {
      plans.push_back(p);
    } else {
      ++rejected;
      if (rejected_plans) rejected_plans->push_back({p, reason});
    }
    std::size_t a = 0;
    while (a < axes.size() && ++index[a] == axes[a].second.size()) index[a++] = 0;
    if (a == axes.size()) break;
  }
  if (invalid) *invalid = rejected;
  return plans;
}

std::size_t plan_space_size(const PlanSpace& space) {
  std::size_t n = 1;
  for (const auto& [key, values] : space.choices) {
    if (values.empty()) continue;
    if (n > SIZE_MAX / values.size()) return SIZE_MAX;
    n *= values.size();
  }
  return n;
}

double model_mfu(const Scenario& sc, double step_time) {
  const double flops = mean_model_flops_per_sequence(sc.model, sc.data) * double(sc.plan.global_batch);
  return flops / sc.cluster.gpus / step_time / mean_peak(sc.cluster, sc.plan.precision);
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = a.size();
  if (n < 2 || b.size() != n) return 0;
  auto ranks = [n](const std::vector<double>& v) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return v[i] < v[j]; });
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n;) {  // ties share their mean rank
      std::size_t j = i;
      while (j + 1 < n && v[order[j + 1]] == v[order[i]]) ++j;
      for (std::size_t k = i; k <= j; ++k) r[order[k]] = (i + j) / 2.0;
      i = j + 1;
    }
    return r;
  };
  const auto ra = ranks(a), rb = ranks(b);
  const double mean = (n - 1) / 2.0;
  double cov = 0, va = 0, vb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    cov += (ra[i] - mean) * (rb[i] - mean);
    va += (ra[i] - mean) * (ra[i] - mean);
    vb += (rb[i] - mean) * (rb[i] - mean);
  }
  return cov / std::sqrt(va * vb);
}

namespace {

// Runs work(i) for i in [0, n) on `threads` threads; stops early when cancelled.
void parallel_for(std::size_t n, int threads, const std::atomic<bool>* cancel,
                  const std::function<void(std::size_t)>& work) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next++) < n;) {
      if (cancel && cancel->load()) return;
      work(i);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace

SearchResult search_plans(const PlanSpace& space, const SearchOptions& options) {
  SearchResult result;
  std::vector<PlanSpec> all =
      enumerate_plans(space, &result.invalid, options.keep_rejected && options.part == 0 ? &result.rejected : nullptr);
  result.enumerated = all.size() + result.invalid;
  // This process's share of the space (MPI): plans i with i % parts == part.
  std::vector<PlanSpec> plans;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (int(i % options.parts) == options.part) plans.push_back(all[i]);
  }
  const int threads = options.threads > 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<PlanCandidate> candidates(plans.size());
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  parallel_for(plans.size(), threads, options.cancel, [&](std::size_t i) {
    Scenario sc = space.base;
    sc.plan = plans[i];
    candidates[i].plan = plans[i];
    candidates[i].estimate = estimate_step(sc);
    candidates[i].mfu = model_mfu(sc, candidates[i].estimate.step_time);
    const std::size_t finished = ++done;
    if (options.progress && (finished % 256 == 0 || finished == plans.size())) {
      std::lock_guard lock(progress_mutex);
      options.progress("estimating", finished, plans.size());
    }
  });
  std::vector<PlanCandidate> fitting;
  for (auto& c : candidates) {
    if (c.estimate.step_time <= 0) continue;  // not reached before a cancel
    if (c.estimate.memory.fits()) {
      fitting.push_back(std::move(c));
    } else {
      ++result.not_fitting;
      if (options.keep_rejected) {
        const auto& m = c.estimate.memory;
        result.rejected.push_back({c.plan, "does not fit in GPU memory: needs " + units::format_bytes(m.peak) +
                                               " per GPU, " + units::format_bytes(m.usable()) + " usable"});
      }
    }
  }
  // Equal estimates keep the enumeration order, so the result is the same on any thread count.
  std::stable_sort(fitting.begin(), fitting.end(),
                   [](const auto& a, const auto& b) { return a.estimate.step_time < b.estimate.step_time; });
  const std::size_t top = std::min<std::size_t>(fitting.size(), std::max(0, options.top_k));
  // Simulations run in child processes forked from this thread, `threads` at a time (no
  // worker thread forks: see run_isolated_batch).
  std::vector<Scenario> to_simulate;
  for (std::size_t i = 0; i < top; ++i) {
    Scenario sc = space.base;
    sc.plan = fitting[i].plan;
    to_simulate.push_back(std::move(sc));
  }
  const auto simulated = simulate_steps(
      to_simulate, threads, [&] { return options.cancel && options.cancel->load(); },
      [&](std::size_t finished) {
        if (options.progress) options.progress("simulating", finished, top);
      });
  for (std::size_t i = 0; i < top; ++i) {
    if (!simulated[i]) continue;
    fitting[i].simulated = simulated[i];
    fitting[i].mfu = model_mfu(to_simulate[i], simulated[i]->step_time);
  }
  result.cancelled = options.cancel && options.cancel->load();
  std::stable_sort(fitting.begin(), fitting.end(), [](const PlanCandidate& a, const PlanCandidate& b) {
    if (a.simulated.has_value() != b.simulated.has_value()) return a.simulated.has_value();
    return a.step_time() < b.step_time();
  });
  result.plans = std::move(fitting);
  return result;
}

}  // namespace trainsim

namespace trainsim {

nlohmann::json candidate_to_json(const PlanCandidate& c) {
  const auto& p = c.plan;
  nlohmann::json j = {{"tp", p.tp},
                      {"pp", p.pp},
                      {"dp", p.dp},
                      {"cp", p.cp},
                      {"ep", p.ep},
                      {"micro_batch", p.micro_batch},
                      {"virtual_stages", p.virtual_stages},
                      {"schedule", static_cast<int>(p.schedule)},
                      {"zero", p.zero},
                      {"dp_shard", p.dp_shard},
                      {"recompute", static_cast<int>(p.recompute)},
                      {"recompute_fraction", p.recompute_fraction},
                      {"sequence_parallel", p.sequence_parallel},
                      {"placement", placement_name(p.placement)},
                      {"estimate", c.estimate.step_time},
                      {"compute", c.estimate.compute},
                      {"communication", c.estimate.communication},
                      {"bubble", c.estimate.bubble},
                      {"optimizer", c.estimate.optimizer},
                      {"memory_peak", c.estimate.memory.peak},
                      {"memory_capacity", c.estimate.memory.capacity},
                      {"bound_by", c.estimate.bound_by},
                      {"host_bound_share", c.estimate.host_bound_share},
                      {"mfu", c.mfu}};
  if (c.simulated) {
    j["simulated"] = {
        {"step_time", c.simulated->step_time},           {"bound_by", c.simulated->bound_by},
        {"compute", c.simulated->breakdown.compute},     {"bubble", c.simulated->breakdown.bubble},
        {"optimizer", c.simulated->breakdown.optimizer}, {"exposed", c.simulated->breakdown.exposed_comm}};
  }
  return j;
}

PlanCandidate candidate_from_json(const nlohmann::json& j, const PlanSpec& base) {
  PlanCandidate c;
  PlanSpec& p = c.plan;
  p = base;
  p.tp = j.at("tp");
  p.pp = j.at("pp");
  p.dp = j.at("dp");
  p.cp = j.at("cp");
  p.ep = j.at("ep");
  p.micro_batch = j.at("micro_batch");
  p.virtual_stages = j.at("virtual_stages");
  p.schedule = static_cast<Schedule>(j.at("schedule").get<int>());
  p.zero = j.at("zero");
  p.dp_shard = j.value("dp_shard", 0);
  p.recompute = static_cast<Recompute>(j.at("recompute").get<int>());
  p.recompute_fraction = j.at("recompute_fraction").get<double>();
  p.sequence_parallel = j.at("sequence_parallel");
  p.placement = parse_placement(j.at("placement").get<std::string>());
  reapply_framework(p);
  c.estimate.step_time = j.at("estimate");
  c.estimate.compute = j.at("compute");
  c.estimate.communication = j.at("communication");
  c.estimate.bubble = j.at("bubble");
  c.estimate.optimizer = j.at("optimizer");
  c.estimate.memory.peak = j.at("memory_peak");
  c.estimate.memory.capacity = j.at("memory_capacity");
  c.estimate.host_bound_share = j.at("host_bound_share");
  static const char* bounds[] = {"compute", "communication", "pipeline bubble"};
  for (const char* b : bounds) {
    if (j.at("bound_by") == b) c.estimate.bound_by = b;
  }
  c.mfu = j.at("mfu");
  if (j.contains("simulated")) {
    StepResult r;
    const auto& s = j["simulated"];
    r.step_time = s.at("step_time");
    r.bound_by = s.at("bound_by");
    r.breakdown.compute = s.at("compute");
    r.breakdown.bubble = s.at("bubble");
    r.breakdown.optimizer = s.at("optimizer");
    r.breakdown.exposed_comm = s.at("exposed").get<std::map<std::string, double>>();
    c.simulated = r;
  }
  return c;
}

SearchResult merge_search_results(const std::vector<SearchResult>& shares, int top_k) {
  SearchResult merged;
  for (const auto& share : shares) {
    merged.not_fitting += share.not_fitting;
    merged.cancelled = merged.cancelled || share.cancelled;
    merged.plans.insert(merged.plans.end(), share.plans.begin(), share.plans.end());
  }
  if (!shares.empty()) {
    merged.enumerated = shares.front().enumerated;  // every process enumerates the whole space
    merged.invalid = shares.front().invalid;
  }
  // The global top K by estimate were each in their own process's top K, so all are simulated;
  // simulations of plans outside the global top K are dropped to match a single process.
  std::stable_sort(merged.plans.begin(), merged.plans.end(),
                   [](const auto& a, const auto& b) { return a.estimate.step_time < b.estimate.step_time; });
  for (std::size_t i = std::size_t(std::max(0, top_k)); i < merged.plans.size(); ++i) {
    if (merged.plans[i].simulated) {
      merged.plans[i].simulated.reset();
      merged.plans[i].mfu = 0;
    }
  }
  std::stable_sort(merged.plans.begin(), merged.plans.end(), [](const PlanCandidate& a, const PlanCandidate& b) {
    if (a.simulated.has_value() != b.simulated.has_value()) return a.simulated.has_value();
    return a.step_time() < b.step_time();
  });
  return merged;
}

}  // namespace trainsim

namespace trainsim {

PlanSpace nearby_plans(const Scenario& sc) {
  const PlanSpec& p = sc.plan;
  PlanSpace space;
  space.base = sc;
  // Heavier recomputation keeps fewer activations; every kind is tried, as which saves most
  // depends on the model (op keeps more than selective on wide MLPs).
  space.choices["recompute"] = {"none", "selective", "op", "full"};
  // A plan that checkpoints a share of its layers may fit by checkpointing them all.
  if (p.recompute_fraction < 1) {
    char share[32];
    std::snprintf(share, sizeof share, "%.17g", p.recompute_fraction);
    space.choices["recompute_fraction"] = {share, "1"};
  }
  for (int mb = p.micro_batch; mb >= 1; mb /= 2) space.choices["micro_batch"].push_back(std::to_string(mb));
  for (int zero = p.zero; zero <= 3; ++zero) space.choices["zero"].push_back(std::to_string(zero));
  // More stages split the layers (and their weights) further; dp shrinks to make room.
  for (int pp = p.pp; pp <= sc.model.layers && std::int64_t(p.tp) * pp * p.cp <= sc.cluster.gpus; pp *= 2) {
    space.choices["pp"].push_back(std::to_string(pp));
  }
  return space;
}

namespace {

// "recompute full, zero 3": what differs from `base`, and how many keys.
std::pair<std::string, int> describe_changes(const PlanSpec& base, const PlanSpec& p) {
  std::string text;
  int n = 0;
  auto add = [&](const std::string& change) {
    text += (text.empty() ? "" : ", ") + change;
    ++n;
  };
  if (p.recompute != base.recompute || p.recompute_fraction != base.recompute_fraction)
    add("recompute " + recompute_label(p));
  if (p.micro_batch != base.micro_batch) add("micro_batch " + std::to_string(p.micro_batch));
  if (p.zero != base.zero) add("zero " + std::to_string(p.zero));
  if (p.pp != base.pp) add("pp " + std::to_string(p.pp) + " (dp " + std::to_string(p.dp) + ")");
  return {text, n};
}

}  // namespace

std::vector<PlanSuggestion> suggest_fitting_plans(const Scenario& sc, std::size_t count) {
  struct Ranked {
    PlanSuggestion suggestion;
    int changes = 0;
  };
  std::vector<Ranked> fitting;
  for (const PlanSpec& plan : enumerate_plans(nearby_plans(sc))) {
    Scenario candidate = sc;
    candidate.plan = plan;
    const Estimate e = estimate_step(candidate);
    if (!e.memory.fits()) continue;
    const auto [text, changes] = describe_changes(sc.plan, plan);
    fitting.push_back({{plan, text, e.memory.peak, e.memory.usable(), e.step_time}, changes});
  }
  // Nearest first (fewest keys changed), then fastest.
  std::stable_sort(fitting.begin(), fitting.end(), [](const Ranked& a, const Ranked& b) {
    if (a.changes != b.changes) return a.changes < b.changes;
    return a.suggestion.estimated_step_s < b.suggestion.estimated_step_s;
  });
  std::vector<PlanSuggestion> out;
  for (std::size_t i = 0; i < fitting.size() && i < count; ++i) out.push_back(fitting[i].suggestion);
  return out;
}

std::optional<int> smallest_fitting_gpus(const PlanSpace& space) {
  const int total = space.base.cluster.topology.total_gpus();
  for (std::int64_t gpus = std::int64_t(space.base.cluster.gpus) * 2; gpus <= total; gpus *= 2) {
    PlanSpace larger = space;
    larger.base.cluster.gpus = static_cast<int>(gpus);
    for (const PlanSpec& plan : enumerate_plans(larger)) {
      Scenario candidate = larger.base;
      candidate.plan = plan;
      if (estimate_step(candidate).memory.fits()) return static_cast<int>(gpus);
    }
  }
  return std::nullopt;
}

}  // namespace trainsim
