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
  auto add = [&](const QString& label, const nlohmann::json& p, const nlohmann::json& m, const char* key) {
    if (!p.contains(key) || !m.is_object() || !m.contains(key) || !m[key].is_number()) return;
    const double pv = p[key].get<double>(), mv = m[key].get<double>();
    const int row = table_->rowCount();
    table_->insertRow(row);
    table_->setItem(row, 0, new QTableWidgetItem(label));
    table_->setItem(row, 1, new QTableWidgetItem(QString::number(pv, 'g', 5)));
    table_->setItem(row, 2, new QTableWidgetItem(QString::number(mv, 'g', 5)));
    auto* error = new QTableWidgetItem(mv != 0 ? QString("%1%").arg(100 * (pv - mv) / mv, 0, 'f', 1) : QString("-"));
    // Within 10%: green; within 25%: amber; beyond: red.
    const double e = mv != 0 ? std::abs(pv - mv) / mv : 0;
    error->setBackground(e <= 0.10 ? QColor("#c8e6c9") : e <= 0.25 ? QColor("#ffe0b2") : QColor("#ffcdd2"));
    table_->setItem(row, 3, error);
  };
  for (const char* key : {"step_time_s", "tokens_per_s", "model_tflops_per_gpu", "mfu"})
    add(key, predicted, measured, key);
  const char* parts[] = {"compute", "exposed_comm", "bubble", "optimizer"};
  const bool breakdown = predicted.contains("breakdown_s") && measured.contains("breakdown_s");
  if (breakdown) {
    for (const char* key : parts)
      add(QString("breakdown_s.") + key, predicted["breakdown_s"], measured["breakdown_s"], key);
  }
  if (predicted.contains("memory_per_gpu_bytes") && measured.contains("memory_per_gpu_bytes")) {
    add("memory_per_gpu_bytes.peak", predicted["memory_per_gpu_bytes"], measured["memory_per_gpu_bytes"], "peak");
  }
  auto* chart = new QChart;
  chart->setTitle(tr("Where the step goes: predicted and measured (seconds)"));
  if (breakdown) {
    auto* p_set = new QBarSet(tr("predicted"));
    auto* m_set = new QBarSet(tr("measured"));
    QStringList labels;
    double top = 0;
    for (const char* key : parts) {
      const double pv = predicted["breakdown_s"].value(key, 0.0), mv = measured["breakdown_s"].value(key, 0.0);
      *p_set << pv;
      *m_set << mv;
      labels << key;
      top = std::max({top, pv, mv});
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
    axis_y->setRange(0, top > 0 ? top * 1.1 : 1);
    chart->addAxis(axis_y, Qt::AlignLeft);
    series->attachAxis(axis_y);
  }
  chart_->setChart(chart);
}

}  // namespace trainsim::gui
