#include "compare_view.hpp"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChartView>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHorizontalBarSeries>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

#include "scenario/units.hpp"
#include "table_chart.hpp"

namespace trainsim::gui {

namespace {
QString q(const std::string& text) { return QString::fromStdString(text); }
}  // namespace

CompareView::CompareView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* buttons = new QHBoxLayout;
  auto* add_current = new QPushButton(tr("Add the editor's plan"));
  auto* add_file = new QPushButton(tr("Add scenario file..."));
  auto* clear = new QPushButton(tr("Clear"));
  buttons->addWidget(add_current);
  buttons->addWidget(add_file);
  buttons->addWidget(clear);
  buttons->addStretch();
  layout->addLayout(buttons);
  connect(add_current, &QPushButton::clicked, this, &CompareView::addCurrentRequested);
  connect(add_file, &QPushButton::clicked, this, &CompareView::addFileRequested);
  connect(clear, &QPushButton::clicked, this, &CompareView::clearRequested);
  const auto parts = add_table_and_chart(layout,
                                         {tr("scenario"), tr("GPUs"), tr("plan"), tr("step"), tr("tokens/s"), tr("MFU"),
                                          tr("memory/GPU"), tr("bound by"), tr("time to train"), tr("cost")},
                                         QHeaderView::ResizeToContents);
  table_ = parts.table;
  chart_ = parts.chart;
}

int CompareView::rows() const { return table_->rowCount(); }
QString CompareView::cell(int row, int column) const { return cell_text(table_, row, column); }

void CompareView::setRuns(const std::vector<ComparedRun>& runs) {
  table_->setRowCount(int(runs.size()));
  auto* set = new QBarSet(tr("step time (s)"));
  QStringList labels;
  double longest = 0;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    const auto& p = r.prediction;
    const auto& plan = r.scenario.plan;
    const QStringList cells = {
        r.label,
        QString::number(p.gpus),
        QString("tp %1, pp %2, dp %3, mb %4").arg(plan.tp).arg(plan.pp).arg(plan.dp).arg(plan.micro_batch),
        q(units::format_duration(p.step.step_time)),
        q(units::format_count(p.tokens_per_s)),
        q(units::format_percent(p.mfu)),
        q(units::format_bytes(p.memory.peak)),
        QString::fromStdString(p.step.bound_by),
        p.time_to_train_s ? q(units::format_duration(*p.time_to_train_s)) : QString("-"),
        p.cost_to_train ? q(units::format_money(*p.cost_to_train)) : QString("-")};
    for (int c = 0; c < cells.size(); ++c) table_->setItem(int(i), c, new QTableWidgetItem(cells[c]));
    *set << p.step.step_time;
    labels << r.label;
    longest = std::max(longest, p.step.step_time);
  }
  auto* series = new QHorizontalBarSeries;
  series->append(set);
  auto* chart = new QChart;
  chart->addSeries(series);
  chart->setTitle(tr("Step time, one bar per compared plan"));
  auto* axis_y = new QBarCategoryAxis;
  axis_y->append(labels);
  chart->addAxis(axis_y, Qt::AlignLeft);
  series->attachAxis(axis_y);
  auto* axis_x = new QValueAxis;
  axis_x->setRange(0, longest > 0 ? longest * 1.1 : 1);
  axis_x->applyNiceNumbers();  // ticks at 0, 0.2, 0.4 ... rather than 0.17, 0.34
  axis_x->setLabelFormat("%.3g");
  axis_x->setTitleText(tr("step time (s)"));
  chart->addAxis(axis_x, Qt::AlignBottom);
  series->attachAxis(axis_x);
  chart->legend()->hide();
  chart_->setChart(chart);
}

}  // namespace trainsim::gui
