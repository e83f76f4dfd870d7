#include "report/time_to_train.hpp"

#include <cmath>

namespace trainsim {

double young_interval(double checkpoint_s, double mtbf_s) { return std::sqrt(2 * checkpoint_s * mtbf_s); }

double daly_interval(double delta, double m) {
  if (delta >= 2 * m) return m;  // Daly: checkpoint as often as the MTBF when a dump costs that much
  const double x = std::sqrt(delta / (2 * m));
  return std::sqrt(2 * delta * m) * (1 + x / 3 + x * x / 9) - delta;
}

TrainingTime expected_training_time(double solve_s, const FailureModel& f) {
  TrainingTime t;
  t.solve_s = solve_s;
  if (f.mtbf_s <= 0) {  // no failures: no reason to stop for checkpoints beyond a fixed interval
    t.interval_s = f.interval_s.value_or(0);
    t.wall_s = solve_s + (t.interval_s > 0 ? std::floor(solve_s / t.interval_s) * f.checkpoint_s : 0);
    t.goodput = solve_s / t.wall_s;
    return t;
  }
  const double m = f.mtbf_s;
  t.interval_s = f.interval_s.value_or(f.checkpoint_s > 0 ? daly_interval(f.checkpoint_s, m) : solve_s);
  // Daly 2006, Eq. 20: T_wall = M e^{R/M} (e^{(tau + delta)/M} - 1) T_s / tau.
  t.wall_s = m * std::exp(f.restart_s / m) * std::expm1((t.interval_s + f.checkpoint_s) / m) * solve_s / t.interval_s;
  t.goodput = solve_s / t.wall_s;
  t.expected_failures = t.wall_s / m;
  return t;
}

}  // namespace trainsim
