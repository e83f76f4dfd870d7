#pragma once
// One training step simulated on SimGrid. One actor per pipeline stage runs the stage's schedule
// (engine/schedule.hpp) kernel block by kernel block; tensor-, context- and expert-parallel
// collectives block it as they do in Megatron-LM; pipeline sends go over the network to the next
// stage's actor; a second actor per stage runs the data-parallel gradient buckets as they become
// ready, overlapped with the rest of the backward pass.
//
// Periodic steady state: a 1F1B or interleaved step is a warm-up, a steady state that repeats
// per micro-batch (per pp micro-batches when interleaved), and a cool-down. With
// SimulationOptions::periodic only the micro-batches needed to see two steady periods are
// simulated. The two measured are the last ones before stage 0's last steady pair: every stage
// has done them before any stage meets the step's end (its cool-down, a chunk's last backward),
// which the run also checks by time. When they repeat on every stage (same length, same
// gradient-bucket backlog: contention included) the step is extended by the skipped periods,
// each costing what the last measured one did; else the run is retried with four times as many
// periods, then simulated in full. GPipe (all forwards, then all
// backwards) has no such state within a run, but its step is affine in the micro-batches: a long
// one is extrapolated from three short runs whose two differences agree (simulation.cpp,
// extrapolate_gpipe).
//
// Symmetry, exact where the cluster is symmetric: the TP ranks of a stage, the CP ranks and the
// DP replicas do the same work at the same time, so only one of each (tp 0, cp 0, dp 0) computes;
// collectives still move bytes on every GPU they involve (all TP ranks' DP rings, for instance),
// so links are shared as in the full job. Pipeline traffic of the other replicas is not simulated:
// in the non-blocking fabrics here it uses links no other simulated flow needs.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compute/cost_model.hpp"
#include "scenario/scenario.hpp"

namespace trainsim {

struct TraceEvent {
  int gpu = 0;
  std::string stream;  // "compute", "tp", "cp", "ep", "pp", "dp", "optimizer"
  std::string name;
  double start = 0, end = 0;
};

struct StepBreakdown {
  double compute = 0;
  double bubble = 0;
  double optimizer = 0;
  std::map<std::string, double> exposed_comm;  // by kind: tp, cp, ep, pp, dp
  double exposed_total() const;
};

struct StepResult {
  double step_time = 0;
  int critical_stage = 0;
  StepBreakdown breakdown;            // of the critical stage; adds up to step_time
  std::vector<double> stage_finish;   // per stage
  // Each stage's own (empty where the step was not simulated stage by stage): the busiest stage,
  // the one the others wait for, need not be the critical one that finishes last.
  std::vector<StepBreakdown> stage_breakdowns;
  double hardware_flops_per_gpu = 0;  // FLOPs one GPU executed, averaged over the pipeline stages
  std::string bound_by;               // the largest part of the critical stage's time
  std::vector<TraceEvent> trace;      // when asked for
  double gpu_energy_j = 0;            // all GPUs, one step (SimGrid host energy plugin)
  // NICs and switches, one step (SimGrid link energy plugin; network/platform.cpp gives each
  // link its share of their power). Links only the non-simulated replicas would load are
  // counted idle, which is at most (1 - idle share) of their power too low.
  double network_energy_j = 0;
  // Periodic extension (SimulationOptions::periodic): the micro-batches per replica actually
  // simulated; the rest repeated the measured steady period and were added to step_time, the
  // breakdown, FLOPs and energy. Equal to the plan's micro-batches when nothing was extended.
  std::int64_t simulated_micro_batches = 0;
  bool extended = false;
  // The shortened run's steady periods did not repeat: simulate_step reran it in full.
  bool not_periodic = false;
  // The steady periods the run was given to show each stage (SimulationOptions::measured_periods
  // as resolved: more where the layers split unevenly over the chunks); 0: none.
  int measured_periods = 0;
  // With record_link_load: bytes each link carried over the step / (bandwidth x step time), per
  // link name (the busier direction of a duplex link), links that carried nothing left out.
  // Under the simulation's symmetry only representative ranks move data: read the busiest links.
  std::map<std::string, double> link_utilisation;
  double wall_seconds = 0;
};

struct SimulationOptions {
  bool record_trace = false;
  bool record_link_load = false;    // SimGrid's link load plugin (the GUI's topology colours)
  bool skip_data_parallel = false;  // no gradient reduction (local SGD steps, parameter servers)
  // Simulate the warm-up, a few steady periods and the cool-down, and extend the steady state
  // over the other micro-batches when its periods repeat (else the whole step is simulated).
  // Off with record_link_load, whose per-link bytes are not extended.
  bool periodic = true;
  // Whole steady periods the shortened run shows stage 0, the last two of which are compared; 0:
  // the default (engine/simulation.cpp kMeasuredPeriods, more where layers split unevenly over
  // the chunks). simulate_step retries with more where the periods did not repeat.
  int measured_periods = 0;
  // Simulate the data-parallel collectives of TP rank 0 only where the other TP ranks' copies
  // cannot slow them (network/platform.hpp rails_never_contend); off with record_link_load.
  bool mirror_symmetric = true;
  // Not simulated at all: report/prediction.cpp prices the step with the search's closed form
  // (predict_estimate).
  bool estimate = false;
  std::optional<CalibrationProfile> profile;
};

// Runs the simulation in a child process (SimGrid allows one engine per process), so it can be
// called any number of times. Throws std::runtime_error if the simulation fails.
StepResult simulate_step(const Scenario& scenario, const SimulationOptions& options = {});

// Simulates several scenarios, up to `parallel` child processes at once, all forked from the
// calling thread (see run_isolated_batch). A failed simulation leaves its slot empty.
std::vector<std::optional<StepResult>> simulate_steps(const std::vector<Scenario>& scenarios, int parallel,
                                                      const std::function<bool()>& stop = {},
                                                      const std::function<void(std::size_t)>& on_done = {});

// Runs one collective alone on the first `nodes` nodes of a topology; returns its duration.
struct Collective;
double simulate_collective(const TopologySpec& topology, int nodes, const Collective& collective);
// Runs the collectives at the same time, from one actor each; returns each one's duration.
std::vector<double> simulate_concurrent_collectives(const TopologySpec& topology, int nodes,
                                                    const std::vector<Collective>& collectives);

}  // namespace trainsim
