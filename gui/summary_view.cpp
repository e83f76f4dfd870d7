#include "summary_view.hpp"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QFileInfo>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QLineSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include "scenario/units.hpp"

namespace trainsim::gui {

QString scenario_header(const Scenario& sc) {
  std::string name = sc.name;
  if (name.empty()) name = QFileInfo(QString::fromStdString(sc.file)).completeBaseName().toStdString();
  if (name.empty()) name = "untitled";
  const auto& topology = sc.cluster.topology;
  std::string gpus;
  if (topology.node_groups.empty()) {
    gpus = units::format_thousands(sc.cluster.gpus) + " x " + topology.gpu.name;
  } else {  // a mixed cluster: the GPUs of each node group, as far as the job reaches
    int left = sc.cluster.gpus;
    for (const auto& group : topology.node_groups) {
      const int n = std::min(left, group.nodes * topology.gpus_per_node);
      if (n <= 0) break;
      gpus += (gpus.empty() ? "" : " + ") + units::format_thousands(n) + " x " + group.gpu.name;
      left -= n;
    }
  }
  const auto& plan = sc.plan;
  std::string text = name + " \u00b7 " + sc.model.name + " \u00b7 " + gpus + " \u00b7 tp " + std::to_string(plan.tp) +
                     ", pp " + std::to_string(plan.pp) + ", dp " + std::to_string(plan.dp) + ", cp " +
                     std::to_string(plan.cp) + ", ep " + std::to_string(plan.ep) + " \u00b7 micro-batch " +
                     std::to_string(plan.micro_batch) + " \u00b7 zero " + std::to_string(plan.zero) +
                     " \u00b7 recompute " + recompute_label(plan) + " \u00b7 " + precision_name(plan.precision);
  return QString::fromStdString(text);
}

SummaryView::SummaryView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  header_ = new QLabel;
  header_->setObjectName("summaryHeader");
  header_->setWordWrap(true);
  header_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont bold = header_->font();
  bold.setBold(true);
  bold.setPointSizeF(bold.pointSizeF() * 1.15);
  header_->setFont(bold);
  layout->addWidget(header_);
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
QString SummaryView::header() const { return header_->text(); }

void SummaryView::show(const Prediction& p, const Scenario& scenario) {
  header_->setText(scenario_header(scenario));
  const auto& b = p.step.breakdown;
  auto row = [](const QString& label, const std::string& value) {
    return "<tr><td style='padding-right:16px'>" + label + "</td><td><b>" + QString::fromStdString(value) +
           "</b></td></tr>";
  };
  auto share = [&](double seconds) {
    return units::format_duration(seconds) + " (" + units::format_percent(seconds / p.step.step_time, 0) + ")";
  };
  QString html = "<table>";
  html += row(tr("Step time"), units::format_duration(p.step.step_time));
  html += row(tr("Tokens/s"), units::format_count(p.tokens_per_s));
  html += row(tr("MFU"), units::format_percent(p.mfu));
  if (p.padded_tokens_per_sequence > p.tokens_per_sequence) {  // a data section with short sequences
    html += row(tr("Tokens per sequence"), units::format_thousands(p.tokens_per_sequence) + " (padded to " +
                                               units::format_thousands(p.padded_tokens_per_sequence) + ")");
  }
  if (p.time_to_train_s) html += row(tr("Time to train"), units::format_duration(*p.time_to_train_s));
  if (p.cost_to_train) html += row(tr("Cost to train"), units::format_money(*p.cost_to_train));
  if (p.energy_to_train_j) {  // as the CLI writes it: MWh with a decimal below 100, kWh below 1 MWh
    const double mwh = *p.energy_to_train_j / 3.6e9;
    html += row(tr("Energy to train"), mwh >= 1 ? units::format_thousands(mwh, mwh >= 100 ? 0 : 1) + " MWh"
                                                : units::format_thousands(mwh * 1000, 1) + " kWh");
  }
  if (p.cost_per_million_tokens)
    html += row(tr("Cost per million tokens"), units::format_money(*p.cost_per_million_tokens));
  html +=
      row(tr("Memory per GPU"), units::format_bytes(p.memory.peak) + " of " + units::format_bytes(p.memory.usable()) +
                                    " usable" + (p.memory.fits() ? "" : " - DOES NOT FIT"));
  html += row(tr("Compute"), share(b.compute));
  for (const auto& [kind, seconds] : b.exposed_comm) {
    if (seconds > 0) html += row(QString::fromStdString(kind) + tr(" comm (exposed)"), share(seconds));
  }
  html += row(tr("Pipeline bubble"), share(b.bubble));
  html += row(tr("Optimizer"), share(b.optimizer));
  html += row(tr("Bound by"), p.step.bound_by);
  // Where the host's issue rate times much of a layer, the step likely takes longer than shown.
  if (p.host_bound_share >= kHostBoundWarning) {
    html += "<tr><td style='padding-right:16px'>" + tr("Launch-bound") + "</td><td style='color:#8a6d00'><b>" +
            QString::fromStdString(units::format_percent(p.host_bound_share)) + "</b> " +
            tr("of a layer's compute at the host's issue rate: likely optimistic") + "</td></tr>";
  }
  // How firm a prediction of this kind has been on the published runs (report/public_error.hpp).
  if (const auto& e = p.public_error) {
    html += row(tr("Public runs like it"), units::format_percent(e->mape) + " " + public_error_text(*e));
  }
  // The framework choices priced, defaults marked: what a user most often needs to correct.
  html += row(tr("Kernels"), kernel_summary(p.kernels, scenario.cluster.topology.gpu.name));
  html += "</table>";
  figures_->setText(html);

  // Memory per GPU: one horizontal stacked bar against two vertical lines, the GPU's capacity and
  // the usable part of it (capacity less the reserve for the CUDA context, NCCL, fragmentation).
  constexpr double GiB = 1024.0 * 1024 * 1024;
  auto* series = new QHorizontalStackedBarSeries;
  const std::pair<const char*, double> parts[] = {{"parameters", p.memory.params},
                                                  {"gradients", p.memory.grads},
                                                  {"optimizer", p.memory.optimizer},
                                                  {"activations", p.memory.activations},
                                                  {"buffers", p.memory.buffers}};
  for (const auto& [name, bytes] : parts) {
    auto* set = new QBarSet(name);
    *set << bytes / GiB;
    series->append(set);
  }
  series->setBarWidth(0.5);
  auto* chart = new QChart;
  chart->addSeries(series);
  const double capacity = p.memory.capacity / GiB, usable = p.memory.usable() / GiB, peak = p.memory.peak / GiB;
  const bool fits = p.memory.fits();
  const QString bytes_of = QString::fromStdString(units::format_bytes(p.memory.peak));
  if (fits) {
    chart->setTitle(tr("Memory per GPU (stage %1): %2 of %3 usable - fits, %4 free")
                        .arg(p.memory.stage)
                        .arg(bytes_of)
                        .arg(QString::fromStdString(units::format_bytes(p.memory.usable())))
                        .arg(QString::fromStdString(units::format_bytes(p.memory.headroom()))));
  } else {
    chart->setTitle(tr("<span style='color:#b00020'><b>DOES NOT FIT</b></span>: memory per GPU (stage %1) %2, "
                       "%3 over the %4 usable")
                        .arg(p.memory.stage)
                        .arg(bytes_of)
                        .arg(QString::fromStdString(units::format_bytes(-p.memory.headroom())))
                        .arg(QString::fromStdString(units::format_bytes(p.memory.usable()))));
    chart->setBackgroundBrush(QColor("#fdecee"));
  }
  chart->setProperty("fits", fits);
  auto* axis = new QValueAxis;
  axis->setRange(0, std::max(capacity, peak) * 1.04);
  axis->setTitleText("GiB");
  axis->setLabelFormat("%.0f");
  axis->applyNiceNumbers();
  chart->addAxis(axis, Qt::AlignBottom);
  series->attachAxis(axis);
  auto* categories = new QBarCategoryAxis;
  categories->append("GPU");
  chart->addAxis(categories, Qt::AlignLeft);
  series->attachAxis(categories);
  auto vertical = [&](const QString& object, const QString& name, double x, QColor colour, Qt::PenStyle style) {
    auto* line = new QLineSeries;
    line->setObjectName(object);
    line->setName(name);
    line->append(x, -0.5);
    line->append(x, 0.5);
    QPen pen(colour);
    pen.setWidth(3);
    pen.setStyle(style);
    line->setPen(pen);
    chart->addSeries(line);
    line->attachAxis(axis);
    line->attachAxis(categories);
  };
  vertical("capacityLine", tr("usable %1").arg(QString::fromStdString(units::format_bytes(p.memory.usable()))), usable,
           QColor("#b00020"), Qt::SolidLine);
  vertical("reserveLine",
           tr("capacity %1 (reserve %2)")
               .arg(QString::fromStdString(units::format_bytes(p.memory.capacity)))
               .arg(QString::fromStdString(units::format_bytes(p.memory.reserve))),
           capacity, QColor("#555555"), Qt::DashLine);
  chart->legend()->setAlignment(Qt::AlignBottom);
  QChart* old = memory_->chart();
  memory_->setChart(chart);
  delete old;
}

}  // namespace trainsim::gui
