#include "table_chart.hpp"

#include <QChartView>
#include <QTableWidget>
#include <QVBoxLayout>

namespace trainsim::gui {

TableAndChart add_table_and_chart(QVBoxLayout* layout, const QStringList& headers, QHeaderView::ResizeMode columns) {
  auto* table = new QTableWidget(0, int(headers.size()));
  table->setHorizontalHeaderLabels(headers);
  table->horizontalHeader()->setSectionResizeMode(columns);
  table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  layout->addWidget(table, 1);
  auto* chart = new QChartView;
  chart->setRenderHint(QPainter::Antialiasing);
  chart->setMinimumHeight(220);
  layout->addWidget(chart, 1);
  return {table, chart};
}

QString cell_text(const QTableWidget* table, int row, int column) {
  const auto* item = table->item(row, column);
  return item ? item->text() : QString();
}

}  // namespace trainsim::gui
