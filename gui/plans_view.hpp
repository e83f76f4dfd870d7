#pragma once
// The plan space: every evaluated plan as a point (step time against peak memory per GPU),
// coloured by tp (a palette that stays distinct) with pp as the marker shape, the Pareto front
// drawn, and the current plan ringed; clicking a point selects that plan.
#include <QWidget>
#include <optional>

#include "search/search.hpp"

class QChartView;

namespace trainsim::gui {

class PlansView : public QWidget {
  Q_OBJECT
 public:
  explicit PlansView(QWidget* parent = nullptr);
  // current: the editor's plan, ringed when the search evaluated it.
  void setPlans(const std::vector<PlanCandidate>& plans, const std::optional<PlanSpec>& current = std::nullopt);
  QChartView* chartView() const { return chart_; }
  std::size_t points() const { return plans_.size(); }

 signals:
  void planSelected(const trainsim::PlanSpec& plan);

 private:
  std::vector<PlanCandidate> plans_;
  QChartView* chart_;
};

}  // namespace trainsim::gui
