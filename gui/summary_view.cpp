#include "summary_view.hpp"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QVBoxLayout>
#include <QValueAxis>

#include "scenario/units.hpp"

namespace trainsim::gui {

SummaryView::SummaryView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  figures_ = new QLabel(tr("Run a prediction (F5) to see the step time, throughput and memory."));
  figures_->setTextFormat(Qt::RichText);
  figures_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(figures_);
  memory_ = new QChartView;
  memory_->setRenderHint(QPainter::Antialiasing);
  memory_->setMinimumHeight(220);
  layout->addWidget(memory_, 1);
}

QString SummaryView::text() const { return figures_->text(); }

void SummaryView::show(const Prediction& p) {
  const auto& b = p.step.breakdown;
  auto row = [](const QString& label, const std::string& value) {
    return "<tr><td style='padding-right:16px'>" + label + "</td><td><b>" + QString::fromStdString(value) +
           "</b></td></tr>";
  };
  auto share = [&](double seconds) {
    return units::format_duration(seconds) + " (" + std::to_string(int(100 * seconds / p.step.step_time + 0.5)) + "%)";
  };
  QString html = "<table>";
  html += row(tr("Step time"), units::format_duration(p.step.step_time));
  html += row(tr("Tokens/s"), units::format_count(p.tokens_per_s));
  html += row(tr("MFU"), std::to_string(int(1000 * p.mfu) / 10.0).substr(0, 4) + "%");
  if (p.padded_tokens_per_sequence > p.tokens_per_sequence) {  // a data section with short sequences
    html += row(tr("Tokens per sequence"), std::to_string(int(p.tokens_per_sequence + 0.5)) + " (padded to " +
                                               std::to_string(int(p.padded_tokens_per_sequence + 0.5)) + ")");
  }
  if (p.time_to_train_s) html += row(tr("Time to train"), units::format_duration(*p.time_to_train_s));
  if (p.cost_to_train) html += row(tr("Cost to train"), units::format_money(*p.cost_to_train));
  if (p.energy_to_train_j)
    html += row(tr("Energy to train"), std::to_string(int(*p.energy_to_train_j / 3.6e9)) + " MWh");
  html += row(tr("Compute"), share(b.compute));
  for (const auto& [kind, seconds] : b.exposed_comm) {
    if (seconds > 0) html += row(QString::fromStdString(kind) + tr(" comm (exposed)"), share(seconds));
  }
  html += row(tr("Pipeline bubble"), share(b.bubble));
  html += row(tr("Optimizer"), share(b.optimizer));
  html += row(tr("Bound by"), p.step.bound_by);
  html += "</table>";
  figures_->setText(html);

  // Memory per GPU: one horizontal stacked bar, and the capacity as the axis end.
  auto* series = new QHorizontalStackedBarSeries;
  const std::pair<const char*, double> parts[] = {{"parameters", p.memory.params},
                                                  {"gradients", p.memory.grads},
                                                  {"optimizer", p.memory.optimizer},
                                                  {"activations", p.memory.activations},
                                                  {"buffers", p.memory.buffers}};
  for (const auto& [name, bytes] : parts) {
    auto* set = new QBarSet(name);
    *set << bytes / (1024.0 * 1024 * 1024);
    series->append(set);
  }
  auto* chart = new QChart;
  chart->addSeries(series);
  const double capacity = p.memory.capacity / (1024.0 * 1024 * 1024);
  chart->setTitle(tr("Memory per GPU (stage %1): %2 of %3 GiB %4")
                      .arg(p.memory.stage)
                      .arg(p.memory.peak / (1024.0 * 1024 * 1024), 0, 'f', 1)
                      .arg(capacity, 0, 'f', 0)
                      .arg(p.memory.fits() ? tr("- fits") : tr("- DOES NOT FIT")));
  auto* axis = new QValueAxis;
  axis->setRange(0, std::max(capacity, p.memory.peak / (1024.0 * 1024 * 1024)));
  axis->setTitleText("GiB");
  chart->addAxis(axis, Qt::AlignBottom);
  series->attachAxis(axis);
  auto* categories = new QBarCategoryAxis;
  categories->append("GPU");
  chart->addAxis(categories, Qt::AlignLeft);
  series->attachAxis(categories);
  chart->legend()->setAlignment(Qt::AlignBottom);
  QChart* old = memory_->chart();
  memory_->setChart(chart);
  delete old;
}

}  // namespace trainsim::gui
