#pragma once
// Time to train with failures: checkpoints cost time, failures lose the work since the last
// checkpoint plus a restart. Young (1974) gives the checkpoint interval sqrt(2 delta M); Daly
// (2006, "A higher order estimate of the optimum checkpoint interval for restart dumps", Eq. 20
// and Eq. 37) gives the refined interval and the expected wall time used here.
#include <optional>

namespace trainsim {

struct FailureModel {
  double mtbf_s = 0;             // mean time between failures of the whole job (0: no failures)
  double restart_s = 0;          // detect, reschedule, reload
  double checkpoint_s = 0;       // time to write one checkpoint (delta)
  std::optional<double> interval_s;  // fixed checkpoint interval; otherwise Daly's optimum
};

struct TrainingTime {
  double solve_s = 0;      // steps x step time, no failures, no checkpoints
  double wall_s = 0;       // expected, with checkpoints and failures
  double interval_s = 0;   // checkpoint interval used
  double goodput = 1;      // solve / wall
  double expected_failures = 0;
};

double young_interval(double checkpoint_s, double mtbf_s);
double daly_interval(double checkpoint_s, double mtbf_s);
TrainingTime expected_training_time(double solve_s, const FailureModel& failures);

}  // namespace trainsim
