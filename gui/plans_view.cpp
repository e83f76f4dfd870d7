#include "plans_view.hpp"

#include <QChart>
#include <QChartView>
#include <QLegend>
#include <QLineSeries>
#include <QScatterSeries>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <map>
#include <tuple>

namespace trainsim::gui {

namespace {
// Okabe-Ito-like qualitative palette (distinct, colour-blind safe in its first eight), one colour per tp.
const QColor kPalette[] = {QColor("#0072b2"), QColor("#e69f00"), QColor("#009e73"), QColor("#cc79a7"),
                           QColor("#d55e00"), QColor("#56b4e9"), QColor("#7f7f00"), QColor("#000000"),
                           QColor("#8c564b"), QColor("#9467bd")};
const QScatterSeries::MarkerShape kShapes[] = {
    QScatterSeries::MarkerShapeCircle,   QScatterSeries::MarkerShapeRectangle,
    QScatterSeries::MarkerShapeTriangle, QScatterSeries::MarkerShapeRotatedRectangle,
    QScatterSeries::MarkerShapeStar,     QScatterSeries::MarkerShapePentagon};

bool same_plan(const PlanSpec& a, const PlanSpec& b) {
  return a.tp == b.tp && a.pp == b.pp && a.dp == b.dp && a.cp == b.cp && a.ep == b.ep &&
         a.micro_batch == b.micro_batch && a.zero == b.zero && a.recompute == b.recompute &&
         a.recompute_fraction == b.recompute_fraction && a.dp_shard == b.dp_shard;
}
}  // namespace

PlansView::PlansView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  chart_ = new QChartView;
  chart_->setRenderHint(QPainter::Antialiasing);
  layout->addWidget(chart_);
}

void PlansView::setPlans(const std::vector<PlanCandidate>& plans, const std::optional<PlanSpec>& current) {
  plans_ = plans;
  auto* chart = new QChart;
  chart->setTitle(
      tr("%1 plans: step time against memory per GPU (colour: tp, shape: pp; line: Pareto front)").arg(plans.size()));
  auto* x = new QValueAxis;
  x->setTitleText(tr("step time (s)"));
  auto* y = new QValueAxis;
  y->setTitleText(tr("peak memory per GPU (GiB)"));
  chart->addAxis(x, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  std::map<int, int> tp_index, pp_index;  // colour by tp, marker shape by pp, in ascending order
  for (const auto& c : plans) {
    tp_index[c.plan.tp] = 0;
    pp_index[c.plan.pp] = 0;
  }
  int n = 0;
  for (auto& [tp, i] : tp_index) i = n++;
  n = 0;
  for (auto& [pp, i] : pp_index) i = n++;
  // One series per (tp, pp), added in tp, pp order so the legend reads as a table.
  std::map<std::pair<int, int>, QScatterSeries*> by_shape;
  for (const auto& c : plans) by_shape[{c.plan.tp, c.plan.pp}] = nullptr;
  for (auto& [key, series] : by_shape) {
    const auto [tp, pp] = key;
    series = new QScatterSeries;
    series->setName(QString("tp %1, pp %2").arg(tp).arg(pp));
    const QColor colour = kPalette[tp_index[tp] % std::size(kPalette)];
    series->setColor(colour);
    series->setBorderColor(colour.darker(130));
    series->setMarkerShape(kShapes[pp_index[pp] % std::size(kShapes)]);
    series->setMarkerSize(9);
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
  double max_t = 0, max_m = 0;
  for (const auto& c : plans) {
    auto* series = by_shape[{c.plan.tp, c.plan.pp}];
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
  QPen front_pen(QColor("#333333"));
  front_pen.setWidth(2);
  front_pen.setStyle(Qt::DashLine);
  front->setPen(front_pen);
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
  if (current) {
    // The editor's plan when the search evaluated it; else the evaluated plans with its parallel
    // axes (the search may have dropped its exact micro-batch, ZeRO or recompute choice).
    std::vector<const PlanCandidate*> marked;
    for (const auto& c : plans) {
      if (same_plan(c.plan, *current)) marked.push_back(&c);
    }
    const bool exact = !marked.empty();
    if (!exact) {
      for (const auto& c : plans) {
        const auto& a = c.plan;
        if (a.tp == current->tp && a.pp == current->pp && a.dp == current->dp && a.cp == current->cp &&
            a.ep == current->ep)
          marked.push_back(&c);
      }
      // One ring: the nearest micro-batch, then the same ZeRO stage, then the fastest.
      auto key = [&](const PlanCandidate* c) {
        return std::tuple(
            std::abs(c->plan.micro_batch - current->micro_batch), c->plan.zero != current->zero,
            c->plan.recompute != current->recompute || c->plan.recompute_fraction != current->recompute_fraction,
            c->step_time());
      };
      if (!marked.empty())
        marked = {*std::min_element(marked.begin(), marked.end(), [&](auto* a, auto* b) { return key(a) < key(b); })};
    }
    if (!marked.empty()) {
      auto* ring = new QScatterSeries;
      ring->setObjectName("currentPlan");
      ring->setName(
          exact
              ? tr("current plan")
              : tr("nearest to current plan (tp %1, pp %2, dp %3)").arg(current->tp).arg(current->pp).arg(current->dp));
      ring->setMarkerShape(QScatterSeries::MarkerShapeCircle);
      ring->setMarkerSize(30);
      ring->setColor(Qt::transparent);
      QPen pen(QColor("#d62728"));
      pen.setWidth(4);
      ring->setPen(pen);
      ring->setBorderColor(QColor("#d62728"));
      for (const auto* c : marked) ring->append(c->step_time(), c->estimate.memory.peak / (1024.0 * 1024 * 1024));
      chart->addSeries(ring);
      ring->attachAxis(x);
      ring->attachAxis(y);
    }
  }
  x->setRange(0, max_t * 1.05 + 1e-9);
  y->setRange(0, max_m * 1.05 + 1e-9);
  x->applyNiceNumbers();
  y->applyNiceNumbers();
  x->setLabelFormat("%.3g");
  y->setLabelFormat("%.0f");
  chart->legend()->setAlignment(Qt::AlignRight);
  chart->legend()->setMarkerShape(QLegend::MarkerShapeFromSeries);  // pp's shape in the legend too
  QChart* old = chart_->chart();
  chart_->setChart(chart);
  delete old;
}

}  // namespace trainsim::gui
