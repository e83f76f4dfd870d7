#pragma once
// The plan space: every evaluated plan as a point (step time against peak memory per GPU),
// coloured by tp x pp, with the Pareto front drawn; clicking a point selects that plan.
#include <QWidget>

#include "search/search.hpp"

class QChartView;

namespace trainsim::gui {

class PlansView : public QWidget {
  Q_OBJECT
 public:
  explicit PlansView(QWidget* parent = nullptr);
  void setPlans(const std::vector<PlanCandidate>& plans);
  std::size_t points() const { return plans_.size(); }

 signals:
  void planSelected(const trainsim::PlanSpec& plan);

 private:
  std::vector<PlanCandidate> plans_;
  QChartView* chart_;
};

}  // namespace trainsim::gui
