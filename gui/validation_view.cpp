#include "validation_view.hpp"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChartView>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>
#include <algorithm>
#include <cmath>

#include "report/measurement.hpp"
#include "scenario/units.hpp"
#include "table_chart.hpp"

namespace trainsim::gui {

ValidationView::ValidationView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  auto* load = new QPushButton(tr("Load measurement (run.json)..."));
  connect(load, &QPushButton::clicked, this, &ValidationView::loadRequested);
  layout->addWidget(load, 0, Qt::AlignLeft);
  title_ = new QLabel(tr("No measurement loaded: run trainsim-exec SCENARIO --out run.json, then load it here."));
  title_->setWordWrap(true);
  layout->addWidget(title_);
  verdict_ = new QLabel;
  QFont bold = verdict_->font();
  bold.setBold(true);
  verdict_->setFont(bold);
  layout->addWidget(verdict_);
  const auto parts =
      add_table_and_chart(layout, {tr("field"), tr("predicted"), tr("measured"), tr("error")}, QHeaderView::Stretch);
  table_ = parts.table;
  chart_ = parts.chart;
}

int ValidationView::rows() const { return table_->rowCount(); }
QString ValidationView::cell(int row, int column) const { return cell_text(table_, row, column); }

void ValidationView::setComparison(const QString& title, const nlohmann::json& predicted,
                                   const nlohmann::json& measured) {
  title_->setText(title);
  table_->setRowCount(0);
  const auto fields = compare_with_measurement(predicted, measured);
  for (const auto& f : fields) {
    const int row = table_->rowCount();
    table_->insertRow(row);
    table_->setItem(row, 0, new QTableWidgetItem(QString::fromStdString((f.part ? "    " : "") + f.label)));
    for (const auto& [column, text] : {std::pair{1, f.predicted}, {2, f.measured}}) {
      auto* item = new QTableWidgetItem(QString::fromStdString(text));
      item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(row, column, item);
    }
    auto* error = new QTableWidgetItem(
        f.measured_value != 0 ? QString::fromStdString((f.error > 0 ? "+" : "") + units::format_percent(f.error))
                              : QString("-"));
    error->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    // Within 10%: green; within 25%: amber; beyond: red.
    const double e = std::abs(f.error);
    error->setBackground(e <= 0.10 ? QColor("#c8e6c9") : e <= 0.25 ? QColor("#ffe0b2") : QColor("#ffcdd2"));
    table_->setItem(row, 3, error);
  }
  const auto step = std::find_if(fields.begin(), fields.end(), [](const auto& f) { return f.label == "step time"; });
  verdict_->setText(step == fields.end()
                        ? QString()
                        : QString::fromStdString(measurement_verdict(step->predicted_value, step->measured_value)));
  auto* chart = new QChart;
  std::vector<const ComparedField*> parts;
  double top = 0;
  for (const auto& f : fields) {
    if (!f.part) continue;
    parts.push_back(&f);
    top = std::max({top, f.predicted_value, f.measured_value});
  }
  // Milliseconds for steps under a second, so the axis reads 12.5 rather than 0.0125.
  const bool ms = top < 1;
  const double scale = ms ? 1e3 : 1;
  chart->setTitle(ms ? tr("Where the step goes: predicted and measured (ms)")
                     : tr("Where the step goes: predicted and measured (s)"));
  if (!parts.empty()) {
    auto* p_set = new QBarSet(tr("predicted"));
    auto* m_set = new QBarSet(tr("measured"));
    QStringList labels;
    for (const auto* f : parts) {
      *p_set << scale * f->predicted_value;
      *m_set << scale * f->measured_value;
      labels << QString::fromStdString(f->label);
    }
    auto* series = new QBarSeries;
    series->append(p_set);
    series->append(m_set);
    chart->addSeries(series);
    auto* axis_x = new QBarCategoryAxis;
    axis_x->append(labels);
    chart->addAxis(axis_x, Qt::AlignBottom);
    series->attachAxis(axis_x);
    auto* axis_y = new QValueAxis;
    axis_y->setRange(0, top > 0 ? scale * top * 1.1 : 1);
    axis_y->setLabelFormat("%.3g");
    axis_y->applyNiceNumbers();
    chart->addAxis(axis_y, Qt::AlignLeft);
    series->attachAxis(axis_y);
  }
  chart_->setChart(chart);
}

QString ValidationView::verdict() const { return verdict_->text(); }

}  // namespace trainsim::gui
