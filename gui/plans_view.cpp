#include "plans_view.hpp"

#include <QChart>
#include <QChartView>
#include <QLineSeries>
#include <QScatterSeries>
#include <QValueAxis>
#include <QVBoxLayout>
#include <algorithm>
#include <map>

namespace trainsim::gui {

PlansView::PlansView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  chart_ = new QChartView;
  chart_->setRenderHint(QPainter::Antialiasing);
  layout->addWidget(chart_);
}

void PlansView::setPlans(const std::vector<PlanCandidate>& plans) {
  plans_ = plans;
  auto* chart = new QChart;
  chart->setTitle(tr("%1 plans: step time against memory per GPU (colour: tp x pp; line: Pareto front)").arg(plans.size()));
  auto* x = new QValueAxis;
  x->setTitleText(tr("step time (s)"));
  auto* y = new QValueAxis;
  y->setTitleText(tr("peak memory per GPU (GiB)"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  std::map<std::pair<int, int>, QScatterSeries*> by_shape;
  double max_t = 0, max_m = 0;
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& c = plans[i];
    auto*& series = by_shape[{c.plan.tp, c.plan.pp}];
    if (!series) {
      series = new QScatterSeries;
      series->setName(QString("tp%1 pp%2").arg(c.plan.tp).arg(c.plan.pp));
      series->setMarkerSize(7);
      chart->addSeries(series);
      series->attachAxis(x);
      series->attachAxis(y);
      connect(series, &QScatterSeries::clicked, this, [this](const QPointF& point) {
        // The nearest plan to the clicked point.
        const PlanCandidate* best = nullptr;
        double best_distance = 1e300;
        for (const auto& p : plans_) {
          const double dt = p.step_time() - point.x();
          const double dm = p.estimate.memory.peak / (1024.0 * 1024 * 1024) - point.y();
          const double d = dt * dt + dm * dm;
          if (d < best_distance) {
            best_distance = d;
            best = &p;
          }
        }
        if (best) emit planSelected(best->plan);
      });
    }
    const double gib = c.estimate.memory.peak / (1024.0 * 1024 * 1024);
    series->append(c.step_time(), gib);
    max_t = std::max(max_t, c.step_time());
    max_m = std::max(max_m, gib);
  }
  // Pareto front: sorted by time, keep points with less memory than all faster ones.
  std::vector<const PlanCandidate*> sorted;
  for (const auto& c : plans) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->step_time() < b->step_time(); });
  auto* front = new QLineSeries;
  front->setName(tr("Pareto front"));
  double lowest = 1e300;
  for (const auto* c : sorted) {
    if (c->estimate.memory.peak < lowest) {
      lowest = c->estimate.memory.peak;
      front->append(c->step_time(), lowest / (1024.0 * 1024 * 1024));
    }
  }
  chart->addSeries(front);
  front->attachAxis(x);
  front->attachAxis(y);
  x->setRange(0, max_t * 1.05 + 1e-9);
  y->setRange(0, max_m * 1.05 + 1e-9);
  chart->legend()->setAlignment(Qt::AlignRight);
  QChart* old = chart_->chart();
  chart_->setChart(chart);
  delete old;
}

}  // namespace trainsim::gui
