#include "engine/simulation.hpp"

#include <simgrid/plugins/energy.h>
#include <simgrid/plugins/load.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <simgrid/s4u.hpp>
#include <string_view>
#include <tuple>

#include "engine/isolated.hpp"
#include "engine/schedule.hpp"
#include "network/collectives.hpp"
#include "network/platform.hpp"
#include "topology/graph.hpp"
#include "workload/stages.hpp"
#include "workload/work.hpp"

namespace sg4 = simgrid::s4u;

namespace trainsim {

double StepBreakdown::exposed_total() const {
  double total = 0;
  for (const auto& [kind, seconds] : exposed_comm) total += seconds;
  return total;
}

namespace {

// Every GPU host computes at this many "flops" per second: kernel times are priced by the cost
// model, and an execution of t * kHostSpeed flops takes t seconds.
constexpr double kHostSpeed = 1e9;

// A gradient bucket handed from a stage to its data-parallel stream; bytes < 0 ends the step.
struct Bucket {
  double bytes;
  double expert_bytes = 0;  // routed experts' gradients: reduced over expert data parallelism
};

// Whether every TP group is exactly one node's GPUs: its collectives then run over NVLink ports
// no other traffic uses (the platform routes only a node's own GPU pairs over them).
bool tp_group_fills_a_node(const Scenario& sc) {
  const int per_node = sc.cluster.topology.gpus_per_node;
  if (sc.plan.tp != per_node) return false;
  // Experts regroup a stage's ranks (etp x ep x edp, innermost first, expert_groups): with etp
  // below tp their all-to-alls and gradient reductions run inside a node, beside the TP
  // collectives.
  if (sc.model.moe() && sc.plan.expert_tp() < sc.plan.tp) return false;
  for (int t = 0; t < sc.plan.tp; ++t) {
    if (gpu_of(sc.plan, t, 0, 0, 0) / per_node != gpu_of(sc.plan, 0, 0, 0, 0) / per_node) return false;
  }
  return true;
}

// The largest part of a stage's time, as the report names it.
std::string largest_part(const StepBreakdown& b) {
  std::pair<std::string, double> largest{"compute", b.compute};
  if (b.bubble > largest.second) largest = {"pipeline bubble", b.bubble};
  if (b.optimizer > largest.second) largest = {"optimizer", b.optimizer};
  for (const auto& [kind, seconds] : b.exposed_comm) {
    if (seconds > largest.second) largest = {kind + " communication", seconds};
  }
  return largest.first;
}

// What a stage has accumulated at a steady-period boundary: the difference of two consecutive
// ones is what one period costs.
struct PeriodSnapshot {
  double clock = 0;
  StepBreakdown breakdown;
  double flops = 0;
  double gpu_energy_j = 0;
  double network_energy_j = 0;  // stage 0 only: all links
  int bucket_backlog = 0;       // buckets handed to the data-parallel stream, not yet reduced
};

// Work of a stage that nothing else can see until the stage next meets another actor: compute
// (`exec_s` of the GPU) or a priced collective's wait (`sleep_s`). See StepSimulation::flush.
struct DeferredWork {
  double exec_s = 0;
  double sleep_s = 0;
  const char* kind = nullptr;  // the collective's axis, for a wait
};

struct StageState {
  std::vector<PeriodSnapshot> snapshots;  // at each steady-period boundary (period_boundaries)
  // When the stage started its first task that a longer steady state would not have repeated:
  // its cool-down, or a chunk's last backward, which hands the gradients on. -1: not yet.
  double steady_end = -1;
  std::vector<DeferredWork> deferred;
  double waits_in_executions_s = 0;  // priced waits run inside an execution (flush)
  StepBreakdown breakdown;
  double flops = 0;
  double finish = 0;
  std::deque<Bucket> buckets;
  std::vector<Bucket> held;  // without overlap_grad_reduce: each chunk's gradients, until the step's backward ends
  int buckets_done = 0, buckets_sent = 0;
  sg4::MutexPtr mutex = sg4::Mutex::create();
  sg4::ConditionVariablePtr changed = sg4::ConditionVariable::create();
};

class StepSimulation {
 public:
  StepSimulation(const Scenario& sc, const StageSetup& setup, const Platform& platform,
                 const SimulationOptions& options, int simulated_micro_batches)
      : sc_(sc),
        p_(sc.plan),
        setup_(setup),
        w_(setup.work.front()),
        zero3_collectives_(zero3_collectives(sc.model, sc.plan, w_.layer)),
        platform_(platform),
        trace_enabled_(options.record_trace),
        skip_data_parallel_(options.skip_data_parallel),
        shortcuts_(options.mirror_symmetric && !options.record_link_load),
        mirror_dp_(shortcuts_ && rails_never_contend(sc.cluster.topology)),
        one_gpu_kind_(!sc.cluster.topology.mixed(sc.cluster.gpus)),
        tree_fabric_(sc.cluster.topology.fabric == FabricKind::fat_tree ||
                     sc.cluster.topology.fabric == FabricKind::rail_optimized),
        tp_fills_node_(shortcuts_ && tp_group_fills_a_node(sc)),
        defer_(shortcuts_ && !trace_enabled_),
        stages_(p_.pp) {
    layers_ = setup.layers;
    chunk_layers_ = setup.chunk_layers;
    first_layers_ = first_layers(chunk_layers_);
    dense_layers_ = dense_layers_per_stage(sc.model, p_);
    micro_batches_ = simulated_micro_batches;
    skipped_periods_ = 0;
    if (simulated_micro_batches < p_.micro_batches()) {
      const auto steady = steady_state(p_.schedule, p_.pp, 0, micro_batches_, p_.virtual_stages, p_.splits_backward());
      skipped_periods_ = (p_.micro_batches() - micro_batches_) / steady->period_micro_batches;
    }
    slowdown_ = stage_slowdowns(sc);
  }

  void start() {
    for (int s = 0; s < p_.pp; ++s) {
      sg4::Actor::create("stage" + std::to_string(s), platform_.gpu(gpu(0, 0, s, 0)), [this, s] { run_stage(s); });
      if (data_parallel()) {
        sg4::Actor::create("dp" + std::to_string(s), platform_.gpu(gpu(0, 0, s, 0)), [this, s] { run_dp_stream(s); });
      }
    }
  }

  StepResult result() const {
    StepResult r;
    r.simulated_micro_batches = micro_batches_;
    for (int s = 0; s < p_.pp; ++s) {
      r.stage_finish.push_back(stages_[s].finish);
      if (stages_[s].finish > r.step_time) {
        r.step_time = stages_[s].finish;
        r.critical_stage = s;
      }
    }
    if (skipped_periods_ > 0) {
      if (!periodic(r.step_time)) {
        r.not_periodic = true;
        return r;
      }
      extend(r);
    }
    for (int s = 0; s < p_.pp; ++s) {
      StepBreakdown b = stages_[s].breakdown;
      const StepBreakdown extra = skipped(s).breakdown;
      b.compute += extra.compute;
      b.bubble += extra.bubble;
      b.optimizer += extra.optimizer;
      for (const auto& [kind, seconds] : extra.exposed_comm) b.exposed_comm[kind] += seconds;
      r.stage_breakdowns.push_back(b);
    }
    r.breakdown = r.stage_breakdowns[r.critical_stage];
    // Averaged over the stages, as model FLOPs are over all GPUs: a stage with fewer layers than
    // the critical one would otherwise make hardware FLOP/s read below model FLOP/s.
    for (int s = 0; s < p_.pp; ++s) r.hardware_flops_per_gpu += (stages_[s].flops + skipped(s).flops) / p_.pp;
    r.trace = trace_;
    // GPU energy of one step: the representative GPU of each stage stands for its tp*cp*dp peers.
    for (int s = 0; s < p_.pp; ++s) {
      const double joules = gpu_energy_j(s) + skipped(s).gpu_energy_j;
      r.gpu_energy_j += joules * p_.tp * p_.cp * p_.dp;
    }
    r.bound_by = largest_part(r.breakdown);
    return r;
  }

  // All links' energy so far, mirrored collectives' included.
  double network_energy() const {
    double joules = platform_.mirrored_energy_j();
    for (const auto* link : sg4::Engine::get_instance()->get_all_links()) joules += sg_link_get_consumed_energy(link);
    return joules;
  }
  // The network energy of the skipped periods (stage 0's last period, times their count).
  double skipped_network_energy() const {
    const auto k = last_period(0);
    if (skipped_periods_ == 0 || !k) return 0;
    const auto& snaps = stages_[0].snapshots;
    return skipped_periods_ * (snaps[*k].network_energy_j - snaps[*k - 1].network_energy_j);
  }

 private:
  int gpu(int tp, int cp, int pp, int dp) const { return gpu_of(p_, tp, cp, pp, dp); }
  bool data_parallel() const { return p_.dp * p_.cp > 1 && !skip_data_parallel_; }
  // Layers of a virtual stage (model chunk): chunks may differ when the layers do not divide.
  int chunk_layers(int virtual_stage) const { return chunk_layers_[virtual_stage]; }
  // Layer l of a virtual stage: a MoE model's layers without experts (ModelSpec::moe_layer) have a
  // dense MLP.
  bool dense_layer(int virtual_stage, int l) const {
    return sc_.model.moe() && !sc_.model.moe_layer(first_layer(virtual_stage) + l);
  }
  // The model index of a virtual stage's first layer.
  int first_layer(int virtual_stage) const { return first_layers_[virtual_stage]; }
  const LayerWork& layer_work(int stage, int virtual_stage, int l) const {
    return dense_layer(virtual_stage, l) ? setup_.work[stage].dense_layer : setup_.work[stage].layer;
  }
  int virtual_stages() const { return p_.pp * p_.virtual_stages; }
  double gradient_bytes_per_element() const {
    if (p_.gradient_reduce_bytes > 0) return p_.gradient_reduce_bytes;
    return bytes_per_element(p_.precision) >= 4 ? 4 : 2;
  }

  // The last measured period of a stage times the skipped periods (zero when none are skipped).
  PeriodSnapshot skipped(int s) const {
    PeriodSnapshot d;
    const auto last = last_period(s);
    if (skipped_periods_ == 0 || !last) return d;
    const PeriodSnapshot &from = stages_[s].snapshots[*last - 1], &to = stages_[s].snapshots[*last];
    const double k = static_cast<double>(skipped_periods_);
    d.clock = k * (to.clock - from.clock);
    d.flops = k * (to.flops - from.flops);
    d.gpu_energy_j = k * (to.gpu_energy_j - from.gpu_energy_j);
    d.breakdown.compute = k * (to.breakdown.compute - from.breakdown.compute);
    d.breakdown.bubble = k * (to.breakdown.bubble - from.breakdown.bubble);
    d.breakdown.optimizer = k * (to.breakdown.optimizer - from.breakdown.optimizer);
    for (const auto& [kind, seconds] : to.breakdown.exposed_comm) {
      const auto before = from.breakdown.exposed_comm.find(kind);
      d.breakdown.exposed_comm[kind] =
          k * (seconds - (before == from.breakdown.exposed_comm.end() ? 0.0 : before->second));
    }
    return d;
  }

  // The moment the first stage left the steady state (StageState::steady_end). Nothing before it
  // can differ from a longer step's steady state, whatever came after.
  double steady_cut() const {
    double cut = std::numeric_limits<double>::infinity();
    for (const auto& st : stages_) {
      if (st.steady_end >= 0) cut = std::min(cut, st.steady_end);
    }
    return cut;
  }

  // The snapshot closing stage s's last measured period: the latest boundary the stage reached by
  // steady_cut(), with two whole periods before it (the first of which may still be settling
  // from the warm-up: periodic() tells). None when the stage has no two such periods.
  std::optional<std::size_t> last_period(int s) const {
    const auto& snaps = stages_[s].snapshots;
    const double cut = steady_cut();
    for (std::size_t k = snaps.size(); k-- > 2;) {
      if (snaps[k].clock <= cut) return k;
    }
    return std::nullopt;
  }

  // The steady state repeats when, on every stage, the last two measured periods last the same
  // and leave the same gradient-bucket backlog, and all stages share the period: closely enough
  // that the skipped periods could not move the step by more than 1e-4 of it.
  bool periodic(double step_time) const {
    const double tolerance = 1e-4 * step_time / static_cast<double>(skipped_periods_);
    double period = -1;
    for (int s = 0; s < p_.pp; ++s) {
      const auto k = last_period(s);
      if (!k) return false;
      const PeriodSnapshot* snaps = &stages_[s].snapshots[*k - 2];
      const double first = snaps[1].clock - snaps[0].clock, last = snaps[2].clock - snaps[1].clock;
      if (std::abs(first - last) > tolerance) return false;
      if (snaps[0].bucket_backlog != snaps[1].bucket_backlog || snaps[1].bucket_backlog != snaps[2].bucket_backlog)
        return false;
      if (period >= 0 && std::abs(period - last) > tolerance) return false;
      period = last;
    }
    return true;
  }

  // Every stage finishes later by the skipped periods, and has done their work.
  void extend(StepResult& r) const {
    r.extended = true;
    r.step_time = 0;
    for (int s = 0; s < p_.pp; ++s) {
      r.stage_finish[s] += skipped(s).clock;
      if (r.stage_finish[s] > r.step_time) {
        r.step_time = r.stage_finish[s];
        r.critical_stage = s;
      }
    }
  }

  // At a steady-period boundary of stage s: what the stage has accumulated so far.
  void snapshot(int s) {
    flush(s);
    StageState& st = stages_[s];
    PeriodSnapshot snap;
    snap.clock = sg4::Engine::get_clock();
    snap.breakdown = st.breakdown;
    snap.flops = st.flops;
    snap.gpu_energy_j = gpu_energy_j(s);
    if (s == 0) snap.network_energy_j = network_energy();
    snap.bucket_backlog = st.buckets_sent - st.buckets_done;  // a read: no lock (see flush)
    st.snapshots.push_back(snap);
  }

  // The task indices of stage s at which its whole steady periods start and end; last_period
  // picks the ones to measure once the run is over. None when nothing is extended. A steady
  // pair is a forward and the backward of unit `pair`; every stage's periods end after the same
  // backward units, and stage 0's last one with its steady state: a later stage does each
  // backward unit before stage 0 can, so it reaches each boundary first. The pairs left over at
  // the start give the pipeline time to fill.
  std::vector<std::size_t> period_boundaries(int s) const {
    if (skipped_periods_ == 0) return {};
    const auto first = steady_state(p_.schedule, p_.pp, 0, micro_batches_, p_.virtual_stages, p_.splits_backward());
    const auto steady = steady_state(p_.schedule, p_.pp, s, micro_batches_, p_.virtual_stages, p_.splits_backward());
    std::vector<std::size_t> boundaries;
    const int q = first->period_pairs;
    for (int pair = (first->pairs - 2) % q + 1; pair < first->pairs; pair += q) {
      boundaries.push_back(steady->pair_task(pair));
    }
    return boundaries;
  }

  void record(int stage, const char* stream, const std::string& name, double start) {
    if (!trace_enabled_) return;
    trace_.push_back({gpu(0, 0, stage, 0), stream, name, start, sg4::Engine::get_clock()});
  }

  // Whether the stage's data-parallel collectives may be running beside its compute: gradient
  // buckets, ZeRO-3's prefetched gather (`unfinished`: only while it runs; else as long as one
  // is pending), the distributed optimizer's parameter gathers. SimGrid runs one actor at a time
  // and switches only at its calls, so reading the counters needs no lock (taking one is a call
  // into SimGrid's kernel, twice per stage task).
  bool data_parallel_in_flight(int stage, bool unfinished = false) const {
    if (stages_[stage].buckets_done < stages_[stage].buckets_sent) return true;
    if (auto it = prefetch_.find(stage);
        it != prefetch_.end() && it->second && (!unfinished || it->second->would_block()))
      return true;
    if (auto it = syncing_.find(stage); it != syncing_.end() && it->second) return true;
    return false;
  }

  // A stretch of compute and priced collective waits touches no other actor: SimGrid need not
  // see each piece. It runs as one execution and one wait of the same lengths (the GPU's energy
  // and the step alike), unless something on the stage's GPU shares it meanwhile (a data-parallel
  // collective holding SMs, a ZeRO-3 prefetch): then piece by piece, in order. Called before
  // anything another actor sees: a mailbox, a simulated collective, a bucket, a snapshot. With
  // traces or `--fidelity exhaustive` nothing is deferred. Per micro-batch the simulation then
  // costs a few activities a stage, not one per block.
  void flush(int stage) {
    StageState& st = stages_[stage];
    if (st.deferred.empty()) return;
    const bool shared = data_parallel_in_flight(stage);
    const auto execute = [&](double seconds) {
      const double start = sg4::Engine::get_clock();
      sg4::this_actor::execute(seconds * kHostSpeed);
      st.breakdown.compute += sg4::Engine::get_clock() - start;
    };
    double exec = 0, sleep = 0;
    for (const DeferredWork& d : st.deferred) {
      if (d.kind != nullptr) st.breakdown.exposed_comm[d.kind] += d.sleep_s;
      if (shared) {
        if (d.exec_s > 0) execute(d.exec_s);
        if (d.sleep_s > 0) sg4::this_actor::sleep_for(d.sleep_s);
      }
      exec += d.exec_s;
      sleep += d.sleep_s;
    }
    if (!shared && exec + sleep > 0) {
      // The GPU alone: one execution as long as the compute and the waits, a SimGrid activity
      // fewer per stage task; gpu_energy_j counts the waits at idle power.
      sg4::this_actor::execute((exec + sleep) * kHostSpeed);
      st.breakdown.compute += exec;
      st.waits_in_executions_s += sleep;
    }
    st.deferred.clear();
  }

  // The GPU energy of stage s's representative GPU so far: SimGrid's energy plugin, less the
  // busy-minus-idle power over the waits that flush ran inside executions.
  double gpu_energy_j(int s) const {
    sg4::Host* host = platform_.gpu(gpu(0, 0, s, 0));
    const double busy_minus_idle = sg_host_get_wattmax_at(host, 0) - sg_host_get_wattmin_at(host, 0);
    return sg_host_get_consumed_energy(host) - busy_minus_idle * stages_[s].waits_in_executions_s;
  }

  void compute(int stage, const Block& block, const std::string& label) {
    const double t = block.time() * slowdown_[stage];
    if (t <= 0) return;
    if (defer_) {
      stages_[stage].deferred.push_back({t, 0});
      stages_[stage].flops += block.flops();
      return;
    }
    const double start = sg4::Engine::get_clock();
    // An execution (not a sleep) so that SimGrid's energy plugin sees the GPU busy.
    sg4::this_actor::execute(t * kHostSpeed);
    stages_[stage].breakdown.compute += sg4::Engine::get_clock() - start;
    stages_[stage].flops += block.flops();
    record(stage, "compute", label, start);
  }

  // An offloaded layer's copy to or from the host that outlasts the compute it runs under: the
  // compute stream waits for it (offload_stall_forward/backward), counted as exposed "offload".
  void host_copy_wait(int stage, double t, const std::string& label) {
    priced_wait(stage, t, "offload", "compute", label);
  }

  // A wait priced, not simulated, counted as exposed `kind` (deferred into the stage's stretch).
  void priced_wait(int stage, double t, const char* kind, const char* stream, const std::string& label) {
    if (t <= 0) return;
    if (defer_) {
      stages_[stage].deferred.push_back({0, t, kind});
      return;
    }
    const double start = sg4::Engine::get_clock();
    sg4::this_actor::sleep_for(t);
    stages_[stage].breakdown.exposed_comm[kind] += t;
    record(stage, stream, label, start);
  }
  bool layer_offloaded(int virtual_stage, int l) const {
    return first_layer(virtual_stage) + l < p_.activation_offload_layers;
  }

  // Groups of GPUs for one collective of `axis`, for every sibling group that runs it at once.
  std::vector<std::vector<int>> tp_groups(int stage) const {
    std::vector<int> g;
    for (int t = 0; t < p_.tp; ++t) g.push_back(gpu(t, 0, stage, 0));
    return {g};
  }
  // The context-parallel rings of data-parallel replica d, one per TP rank; all replicas' run at
  // once (replicated_collective).
  std::vector<std::vector<int>> cp_groups(int stage, int d) const {
    std::vector<std::vector<int>> groups;
    for (int t = 0; t < p_.tp; ++t) {
      std::vector<int> g;
      for (int c = 0; c < p_.cp; ++c) g.push_back(gpu(t, c, stage, d));
      groups.push_back(g);
    }
    return groups;
  }
  // The ZeRO shard groups: a TP rank's cp x dp ranks, or with hybrid sharding (dp_shard) each of
  // its groups of dp_shard consecutive DP ranks; the replicas' groups run at once.
  std::vector<std::vector<int>> dp_groups(int stage) const {
    const int per_group = p_.shard_dp();
    std::vector<std::vector<int>> groups;
    for (int t = 0; t < p_.tp; ++t) {
      for (int r = 0; r < p_.shard_replicas(); ++r) {
        std::vector<int> g;
        for (int c = 0; c < p_.cp; ++c) {
          for (int d = r * per_group; d < (r + 1) * per_group; ++d) g.push_back(gpu(t, c, stage, d));
        }
        groups.push_back(g);
      }
    }
    return groups;
  }
  // Hybrid sharding's replica groups: each rank of a shard group with its peers in the others.
  std::vector<std::vector<int>> replica_groups(int stage) const {
    std::vector<std::vector<int>> groups;
    for (int t = 0; t < p_.tp; ++t) {
      for (int c = 0; c < p_.cp; ++c) {
        for (int j = 0; j < p_.shard_dp(); ++j) {
          std::vector<int> g;
          for (int r = 0; r < p_.shard_replicas(); ++r) g.push_back(gpu(t, c, stage, r * p_.shard_dp() + j));
          groups.push_back(g);
        }
      }
    }
    return groups;
  }
  // A data-parallel collective of the stage over all its groups (its TP ranks', and with hybrid
  // sharding its shard groups' or replica groups'); where those never slow each other
  // (rails_never_contend), only the first is simulated and the others mirror it: the same time,
  // and their network energy added (the rings of all TP ranks were most of a 16K-GPU step's flows).
  Collective dp_collective(int stage, CollectiveKind kind, double bytes, bool across_replicas = false) const {
    Collective c;
    c.kind = kind;
    c.bytes = bytes;
    c.groups = across_replicas ? replica_groups(stage) : dp_groups(stage);
    if (mirror_dp_ && c.groups.size() > 1) {
      c.mirrors = static_cast<int>(c.groups.size()) - 1;
      c.groups.resize(1);
    }
    return c;
  }
  // MoE parallel folding: a stage's tp*cp*dp ranks, flattened tp innermost, regrouped for the
  // experts as etp x ep x edp, innermost first (Megatron-Core's expert rank generator). The ep
  // groups of expert-data-parallel rank `replica` (or, with `data_parallel`, the expert-data-
  // parallel groups of ep rank `replica`), one per etp rank; every replica's run at once.
  std::vector<std::vector<int>> expert_groups(int stage, bool data_parallel, int replica) const {
    const int etp = p_.expert_tp(), ep = p_.ep, edp = p_.expert_dp();
    const auto folded = [&](int i) { return folded_gpu(p_, stage, i); };
    std::vector<std::vector<int>> groups;
    for (int a = 0; a < etp; ++a) {
      std::vector<int> g;
      for (int k = 0; k < (data_parallel ? edp : ep); ++k)
        g.push_back(folded(data_parallel ? a + etp * replica + etp * ep * k : a + etp * k + etp * ep * replica));
      groups.push_back(g);
    }
    return groups;
  }

  // A collective that each of `replicas` replicas runs at once over its own groups (`groups_of(r)`,
  // replica r's). The replicas' groups need not be placed alike: some cross node boundaries
  // (72-GPU racks hold no power-of-two group whole) or leaf switches where others do not, and the
  // step waits for the slowest. Where rails never contend the replica whose groups span the most
  // leaves, then nodes, runs (with `one_group`, only its most spread group: the rest run beside it
  // on their own ports) and the others mirror it, their network energy counted as its. Where links
  // can bind (oversubscribed fat trees, tori, dragonflies) the replicas also share uplinks: all
  // run, up to kReplicatedFlowBudget flows (network/collectives.hpp), and beyond that the most
  // spread replica runs and the others mirror it. `which` names the collective's groups for the
  // per-stage choice (ReplicatedGroups).
  enum class ReplicatedGroups { expert_parallel, expert_data_parallel, context_parallel };
  template <typename GroupsOf>
  Collective replicated_collective(int stage, ReplicatedGroups which, int replicas, GroupsOf groups_of, bool one_group,
                                   CollectiveKind kind, double bytes) const {
    auto [chosen, fresh] = replicated_.try_emplace({stage, static_cast<int>(which)});
    if (fresh) chosen->second = place_replicas(replicas, groups_of, one_group);
    Collective c = chosen->second;
    c.kind = kind;
    c.bytes = bytes;
    return c;
  }
  template <typename GroupsOf>
  Collective place_replicas(int replicas, GroupsOf groups_of, bool one_group) const {
    const int per_node = sc_.cluster.topology.gpus_per_node;
    const int per_leaf = per_node * std::max(1, sc_.cluster.topology.nodes_per_leaf);
    using Span = std::pair<std::size_t, std::size_t>;  // leaves, then nodes
    const auto span_of = [&](const std::vector<int>& g) {
      std::set<int> leaves, nodes;
      for (const int gpu : g) leaves.insert(gpu / per_leaf), nodes.insert(gpu / per_node);
      return Span{leaves.size(), nodes.size()};
    };
    Collective c;
    std::size_t flows = 0;
    Span worst{0, 0};
    int worst_replica = 0;
    // Groups that each stay under one leaf switch of a tree never reach its uplinks, the only
    // links an oversubscribed tree shares between nodes: they run on their own ports, as where
    // rails never contend (context-parallel pairs of neighbouring nodes, say).
    bool under_one_leaf = tree_fabric_;
    for (int r = 0; r < replicas; ++r) {
      Span span{0, 0};
      for (auto& g : groups_of(r)) {
        const Span own = span_of(g);
        flows += g.size() * own.second;
        span = {span.first + own.first, span.second + own.second};
        under_one_leaf = under_one_leaf && own.first == 1;
        c.groups.push_back(std::move(g));
      }
      if (span > worst) worst = span, worst_replica = r;
    }
    // Replicas on GPUs of other kinds (a mixed cluster's node groups) are not alike: their NVLink
    // differs, and the slowest sets the time. They all run, up to the flow budget.
    const bool mirror = (mirror_dp_ || (shortcuts_ && under_one_leaf)) && one_gpu_kind_;
    if (!mirror && flows <= kReplicatedFlowBudget) return c;
    c.groups = groups_of(worst_replica);
    c.mirrors = replicas - 1;
    if (mirror && one_group && c.groups.size() > 1) {
      const auto widest = std::max_element(c.groups.begin(), c.groups.end(),
                                           [&](const auto& a, const auto& b) { return span_of(a) < span_of(b); });
      c.mirrors = static_cast<int>(c.groups.size()) * replicas - 1;
      c.groups = {*widest};
    }
    return c;
  }
  // An expert collective as every replica of the stage runs it: the all-to-alls over the ep
  // groups, or with `data_parallel` the routed experts' gradients and weights over the edp groups.
  Collective expert_collective(int stage, bool data_parallel, CollectiveKind kind, double bytes) const {
    const auto groups_of = [this, stage, data_parallel](int r) { return expert_groups(stage, data_parallel, r); };
    return replicated_collective(
        stage, data_parallel ? ReplicatedGroups::expert_data_parallel : ReplicatedGroups::expert_parallel,
        data_parallel ? p_.ep : p_.expert_dp(), groups_of, true, kind, bytes);
  }

  void blocking(int stage, const char* kind, const Collective& c, const std::string& label) {
    flush(stage);
    const double start = sg4::Engine::get_clock();
    run_collective(platform_, c, sc_.cluster.topology.gpus_per_node);
    exposed(stage, kind, label, start);
  }

  // The stage waited on communication of this kind since `start`.
  void exposed(int stage, const char* kind, const std::string& label, double start) {
    const double took = sg4::Engine::get_clock() - start;
    if (took <= 0) return;
    stages_[stage].breakdown.exposed_comm[kind] += took;
    record(stage, kind, label, start);
  }

  // A ZeRO-3 collective as the framework issues it: whole, or one per parameter tensor in turn
  // (PlanSpec::zero3_unit); through the list API each also launches a copy per rank of the group
  // (PlanSpec::zero3_list_collectives): ProcessGroupNCCL's C++ loop queues them, and the device
  // runs them back to back (GpuSpec::kernel_interval_s).
  // The pieces are alike and follow one another on the same links: the first is simulated and
  // the others take its time (`--fidelity exhaustive` and link-load recording simulate each; a
  // 1536-GPU DeepSpeed step's 4608 gathers took a minute).
  void run_zero3(int stage, const Collective& c) const {
    const int pieces = zero3_collectives_;
    Collective piece = c;
    piece.bytes = c.bytes / pieces;
    const double copies =
        p_.zero3_list_collectives ? double(c.groups.front().size()) * setup_.gpu[stage].queued_kernel_interval() : 0;
    for (int i = 0; i < pieces; ++i) {
      const double start = sg4::Engine::get_clock();
      run_collective(platform_, piece, sc_.cluster.topology.gpus_per_node);
      if (copies > 0) sg4::this_actor::sleep_for(copies);
      if (shortcuts_ && pieces > 1) {
        sg4::this_actor::sleep_for((pieces - 1) * (sg4::Engine::get_clock() - start));
        return;
      }
    }
  }

  // A collective that repeats with the same bytes over the same group in every layer and
  // micro-batch (expert all-to-alls, overlapped TP exchanges): the first kSimulatedRepeats of a
  // stage, kind and label are simulated (`simulate`, blocking); the others take the part
  // `exposed(mean time)` of their mean, which keeps a step of tens of thousands of them (EP 32,
  // 128 micro-batches, 94 layers) to seconds instead of many minutes of flow sharing. They see the
  // contention of the simulated ones.
  static constexpr int kSimulatedRepeats = 8;
  template <class Simulate, class Exposed>
  void repeated(int stage, const char* kind, std::string_view label, std::string_view variant, Simulate simulate,
                Exposed exposed, int simulated_repeats = kSimulatedRepeats) {
    // Looked up without building the name: several times a layer and micro-batch.
    auto found = repeat_times_.find(std::tuple{stage, std::string_view(kind), label, variant});
    if (found == repeat_times_.end()) {
      found = repeat_times_.emplace(RepeatKey{stage, kind, label, variant}, std::pair{0, 0.0}).first;
    }
    auto& [count, total] = found->second;
    if (count >= simulated_repeats && defer_) {
      const double took = exposed(total / count);
      stages_[stage].deferred.push_back({0, took, kind});
      return;
    }
    flush(stage);
    const double start = sg4::Engine::get_clock();
    if (count >= simulated_repeats) {
      const double took = exposed(total / count);
      sg4::this_actor::sleep_for(took);
      stages_[stage].breakdown.exposed_comm[kind] += took;
      if (trace_enabled_) record(stage, kind, std::string(label) + std::string(variant), start);
      return;
    }
    simulate();
    ++count;
    total += sg4::Engine::get_clock() - start;
  }

  // Tensor-parallel exchange after (or, with sequence parallelism, around) a block. With
  // tp_comm_overlap the collectives run beside the chunks of the block's linear GEMMs
  // (`overlapped`): once their time T is learned (repeated), they expose what
  // PlanSpec::tp_overlap_exposed leaves of T beside G, the GEMMs' time. A forward's all-gathers may move quantized
  // values (Communication::tp_gather_bytes); regather: the sequence-parallel all-gather alone (a recomputation's,
  // or a parallel block's attention branch's input); reduce: the backward's reduction alone (a parallel block's
  // attention branch's input gradient: a reduce-scatter with sequence parallelism, else an all-reduce).
  enum class TpPass { forward, backward, regather, reduce };
  void tp_exchange(int stage, const char* label, const Block& overlapped, TpPass pass) {
    if (p_.tp < 2) return;
    const bool gather_only = pass == TpPass::regather;
    const bool reduce_only = pass == TpPass::reduce && p_.sequence_parallel;
    if (!p_.tp_comm_overlap) {
      // A TP group that is a whole node has the node's NVLink ports to itself (every other axis
      // leaves the node through its NICs): each of its collectives takes the same time, so after
      // a few it is priced at what they took.
      if (tp_fills_node_) {
        const char* variant = gather_only            ? " all-gather"
                              : reduce_only          ? " reduce-scatter"
                              : p_.sequence_parallel ? " reduce-scatter + all-gather"
                                                     : " all-reduce";
        repeated(
            stage, "tp", label, variant, [&] { tp_collectives(stage, label, pass); }, [](double t) { return t; });
      } else {
        tp_collectives(stage, label, pass);
      }
      return;
    }
    const double gemms = overlapped.linear_gemm_time() * slowdown_[stage];
    const double gathered = p_.sequence_parallel ? w_.comm.tp_gather_bytes : w_.comm.tp_bytes;
    const double rs_share = w_.comm.tp_bytes / std::max(1.0, w_.comm.tp_bytes + gathered);
    repeated(
        stage, "tp", label,
        gather_only   ? " all-gather (overlapped)"
        : reduce_only ? " reduce-scatter (overlapped)"
                      : " (overlapped)",
        [&] { tp_collectives(stage, label, pass); },
        [&](double t) { return p_.tp_overlap_exposed(t, gemms, pass == TpPass::forward, rs_share); });
  }

  // The exchange after a layer's attention in a forward. Parallel blocks (ModelSpec::
  // parallel_blocks, as GPT-NeoX builds them: each branch's first linear layer takes its own
  // copy of its input) reduce the two branches' sum once, after the MLP's: here only the
  // attention branch's own input all-gather runs, with sequence parallelism.
  void attention_exchange(int stage, const char* label, const Block& attention, bool parallel_blocks) {
    if (!parallel_blocks)
      tp_exchange(stage, label, attention, TpPass::forward);
    else if (p_.sequence_parallel)
      tp_exchange(stage, label, attention, TpPass::regather);
  }

  void tp_collectives(int stage, const std::string& label, TpPass pass) {
    const bool gather_only = pass == TpPass::regather;
    Collective c;
    c.bytes = w_.comm.tp_bytes;
    c.groups = tp_groups(stage);
    c.algorithm = p_.tp_algorithm;
    if (p_.sequence_parallel) {
      // All-gather before the block and reduce-scatter after it: the same bytes as one
      // all-reduce, split in two collectives.
      if (!gather_only) {
        c.kind = CollectiveKind::reduce_scatter;
        blocking(stage, "tp", c, label + " reduce-scatter");
      }
      if (pass == TpPass::reduce) return;
      if (pass != TpPass::backward) c.bytes = w_.comm.tp_gather_bytes;
      c.kind = CollectiveKind::all_gather;
      blocking(stage, "tp", c, label + " all-gather");
    } else {
      c.kind = CollectiveKind::all_reduce;
      blocking(stage, "tp", c, label + " all-reduce");
    }
  }

  // An expert-parallel all-to-all: the same in every MoE layer and micro-batch (repeated).
  void ep_exchange(int stage, const std::string& label) {
    if (p_.ep < 2 || !sc_.model.moe()) return;
    const auto simulate = [&] {
      Collective c = expert_collective(stage, false, CollectiveKind::all_to_all, w_.comm.ep_bytes);
      if (p_.moe_dispatcher != MoeDispatcher::alltoall) {
        c.top_k = sc_.model.top_k;
        c.experts = sc_.model.experts;
      }
      blocking(stage, "ep", c, label);
    };
    repeated(
        stage, "ep", label, "", simulate, [](double t) { return t; }, ep_simulated_repeats(stage));
  }

  // SimGrid 3.32 scans its live activities at each completion (../shared/SIMGRID-NOTES.md): an
  // all-to-all of F concurrent flows costs F^2, a second for EP 128 over 64 nodes (8192 flows).
  // Beyond 2048 flows the first two of a kind are simulated, not eight. Once per stage.
  int ep_simulated_repeats(int stage) {
    auto [it, fresh] = ep_repeats_.try_emplace(stage, kSimulatedRepeats);
    if (fresh) {
      std::size_t flows = 0;
      for (const auto& group : expert_collective(stage, false, CollectiveKind::all_to_all, 0).groups) {
        std::set<int> nodes;
        for (const int g : group) nodes.insert(g / sc_.cluster.topology.gpus_per_node);
        flows += group.size() * nodes.size();
      }
      if (flows > 2048) it->second = 2;
    }
    return it->second;
  }

  // Attention with context parallelism: K/V blocks travel the ring while the block computes.
  // The rings of a stage and pass (forward, backward) are alike in every layer and micro-batch:
  // the first kSimulatedRepeats that run alone on the network are simulated, the others wait what
  // their mean outlasts the block (as `repeated` prices the expert all-to-alls), unless every
  // collective is simulated. Rings beside the stage's data-parallel traffic (the parameter
  // gathers of the first forward, the gradient buckets of the last backward) are simulated, and
  // not counted in the mean.
  void attention(int stage, const Block& block, const std::string& label, int passes) {
    if (p_.cp < 2) {
      compute(stage, block, label);
      return;
    }
    auto& [count, total] = cp_ring_times_[{stage, passes}];
    const bool alone = !data_parallel_in_flight(stage, /*unfinished=*/true);
    if (shortcuts_ && alone && count >= kSimulatedRepeats) {
      compute(stage, block, label);
      priced_wait(stage, total / count - block.time() * slowdown_[stage], "cp", "cp", "ring attention exchange");
      return;
    }
    flush(stage);
    auto done = sg4::Semaphore::create(0);
    const Collective ring = replicated_collective(
        stage, ReplicatedGroups::context_parallel, p_.dp, [this, stage](int d) { return cp_groups(stage, d); }, false,
        CollectiveKind::all_gather, passes * w_.comm.cp_bytes_per_step * p_.cp);
    const int gpus_per_node = sc_.cluster.topology.gpus_per_node;
    const double ring_start = sg4::Engine::get_clock();
    auto ring_end = std::make_shared<double>(ring_start);
    sg4::Actor::create("cp-ring", platform_.gpu(gpu(0, 0, stage, 0)), [this, ring, done, gpus_per_node, ring_end] {
      run_collective(platform_, ring, gpus_per_node);
      *ring_end = sg4::Engine::get_clock();
      done->release();
    });
    compute(stage, block, label);
    flush(stage);  // the block computes while the ring runs
    const double start = sg4::Engine::get_clock();
    done->acquire();
    if (alone) {
      ++count;
      total += *ring_end - ring_start;
    }
    const double waited = sg4::Engine::get_clock() - start;
    if (waited > 0) {
      stages_[stage].breakdown.exposed_comm["cp"] += waited;
      record(stage, "cp", "ring attention exchange", start);
    }
  }

  // ZeRO-3 / FSDP: each layer's weights are gathered before use. With prefetch the gather of
  // the next layer runs while this one computes; only the part it does not cover is exposed.
  // `prefetch_next` is false where no further gather follows (the last layer a kept stage gathers).
  void zero3_gather(int stage, const std::string& label, bool prefetch_next = true) {
    if (p_.zero < 3 || !data_parallel()) return;
    flush(stage);
    // With fp8_param_gather the shards are cast to FP8 before the gather (torchao's
    // enable_fsdp_float8_all_gather, Transformer Engine's FP8 parameters): one byte a weight.
    // (A MoE layer's parameters: the larger.)
    const Collective c =
        dp_collective(stage, CollectiveKind::all_gather,
                      w_.layer.parameters * (p_.fp8_param_gather ? 1.0 : bytes_per_element(p_.precision)));
    if (!p_.overlap_param_gather) {
      const double start = sg4::Engine::get_clock();
      run_zero3(stage, c);
      exposed(stage, "dp", label, start);
      return;
    }
    auto& in_flight = prefetch_[stage];
    if (!in_flight) in_flight = start_async(stage, c);  // nothing prefetched: the first layer
    const double start = sg4::Engine::get_clock();
    in_flight->acquire();
    exposed(stage, "dp", label, start);
    in_flight = prefetch_next ? start_async(stage, c) : nullptr;  // the next layer's weights
  }

  // A data-parallel collective's kernels hold SMs while it runs (PlanSpec::collective_sms): for
  // its duration an execution bounded to that share of the GPU runs on the stage's host, so that
  // SimGrid's CPU sharing leaves the compute beside it the rest.
  template <class Run>
  void holding_sms(int stage, const Run& run) const {
    const double share = setup_.gpu[stage].sm_share(p_.collective_sms);
    if (share <= 0) {
      run();
      return;
    }
    // Held by an ExecPtr: start() hands back a plain pointer, and the exec must outlive `run`.
    const sg4::ExecPtr sms = sg4::this_actor::exec_init(std::numeric_limits<double>::max());
    sms->set_bound(share * kHostSpeed)->start();
    run();
    sms->cancel();
  }

  // Runs `gather` on its own actor beside the stage's compute, holding the collective's SMs; the
  // semaphore is released when it is done.
  template <class Gather>
  sg4::SemaphorePtr start_async(int stage, Gather gather) {
    auto done = sg4::Semaphore::create(0);
    sg4::Actor::create("prefetch", platform_.gpu(gpu(0, 0, stage, 0)), [this, stage, gather, done] {
      holding_sms(stage, gather);
      done->release();
    });
    return done;
  }
  sg4::SemaphorePtr start_async(int stage, const Collective& c) {
    return start_async(stage, [this, stage, c] { run_zero3(stage, c); });
  }

  // Megatron-Core's distributed optimizer (zero 1-2) all-gathers the 16-bit weights it updated.
  // With overlap_param_gather the next step's first forward waits for them module by module (a
  // forward pre-hook per module: megatron/core/distributed/distributed_data_parallel.py), so in
  // the periodic step each chunk's first forward waits for its layers' gathers and the step ends
  // at the optimizer. Without it the gather follows the optimizer step, whole (optimizer_step).
  // How the gathers are dispatched follows the schedule (Megatron-LM's align_param_gather, on
  // with the interleaved schedule and off without it, arguments.py): interleaved, every stage
  // dispatches its chunks' gathers at the step's start, all at once (aligned_param_sync); else
  // each wait dispatches the next bucket's, so a stage's gathers start at its first forward and
  // run one layer ahead of it, as ZeRO-3's prefetch does (param_sync).
  bool gathers_in_first_forward() const {
    return p_.zero >= 1 && p_.zero < 3 && p_.overlap_param_gather && data_parallel();
  }
  bool aligned_param_gather() const { return gathers_in_first_forward() && p_.schedule == Schedule::interleaved; }
  // The weights a distributed optimizer gathers: the dense ones over the data-parallel group, the
  // routed experts' over the expert-data-parallel group.
  struct Gathered {
    double dense = 0, experts = 0;
  };
  sg4::SemaphorePtr start_param_sync(int stage, Gathered g) {
    return start_async(stage, [this, stage, g] { run_param_sync(stage, g); });
  }
  double run_param_sync(int stage, const Gathered& g) const {
    const double element = p_.fp8_param_gather ? 1.0 : bytes_per_element(p_.precision);
    const int gpus_per_node = sc_.cluster.topology.gpus_per_node;
    double took =
        run_collective(platform_, dp_collective(stage, CollectiveKind::all_gather, g.dense * element), gpus_per_node);
    if (g.experts > 0 && p_.expert_dp() > 1) {
      const Collective c =
          expert_collective(stage, true, CollectiveKind::all_gather, g.experts * bytes_per_element(p_.precision));
      took += run_collective(platform_, c, gpus_per_node);
    }
    return took;
  }
  // A layer's weights as the distributed optimizer gathers them; the embedding's with the
  // model's first layer, the LM head's with its last.
  Gathered layer_gathered(int stage, int virtual_stage, int l) const {
    const LayerWork& layer = layer_work(stage, virtual_stage, l);
    Gathered g{layer.parameters - layer.expert_parameters, layer.expert_parameters};
    if (virtual_stage == 0 && l == 0) g.dense += setup_.work[stage].extras.embedding_parameters;
    if (virtual_stage == virtual_stages() - 1 && l == chunk_layers(virtual_stage) - 1)
      g.dense += setup_.work[stage].extras.head_parameters;
    return g;
  }
  // Aligned: the stage's gathers, every chunk's layers in forward order, one after another from
  // the step's start; each layer's first forward waits for its own.
  void aligned_param_sync(int stage) {
    auto& done = aligned_gathers_[stage];
    std::vector<std::pair<int, int>> order;  // (virtual stage, layer)
    for (int c = 0; c < p_.virtual_stages; ++c) {
      const int vs = c * p_.pp + stage;
      for (int l = 0; l < chunk_layers(vs); ++l) {
        order.emplace_back(vs, l);
        done[{vs, l}] = sg4::Semaphore::create(0);
      }
    }
    syncing_[stage] = true;
    sg4::Actor::create("param-sync", platform_.gpu(gpu(0, 0, stage, 0)), [this, stage, order] {
      holding_sms(stage, [&] {
        for (const auto& [vs, l] : order) {
          run_param_sync(stage, layer_gathered(stage, vs, l));
          aligned_gathers_[stage][{vs, l}]->release();
        }
      });
      syncing_[stage] = false;
    });
  }
  void wait_aligned(int stage, int virtual_stage, int l) {
    flush(stage);
    const double start = sg4::Engine::get_clock();
    aligned_gathers_[stage][{virtual_stage, l}]->acquire();
    exposed(stage, "dp", "parameter all-gather", start);
  }
  // Waits for `now`'s weights (gathered here if nothing dispatched them), then dispatches `next`'s.
  void param_sync(int stage, Gathered now, std::optional<Gathered> next) {
    flush(stage);
    auto& in_flight = prefetch_[stage];
    if (!in_flight) in_flight = start_param_sync(stage, now);
    const double start = sg4::Engine::get_clock();
    in_flight->acquire();
    exposed(stage, "dp", "parameter all-gather", start);
    in_flight = next ? start_param_sync(stage, *next) : nullptr;
  }

  void receive(int stage, sg4::Mailbox* mailbox, const char* what) {
    flush(stage);
    const double start = sg4::Engine::get_clock();
    mailbox->get<int>();
    const double waited = sg4::Engine::get_clock() - start;
    // The transfer itself is pipeline communication; the rest of the wait is bubble.
    const double transfer = std::min(waited, pp_transfer_time_);
    stages_[stage].breakdown.exposed_comm["pp"] += transfer;
    stages_[stage].breakdown.bubble += waited - transfer;
    if (waited > 0 && trace_enabled_) record(stage, "pp", std::string("wait ") + what, start);
  }

  void send(int stage, int to_stage, sg4::Mailbox* mailbox) {
    flush(stage);
    static int token = 0;
    auto& pending = pending_[stage];
    // Sends that have arrived are waited for, not tested: SimGrid 3.32 drops a comm from its
    // sender's list of live activities only when the sender waits on it (CommImpl::finish), and
    // scans that list at each of the sender's completions, so tested sends made each exec and
    // receive of a stage cost more as its step went on (a quarter of a 96-micro-batch run).
    // Waiting on a comm that has finished returns at once.
    while (!pending.empty() && pending.front()->get_finish_time() >= 0) {
      pending.front()->wait();
      pending.pop_front();
    }
    const sg4::CommPtr first = mailbox->put_init(&token, static_cast<std::uint64_t>(w_.comm.pp_bytes));
    // The other TP ranks send their slices at the same time, to their peers. Where rails never
    // contend, each TP group fills its node (the sends leave it, never meeting another group's
    // NVLink traffic) and the TP ranks' other traffic is alike (no expert all-to-all or context
    // ring spans them), each goes its own way as the first does: the first rank's send stands
    // for them (the stage waits for it at the end as for theirs) and their links' energy is added.
    const bool alike = p_.cp < 2 && !(sc_.model.moe() && p_.ep > 1);
    if (mirror_dp_ && tp_fills_node_ && alike && p_.tp > 1) {
      pending.push_back(first->start());
      platform_.add_mirrored_flow(gpu(0, 0, stage, 0), gpu(0, 0, to_stage, 0),
                                  (p_.tp - 1) * std::ceil(w_.comm.pp_bytes));
      return;
    }
    first->detach();
    for (int t = 1; t < p_.tp; ++t) {
      pending.push_back(sg4::Comm::sendto_async(platform_.gpu(gpu(t, 0, stage, 0)),
                                                platform_.gpu(gpu(t, 0, to_stage, 0)),
                                                static_cast<std::uint64_t>(w_.comm.pp_bytes)));
    }
  }

  // One mailbox per virtual stage and direction: its sender posts the micro-batches in the order
  // its receiver asks for them (both follow the schedule's micro-batch order within a chunk), so
  // SimGrid's first-come matching pairs each with its own. Looked up once.
  enum class Flow { activation, gradient };
  sg4::Mailbox* box(Flow flow, int virtual_stage) {
    auto& boxes = boxes_[static_cast<int>(flow)];
    if (boxes.empty()) boxes.assign(virtual_stages(), nullptr);
    sg4::Mailbox*& box = boxes.at(virtual_stage);
    if (box == nullptr) {
      box = sg4::Mailbox::by_name((flow == Flow::activation ? "act" : "grad") + std::to_string(virtual_stage));
    }
    return box;
  }

  void forward(int s, const PipelineTask& task) {
    const int vs = task.chunk * p_.pp + s;
    const bool parallel_blocks = sc_.model.parallel_blocks;
    const std::string mb = trace_enabled_ ? " mb" + std::to_string(task.micro_batch) : std::string();
    if (vs > 0) receive(s, box(Flow::activation, vs), "activation");
    if (vs == 0) compute(s, setup_.work[s].extras.embedding_forward, "embedding" + mb);
    // A stage that keeps its weights gathers each chunk's once, at its first micro-batch.
    const bool keep = p_.fsdp_keeps_stage();
    const bool gather = !keep || gathered_chunks_.insert({s, task.chunk}).second;
    const bool last_chunk_gathered = keep && task.chunk == p_.virtual_stages - 1;
    const bool sync = gathers_in_first_forward() && param_synced_chunks_.insert({s, task.chunk}).second;
    for (int l = 0; l < chunk_layers(vs); ++l) {
      const LayerWork& layer = layer_work(s, vs, l);
      const bool moe = !dense_layer(vs, l);
      if (sync && aligned_param_gather()) {
        wait_aligned(s, vs, l);
      } else if (sync) {
        const bool more = l + 1 < chunk_layers(vs);
        param_sync(s, layer_gathered(s, vs, l), more ? std::optional(layer_gathered(s, vs, l + 1)) : std::nullopt);
      }
      if (gather) zero3_gather(s, "gather layer", !(last_chunk_gathered && l == chunk_layers(vs) - 1));
      attention(s, layer.attention_forward, "attention" + mb, 1);
      attention_exchange(s, "attention", layer.attention_forward, parallel_blocks);
      if (moe) ep_exchange(s, "dispatch");
      compute(s, layer.mlp_forward, "mlp" + mb);
      if (moe) ep_exchange(s, "combine");
      tp_exchange(s, "mlp", layer.mlp_forward, TpPass::forward);
      if (layer_offloaded(vs, l))
        host_copy_wait(s, offload_stall_forward(layer, slowdown_[s]), "activation offload" + mb);
    }
    if (vs == virtual_stages() - 1) {
      compute(s, setup_.work[s].extras.head_forward, "lm head + loss" + mb);
    } else {
      send(s, (vs + 1) % p_.pp, box(Flow::activation, vs + 1));
    }
  }

  // A backward block as the pass runs it: whole, or under zero bubble its input gradients (the
  // weight gradients wait for weight_gradients()). Split once per block.
  const Block& backward_part(const Block& block, bool weights) {
    if (!p_.splits_backward()) return block;
    auto it = split_blocks_.find(&block);
    if (it == split_blocks_.end()) {
      it = split_blocks_.emplace(&block, std::pair{block.input_gradients(), block.weight_gradients()}).first;
    }
    return weights ? it->second.second : it->second.first;
  }

  // Whether a chunk's gradients leave for the data-parallel reduction as its backward (or, under
  // zero bubble, its weight pass) finishes: Megatron (ZeRO 0-2) accumulates them locally and
  // reduces them once, after the last micro-batch; ZeRO-3 / FSDP keeps only a shard, so it
  // reduce-scatters every micro-batch, unless the stage keeps its weights and gradients whole
  // for the step (fsdp_keeps_stage).
  bool reduces_now(bool last_of_chunk) const {
    return data_parallel() && (last_of_chunk || (p_.zero >= 3 && !p_.fsdp_keeps_stage()));
  }

  // One layer's gradients are complete: under ZeRO-3, or once a bucket's worth is, they leave.
  void layer_gradients_done(int s, bool moe, double& ready_bytes, double& ready_expert_bytes) {
    const LayerWork& params = moe ? w_.layer : w_.dense_layer;
    ready_bytes += (params.parameters - params.expert_parameters) * gradient_bytes_per_element();
    ready_expert_bytes += params.expert_parameters * gradient_bytes_per_element();
    if (p_.zero >= 3 || (p_.overlap_grad_reduce && ready_bytes + ready_expert_bytes >= p_.bucket_bytes)) {
      push_bucket(s, ready_bytes, ready_expert_bytes);
      ready_bytes = ready_expert_bytes = 0;
    }
  }

  // A chunk's gradients are complete: the embedding's or head's, and what no bucket took, leave.
  void chunk_gradients_done(int s, int vs, double ready_bytes, double ready_expert_bytes) {
    if (vs == 0) ready_bytes += w_.extras.embedding_parameters * gradient_bytes_per_element();
    if (vs == virtual_stages() - 1) ready_bytes += w_.extras.head_parameters * gradient_bytes_per_element();
    if (ready_bytes + ready_expert_bytes <= 0) return;
    // Without overlap (Megatron-LM's local DDP, Megatron-Core's finalize_model_grads) every
    // chunk's gradients are reduced once the whole pipeline schedule has run, not as the chunk
    // finishes its last backward while others still compute.
    if (p_.overlap_grad_reduce || p_.zero >= 3) {
      push_bucket(s, ready_bytes, ready_expert_bytes);
    } else {
      stages_[s].held.push_back({ready_bytes, ready_expert_bytes});
    }
  }

  void backward(int s, const PipelineTask& task, bool last_of_chunk) {
    const int vs = task.chunk * p_.pp + s;
    const bool parallel_blocks = sc_.model.parallel_blocks;
    const std::string mb = trace_enabled_ ? " mb" + std::to_string(task.micro_batch) : std::string();
    if (vs < virtual_stages() - 1)
      receive(s, box(Flow::gradient, vs), "gradient");
    else
      compute(s, setup_.work[s].extras.head_backward, "lm head backward" + mb);
    const bool reduce_now = !p_.splits_backward() && reduces_now(last_of_chunk);
    double ready_bytes = 0, ready_expert_bytes = 0;
    for (int l = 0; l < chunk_layers(vs); ++l) {
      const LayerWork& layer = layer_work(s, vs, l);
      const bool moe = !dense_layer(vs, l);
      if (!p_.fsdp_keeps_for_backward()) zero3_gather(s, "gather layer");
      if (p_.recompute == Recompute::full) {
        if (p_.layer_recomputed(first_layer(vs) + l)) {  // else it kept its activations
          attention(s, layer.attention_forward, "recompute attention" + mb, 1);
          attention_exchange(s, "recompute attention", layer.attention_forward, parallel_blocks);
          compute(s, layer.mlp_forward, "recompute mlp" + mb);
          tp_exchange(s, "recompute mlp", layer.mlp_forward, TpPass::forward);
          if (p_.zero3_refetches_for_recompute()) zero3_gather(s, "gather layer");
        }
      } else if (p_.recompute == Recompute::qkv) {  // the layer but its QKV projections
        compute(s, layer.recompute, "recompute layer" + mb);
        attention_exchange(s, "recompute attention", layer.attention_forward, parallel_blocks);
        tp_exchange(s, "recompute mlp", layer.mlp_forward, TpPass::forward);
      } else if (p_.recompute != Recompute::none) {  // selective or op: the layer's recompute block
        compute(s, layer.recompute, "recompute attention core" + mb);
        if (p_.recompute_regathers_inputs()) {
          tp_exchange(s, "recompute attention", layer.recompute, TpPass::regather);
          tp_exchange(s, "recompute mlp", layer.recompute, TpPass::regather);
        }
      }
      if (layer_offloaded(vs, l))
        host_copy_wait(s, offload_stall_backward(layer, slowdown_[s]), "activation reload" + mb);
      const Block& mlp_backward = backward_part(layer.mlp_backward, false);
      const Block& attention_backward = backward_part(layer.attention_backward, false);
      tp_exchange(s, "mlp backward", mlp_backward, TpPass::backward);
      if (moe) ep_exchange(s, "combine backward");
      compute(s, mlp_backward, "mlp backward" + mb);
      if (moe) ep_exchange(s, "dispatch backward");
      tp_exchange(s, "attention backward", attention_backward, parallel_blocks ? TpPass::reduce : TpPass::backward);
      attention(s, attention_backward, "attention backward" + mb, 2);
      if (reduce_now) layer_gradients_done(s, moe, ready_bytes, ready_expert_bytes);
    }
    if (vs == 0) compute(s, setup_.work[s].extras.embedding_backward, "embedding backward" + mb);
    if (reduce_now) chunk_gradients_done(s, vs, ready_bytes, ready_expert_bytes);
    if (vs > 0) send(s, (vs - 1 + p_.pp) % p_.pp, box(Flow::gradient, vs - 1));
  }

  // Zero bubble's deferred pass: the weight gradients of a backward that has run (its layers in
  // the backward's order), after which they are complete and may leave.
  void weight_gradients(int s, const PipelineTask& task, bool last_of_chunk) {
    const int vs = task.chunk * p_.pp + s;
    const std::string mb = trace_enabled_ ? " mb" + std::to_string(task.micro_batch) : std::string();
    const bool reduce_now = reduces_now(last_of_chunk);
    double ready_bytes = 0, ready_expert_bytes = 0;
    for (int l = 0; l < chunk_layers(vs); ++l) {
      const LayerWork& layer = layer_work(s, vs, l);
      compute(s, backward_part(layer.mlp_backward, true), "mlp weight gradients" + mb);
      compute(s, backward_part(layer.attention_backward, true), "attention weight gradients" + mb);
      if (reduce_now) layer_gradients_done(s, !dense_layer(vs, l), ready_bytes, ready_expert_bytes);
    }
    if (reduce_now) chunk_gradients_done(s, vs, ready_bytes, ready_expert_bytes);
  }

  void push_bucket(int s, double bytes, double expert_bytes = 0) {
    flush(s);
    StageState& st = stages_[s];
    const sg4::MutexPtr mutex = st.mutex;
    std::unique_lock lock(*mutex);
    st.buckets.push_back({bytes, expert_bytes});
    ++st.buckets_sent;
    st.changed->notify_all();
  }

  void run_stage(int s) {
    const auto tasks = stage_schedule(p_.schedule, p_.pp, s, micro_batches_, p_.virtual_stages, p_.splits_backward());
    if (aligned_param_gather()) aligned_param_sync(s);
    const auto boundaries = period_boundaries(s);
    // Where a shortened run's stage leaves the steady state (StageState::steady_end): its
    // cool-down, or a chunk's last backward, whichever comes first.
    const std::size_t cool_down = boundaries.empty() ? tasks.size() : [&] {
      const auto steady = steady_state(p_.schedule, p_.pp, s, micro_batches_, p_.virtual_stages, p_.splits_backward());
      return steady->pair_task(steady->pairs);
    }();
    std::vector<int> backwards_done(p_.virtual_stages, 0), weights_done(p_.virtual_stages, 0);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      const auto& task = tasks[i];
      if (std::find(boundaries.begin(), boundaries.end(), i) != boundaries.end()) snapshot(s);
      const bool last = !task.forward && !task.weight && backwards_done[task.chunk] + 1 == micro_batches_;
      if (!boundaries.empty() && stages_[s].steady_end < 0 && (i >= cool_down || last)) {
        flush(s);
        stages_[s].steady_end = sg4::Engine::get_clock();
      }
      if (task.forward) {
        forward(s, task);
      } else if (task.weight) {
        weight_gradients(s, task, ++weights_done[task.chunk] == micro_batches_);
      } else {
        ++backwards_done[task.chunk];
        backward(s, task, last);
      }
    }
    flush(s);
    for (auto& comm : pending_[s]) comm->wait();
    if (auto it = prefetch_.find(s); it != prefetch_.end() && it->second) it->second->acquire();  // last prefetch
    StageState& st = stages_[s];
    if (data_parallel()) {
      // Without overlap the buckets only leave now; either way the optimizer waits for them.
      for (const Bucket& b : st.held) push_bucket(s, b.bytes, b.expert_bytes);
      st.held.clear();
      const double start = sg4::Engine::get_clock();
      {
        std::unique_lock lock(*st.mutex);
        st.buckets.push_back({-1});
        st.changed->notify_all();
        while (st.buckets_done < st.buckets_sent) st.changed->wait(lock);
      }
      const double waited = sg4::Engine::get_clock() - start;
      st.breakdown.exposed_comm["dp"] += waited;
      if (waited > 0) record(s, "dp", "wait for gradient buckets", start);
    }
    optimizer_step(s);
    st.finish = sg4::Engine::get_clock();
  }

  void run_dp_stream(int s) {
    StageState& st = stages_[s];
    const int gpus_per_node = sc_.cluster.topology.gpus_per_node;
    for (;;) {
      Bucket bucket{};
      {
        std::unique_lock lock(*st.mutex);
        while (st.buckets.empty()) st.changed->wait(lock);
        bucket = st.buckets.front();
        st.buckets.pop_front();
      }
      if (bucket.bytes < 0) return;
      if (p_.gradient_compression != 1) {
        // Compressing and decompressing: a read and a write of the gradients on the GPU.
        sg4::this_actor::sleep_for(2 * (bucket.bytes + bucket.expert_bytes) / setup_.work[s].memory_bandwidth);
      }
      // Dense gradients over the data-parallel ranks; the routed experts' over the expert-data-
      // parallel ranks (none when every expert shard is held once: edp 1).
      for (const bool experts : {false, true}) {
        const double bytes = experts ? bucket.expert_bytes : bucket.bytes;
        if (bytes <= 0 || (experts && p_.expert_dp() < 2)) continue;
        const CollectiveKind kind = p_.zero >= 1 ? CollectiveKind::reduce_scatter : CollectiveKind::all_reduce;
        const double sent = bytes / p_.gradient_compression;
        Collective c = experts ? expert_collective(s, true, kind, sent) : dp_collective(s, kind, sent);
        c.algorithm = p_.dp_algorithm;
        const double start = sg4::Engine::get_clock();
        holding_sms(s, [&] {
          if (p_.zero >= 3)
            run_zero3(s, c);
          else
            run_collective(platform_, c, gpus_per_node);
        });
        if (trace_enabled_)
          trace_.push_back({gpu(0, 0, s, 0), "dp",
                            std::string(experts ? "expert gradient " : "gradient ") + collective_name(c.kind), start,
                            sg4::Engine::get_clock()});
        if (!experts && p_.zero >= 1 && p_.shard_replicas() > 1) {
          // Hybrid sharding: each rank's reduced shard is then averaged with its replicas'.
          Collective across =
              dp_collective(s, CollectiveKind::all_reduce, c.bytes / p_.zero_shard(), /*across_replicas=*/true);
          across.algorithm = p_.dp_algorithm;
          const double across_start = sg4::Engine::get_clock();
          holding_sms(s, [&] { run_collective(platform_, across, gpus_per_node); });
          if (trace_enabled_)
            trace_.push_back({gpu(0, 0, s, 0), "dp", "gradient all-reduce across shard replicas", across_start,
                              sg4::Engine::get_clock()});
        }
      }
      std::unique_lock lock(*st.mutex);
      ++st.buckets_done;
      st.changed->notify_all();
    }
  }

  void optimizer_step(int s) {
    StageState& st = stages_[s];
    const double start = sg4::Engine::get_clock();
    const int moe_layers = layers_[s] - dense_layers_[s];
    double params = moe_layers * w_.layer.parameters + dense_layers_[s] * w_.dense_layer.parameters;
    if (s == 0) params += w_.extras.embedding_parameters;
    if (s == p_.pp - 1) params += w_.extras.head_parameters;
    // Routed experts' optimizer state is sharded over expert data parallelism only.
    const double expert_params = moe_layers * w_.layer.expert_parameters;
    const double shard = p_.zero >= 1 ? double(p_.zero_shard()) : 1.0;
    const double expert_shard = p_.zero >= 1 ? double(p_.expert_dp()) : 1.0;
    const double t =
        optimizer_time(setup_.work[s], p_, (params - expert_params) / shard + expert_params / expert_shard) +
        setup_.gpu[s].kernel_overhead_s;
    sg4::this_actor::execute(t * kHostSpeed);
    st.breakdown.optimizer += t;
    record(s, "optimizer", "optimizer step", start);
    if (p_.zero >= 1 && p_.zero < 3 && data_parallel() && !gathers_in_first_forward()) {
      // The distributed optimizer gathers the updated 16-bit weights, all before the next step.
      const double gather_start = sg4::Engine::get_clock();
      st.breakdown.exposed_comm["dp"] += run_param_sync(s, {params - expert_params, expert_params});
      record(s, "dp", "parameter all-gather", gather_start);
    }
  }

 public:
  double pp_transfer_time_ = 0;

 private:
  const Scenario& sc_;
  const PlanSpec& p_;
  const StageSetup& setup_;
  const Workload& w_;            // communication volumes and parameter counts: the same on every GPU kind
  const int zero3_collectives_;  // per layer gather or reduce-scatter (PlanSpec::zero3_unit)
  const Platform& platform_;
  bool trace_enabled_;
  bool skip_data_parallel_;
  bool shortcuts_;      // alike collectives priced once simulated (not exhaustive, no link loads)
  bool mirror_dp_;      // dp_collective
  bool one_gpu_kind_;   // every node of the job holds the same GPU
  bool tree_fabric_;    // a fat tree or rail-optimized: leaves, and uplinks to a spine
  bool tp_fills_node_;  // each TP group is one whole node (tp_group_fills_a_node)
  bool defer_;          // compute and priced waits run as one execution per stretch (flush)
  std::vector<StageState> stages_;
  std::vector<double> slowdown_;
  std::vector<int> layers_;           // per stage
  std::vector<int> chunk_layers_;     // per virtual stage
  std::vector<int> first_layers_;     // per virtual stage: the model index of its first layer
  std::vector<int> dense_layers_;     // per stage: a MoE model's dense layers
  int micro_batches_ = 0;             // simulated, per replica
  std::int64_t skipped_periods_ = 0;  // steady periods priced by extension
  std::vector<TraceEvent> trace_;
  std::map<int, std::deque<sg4::CommPtr>> pending_;  // per stage: sibling pipeline sends in flight
  std::map<int, sg4::SemaphorePtr> prefetch_;
  std::set<std::pair<int, int>> gathered_chunks_;                 // (stage, chunk) whose weights a kept stage holds
  std::map<const Block*, std::pair<Block, Block>> split_blocks_;  // zero bubble: input, weight gradients
  std::set<std::pair<int, int>> param_synced_chunks_;  // (stage, chunk) whose first forward gathered its weights
  // Aligned parameter gathers: per stage, one semaphore per (virtual stage, layer), released when
  // that layer's weights have arrived; and whether the stage's gathers are still running.
  std::map<int, std::map<std::pair<int, int>, sg4::SemaphorePtr>> aligned_gathers_;
  std::map<int, bool> syncing_;
  std::array<std::vector<sg4::Mailbox*>, 2> boxes_;                          // per Flow and virtual stage (box)
  using RepeatKey = std::tuple<int, std::string, std::string, std::string>;  // stage, kind, label, variant
  std::map<RepeatKey, std::pair<int, double>, std::less<>> repeat_times_;    // count, seconds (repeated)
  std::map<int, int> ep_repeats_;
  std::map<std::pair<int, int>, std::pair<int, double>> cp_ring_times_;  // (stage, passes): count, seconds
  // Per stage and ReplicatedGroups: the groups a replicated collective runs and its mirrors.
  mutable std::map<std::pair<int, int>, Collective>
      replicated_;  // per stage: simulated all-to-alls of a kind (ep_simulated_repeats)
};

// A SimGrid engine with its logging quieted and the pinned model settings. Only one may exist
// in a process: callers run inside run_isolated's child.
std::unique_ptr<sg4::Engine> quiet_engine() {
  static int argc = 2;
  static char arg0[] = "trainsim";
  static char arg1[] = "--log=root.thres:critical";
  static char* argv[] = {arg0, arg1, nullptr};
  auto engine = std::make_unique<sg4::Engine>(&argc, argv);
  configure_simgrid(*engine);
  return engine;
}

nlohmann::json to_json(const StepResult& r) {
  nlohmann::json trace = nlohmann::json::array();
  for (const auto& e : r.trace) trace.push_back({e.gpu, e.stream, e.name, e.start, e.end});
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& b : r.stage_breakdowns) stages.push_back({b.compute, b.bubble, b.optimizer, b.exposed_comm});
  return {{"step_time", r.step_time},
          {"stages", stages},
          {"critical_stage", r.critical_stage},
          {"compute", r.breakdown.compute},
          {"bubble", r.breakdown.bubble},
          {"optimizer", r.breakdown.optimizer},
          {"exposed", r.breakdown.exposed_comm},
          {"stage_finish", r.stage_finish},
          {"flops", r.hardware_flops_per_gpu},
          {"bound_by", r.bound_by},
          {"gpu_energy_j", r.gpu_energy_j},
          {"network_energy_j", r.network_energy_j},
          {"links", r.link_utilisation},
          {"simulated_micro_batches", r.simulated_micro_batches},
          {"extended", r.extended},
          {"not_periodic", r.not_periodic},
          {"measured_periods", r.measured_periods},
          {"trace", trace}};
}

StepResult from_json(const nlohmann::json& j) {
  StepResult r;
  r.step_time = j.at("step_time");
  r.critical_stage = j.at("critical_stage");
  r.breakdown.compute = j.at("compute");
  r.breakdown.bubble = j.at("bubble");
  r.breakdown.optimizer = j.at("optimizer");
  r.breakdown.exposed_comm = j.at("exposed").get<std::map<std::string, double>>();
  r.stage_finish = j.at("stage_finish").get<std::vector<double>>();
  for (const auto& b : j.at("stages")) {
    r.stage_breakdowns.push_back({b[0], b[1], b[2], b[3].get<std::map<std::string, double>>()});
  }
  r.hardware_flops_per_gpu = j.at("flops");
  r.bound_by = j.at("bound_by");
  r.gpu_energy_j = j.at("gpu_energy_j");
  r.network_energy_j = j.at("network_energy_j");
  r.link_utilisation = j.at("links").get<std::map<std::string, double>>();
  r.simulated_micro_batches = j.at("simulated_micro_batches");
  r.extended = j.at("extended");
  r.not_periodic = j.at("not_periodic");
  r.measured_periods = j.at("measured_periods");
  for (const auto& e : j.at("trace")) r.trace.push_back({e[0], e[1], e[2], e[3], e[4]});
  return r;
}

// Whole steady periods a shortened run first shows stage 0 (the stage with the longest warm-up):
// the last two before any stage leaves the steady state are compared (last_period), so two
// suffice where they already repeat. Where they do not (a first period still settling from the
// warm-up), the run is tried again with four times as many, then in full (simulate_step).
constexpr int kMeasuredPeriods = 2;
// Layers split unevenly over the chunks make stages of different speed whose slack in the
// schedule drains over many periods before they settle on the slowest one's pace (qwen3-235b's
// 94 layers in 32 chunks: not settled after four periods). Such a step is first tried with this
// many periods: a step of millions of micro-batches (a global batch written in tokens) stays
// bounded where its periods repeat.
constexpr int kUnevenMeasuredPeriods = 16;
// Each retry shows this many times the periods of the try before it; one retry before the whole.
constexpr int kMorePeriods = 4;

bool even_chunks(const StageSetup& setup) {
  const auto& chunks = setup.chunk_layers;
  return std::adjacent_find(chunks.begin(), chunks.end(), std::not_equal_to<>()) == chunks.end();
}

// The steady periods a shortened run shows stage 0; 0: the step is simulated whole.
int measured_periods(const PlanSpec& plan, const StageSetup& setup, const SimulationOptions& options) {
  if (!options.periodic || options.record_link_load) return 0;
  // Zero-bubble 1F1B (periods of one micro-batch): the stages before the slowest one start with
  // a lead, the weight passes they deferred, which drains over tens of micro-batches.
  const bool slow_to_settle = !even_chunks(setup) || (plan.splits_backward() && plan.schedule != Schedule::interleaved);
  return options.measured_periods > 0 ? options.measured_periods
         : slow_to_settle             ? kUnevenMeasuredPeriods
                                      : kMeasuredPeriods;
}

// Micro-batches per replica to simulate: all of them, or enough for `periods` (periodic extension).
int simulated_micro_batches(const Scenario& sc, int periods) {
  const auto& p = sc.plan;
  const auto all = static_cast<int>(std::min<std::int64_t>(p.micro_batches(), std::numeric_limits<int>::max()));
  return periods > 0 ? periodic_micro_batches(p.schedule, p.pp, all, p.virtual_stages, periods, p.splits_backward())
                     : all;
}

// A first shortened run whose periods did not repeat: worth one more try with kMorePeriods times
// as many before the whole step.
bool settles_with_more_periods(const StepResult& r) {
  return r.not_periodic && (r.measured_periods == kMeasuredPeriods || r.measured_periods == kUnevenMeasuredPeriods);
}
SimulationOptions with_more_periods(SimulationOptions options, const StepResult& first) {
  options.measured_periods = kMorePeriods * first.measured_periods;
  return options;
}

StepResult run_in_this_process(const Scenario& sc, const SimulationOptions& options) {
  // This runs in a child process that exits once its result is written (run_isolated): the
  // engine, its platform and their memory go with the process, not through SimGrid's teardown
  // (a sixth of a 16,128-GPU run, measured with perf).
  struct LetGoAtExit {
    std::unique_ptr<sg4::Engine> engine;
    ~LetGoAtExit() { static_cast<void>(engine.release()); }
  } const holder{quiet_engine()};
  sg4::Engine& engine = *holder.engine;
  sg_host_energy_plugin_init();
  sg_link_energy_plugin_init();
  if (options.record_link_load) sg_link_load_plugin_init();
  const auto& topology = sc.cluster.topology;
  const int nodes = (sc.cluster.gpus + topology.gpus_per_node - 1) / topology.gpus_per_node;
  const ClusterGraph graph = build_cluster_graph(topology, nodes);
  const Platform platform(engine, graph);
  const StageSetup setup = setup_stages(sc, options.profile.value_or(CalibrationProfile{}));
  const Workload& work = setup.work.front();
  const int periods = measured_periods(sc.plan, setup, options);
  StepSimulation simulation(sc, setup, platform, options, simulated_micro_batches(sc, periods));
  if (sc.plan.pp > 1) {
    const int a = gpu_of(sc.plan, 0, 0, 0, 0);
    const int b = gpu_of(sc.plan, 0, 0, 1, 0);
    simulation.pp_transfer_time_ = work.comm.pp_bytes / platform.bandwidth(a, b) + platform.latency(a, b);
  }
  if (options.record_link_load) {
    for (const auto* link : engine.get_all_links()) sg_link_load_track(link);
  }
  simulation.start();
  engine.run();
  StepResult result = simulation.result();
  result.measured_periods = periods;
  if (result.not_periodic) return result;
  result.network_energy_j = simulation.network_energy() + simulation.skipped_network_energy();
  if (options.record_link_load && result.step_time > 0) {
    for (const auto* link : engine.get_all_links()) {
      const double bytes = sg_link_get_cum_load(link);
      if (bytes <= 0) continue;
      std::string name = link->get_name();
      for (const char* suffix : {"_UP", "_DOWN"}) {
        if (name.size() > std::strlen(suffix) && name.ends_with(suffix)) name.resize(name.size() - std::strlen(suffix));
      }
      double& u = result.link_utilisation[name];
      u = std::max(u, bytes / (link->get_bandwidth() * result.step_time));
    }
  }
  return result;
}

// GPipe runs every forward, then every backward: two pipelines without feedback. A path through
// the stages-by-micro-batches grid crosses each stage once and spends its other steps at one
// stage, so each micro-batch adds the slowest stage's forward and the slowest later stage's
// backward to a stage's finish (max-plus algebra): a step is affine in its micro-batches. Three
// short runs give the slope, over their two strides: the simulation itself jitters by about 1e-4
// of a stride's time from one run to the next (contention met at slightly different moments),
// which the extrapolation does not multiply. Where the two strides' slopes differ by more than
// 1e-3 (contention bending the line) the step is simulated in full.
constexpr int kGpipeProbe = 8;
constexpr int kGpipeStride = 4;

// Worth it where the probes (36 micro-batches in all) simulate fewer than the step.
bool gpipe_extrapolates(const Scenario& sc, const SimulationOptions& options) {
  return sc.plan.schedule == Schedule::gpipe && options.periodic && !options.record_link_load &&
         sc.plan.micro_batches() > 3 * (kGpipeProbe + kGpipeStride);
}

// The step of `micro_batches` from probes at kGpipeProbe + 0, 1, 2 strides; none when not straight.
std::optional<StepResult> extrapolate_gpipe(const std::vector<StepResult>& probe, std::int64_t micro_batches) {
  const StepResult &a = probe[0], &b = probe[1], &c = probe[2];
  const double strides = double(micro_batches - (kGpipeProbe + 2 * kGpipeStride)) / kGpipeStride;
  const auto line = [&](double x, double, double z) { return z + strides * (z - x) / 2; };
  const double step = line(a.step_time, b.step_time, c.step_time);
  const auto straight = [&](double x, double y, double z) {
    return std::abs((z - y) - (y - x)) <= 1e-3 * std::abs(z - x) / 2;
  };
  if (a.critical_stage != c.critical_stage || b.critical_stage != c.critical_stage) return std::nullopt;
  if (!straight(a.step_time, b.step_time, c.step_time)) return std::nullopt;
  StepResult r = c;
  r.step_time = step;
  for (std::size_t s = 0; s < r.stage_finish.size(); ++s) {
    if (!straight(a.stage_finish[s], b.stage_finish[s], c.stage_finish[s])) return std::nullopt;
    r.stage_finish[s] = line(a.stage_finish[s], b.stage_finish[s], c.stage_finish[s]);
  }
  // Another stage overtaking the probes' critical one: its breakdown would be the wrong stage's.
  for (const double finish : r.stage_finish) {
    if (finish > r.stage_finish[r.critical_stage] * (1 + 1e-6)) return std::nullopt;
  }
  const auto extrapolated = [&](const StepBreakdown& x, const StepBreakdown& y, const StepBreakdown& z) {
    StepBreakdown out;
    out.compute = line(x.compute, y.compute, z.compute);
    out.bubble = line(x.bubble, y.bubble, z.bubble);
    out.optimizer = line(x.optimizer, y.optimizer, z.optimizer);
    const auto exposed = [](const StepBreakdown& from, const std::string& kind) {
      const auto it = from.exposed_comm.find(kind);
      return it == from.exposed_comm.end() ? 0.0 : it->second;
    };
    for (const auto& [kind, seconds] : z.exposed_comm)
      out.exposed_comm[kind] = line(exposed(x, kind), exposed(y, kind), seconds);
    return out;
  };
  r.breakdown = extrapolated(a.breakdown, b.breakdown, c.breakdown);
  if (a.stage_breakdowns.size() == c.stage_breakdowns.size() &&
      b.stage_breakdowns.size() == c.stage_breakdowns.size()) {
    for (std::size_t s = 0; s < c.stage_breakdowns.size(); ++s)
      r.stage_breakdowns[s] = extrapolated(a.stage_breakdowns[s], b.stage_breakdowns[s], c.stage_breakdowns[s]);
  } else {
    r.stage_breakdowns.clear();
  }
  r.hardware_flops_per_gpu = line(a.hardware_flops_per_gpu, b.hardware_flops_per_gpu, c.hardware_flops_per_gpu);
  r.gpu_energy_j = line(a.gpu_energy_j, b.gpu_energy_j, c.gpu_energy_j);
  r.network_energy_j = line(a.network_energy_j, b.network_energy_j, c.network_energy_j);
  r.bound_by = largest_part(r.breakdown);
  r.extended = true;
  return r;
}

// The probes of extrapolate_gpipe: the same plan with kGpipeProbe + i strides of micro-batches.
// The step's once-per-step costs (cached FP8 weight casts) stay spread over its micro-batches.
Scenario gpipe_probe(const Scenario& sc, int i) {
  Scenario shorter = sc;
  shorter.plan.whole_step_micro_batches = sc.plan.step_micro_batches();
  shorter.plan.global_batch = std::int64_t(kGpipeProbe + i * kGpipeStride) * sc.plan.micro_batch * sc.plan.dp;
  return shorter;
}

std::vector<StepResult> gpipe_probes(const Scenario& sc, const SimulationOptions& options) {
  std::vector<StepResult> probes;
  for (int i = 0; i < 3; ++i) {
    const Scenario shorter = gpipe_probe(sc, i);
    probes.push_back(from_json(run_isolated([&] { return to_json(run_in_this_process(shorter, options)); })));
  }
  return probes;
}

}  // namespace

StepResult simulate_step(const Scenario& sc, const SimulationOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const auto run = [&](const Scenario& s, const SimulationOptions& o) {
    return from_json(run_isolated([&] { return to_json(run_in_this_process(s, o)); }));
  };
  // The steady state extended (or GPipe extrapolated); else, where that could not be proven, in full.
  std::optional<StepResult> quick;
  if (gpipe_extrapolates(sc, options)) {
    quick = extrapolate_gpipe(gpipe_probes(sc, options), sc.plan.micro_batches());
  } else if (StepResult r = run(sc, options); !r.not_periodic) {
    quick = r;
  } else if (settles_with_more_periods(r)) {
    if (StepResult again = run(sc, with_more_periods(options, r)); !again.not_periodic) quick = again;
  }
  StepResult r;
  if (quick) {
    r = *quick;
  } else {
    SimulationOptions full = options;
    full.periodic = false;
    r = run(sc, full);
    r.not_periodic = true;
  }
  r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

std::vector<std::optional<StepResult>> simulate_steps(const std::vector<Scenario>& scenarios, int parallel,
                                                      const std::function<bool()>& stop,
                                                      const std::function<void(std::size_t)>& on_done) {
  // One work item per scenario, or three for a long GPipe step (its probes, extrapolate_gpipe).
  std::vector<Scenario> probes;
  probes.reserve(3 * scenarios.size());
  std::vector<std::function<nlohmann::json()>> work;
  std::vector<std::size_t> owner;                            // the scenario of each work item
  const auto add = [&](const Scenario& sc, std::size_t i) {  // `sc` outlives the batch (probes reserved)
    work.push_back([&sc] { return to_json(run_in_this_process(sc, SimulationOptions{})); });
    owner.push_back(i);
  };
  for (std::size_t i = 0; i < scenarios.size(); ++i) {
    if (gpipe_extrapolates(scenarios[i], SimulationOptions{})) {
      for (int k = 0; k < 3; ++k) add(probes.emplace_back(gpipe_probe(scenarios[i], k)), i);
    } else {
      add(scenarios[i], i);
    }
  }
  // Progress in scenarios: run_isolated_batch counts work items done.
  const auto item_done = [&](std::size_t items) {
    if (on_done) on_done(items * scenarios.size() / std::max<std::size_t>(1, work.size()));
  };
  const auto results = run_isolated_batch(work, parallel, stop, item_done);
  // The step in full, where the quick way could not give it (uneven chunks: first with more
  // periods, as simulate_step does); none if it fails or the batch stops.
  const auto in_full = [&](std::size_t i, const StepResult* first) -> std::optional<StepResult> {
    if (stop && stop()) return std::nullopt;
    try {
      // In full where these do not repeat either.
      if (first && settles_with_more_periods(*first)) return simulate_step(scenarios[i], with_more_periods({}, *first));
      SimulationOptions full;
      full.periodic = false;
      StepResult r = simulate_step(scenarios[i], full);
      r.not_periodic = true;
      return r;
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  std::vector<std::optional<StepResult>> steps(scenarios.size());
  for (std::size_t w = 0; w < results.size();) {
    const std::size_t i = owner[w];
    std::size_t items = 0;
    bool failed = false;
    std::vector<StepResult> parts;
    for (; w < results.size() && owner[w] == i; ++w, ++items) {
      if (results[w].contains("error")) {
        failed = true;
      } else {
        parts.push_back(from_json(results[w]));
      }
    }
    if (failed) continue;
    if (items == 3) {
      if (auto r = extrapolate_gpipe(parts, scenarios[i].plan.micro_batches())) {
        steps[i] = *r;
      } else {
        steps[i] = in_full(i, nullptr);
      }
    } else if (parts.front().not_periodic) {
      steps[i] = in_full(i, &parts.front());  // rare, so one at a time
    } else {
      steps[i] = parts.front();
    }
  }
  return steps;
}

double simulate_collective(const TopologySpec& topology, int nodes, const Collective& collective) {
  return simulate_concurrent_collectives(topology, nodes, {collective}).front();
}

std::vector<double> simulate_concurrent_collectives(const TopologySpec& topology, int nodes,
                                                    const std::vector<Collective>& collectives) {
  const auto result = run_isolated([&] {
    const auto engine_holder = quiet_engine();
    sg4::Engine& engine = *engine_holder;
    const ClusterGraph graph = build_cluster_graph(topology, nodes);
    const Platform platform(engine, graph);
    std::vector<double> took(collectives.size(), 0.0);
    for (std::size_t i = 0; i < collectives.size(); ++i) {
      sg4::Actor::create("collective" + std::to_string(i), platform.gpu(0),
                         [&, i] { took[i] = run_collective(platform, collectives[i], topology.gpus_per_node); });
    }
    engine.run();
    return nlohmann::json{{"seconds", took}};
  });
  return result.at("seconds").get<std::vector<double>>();
}

}  // namespace trainsim
