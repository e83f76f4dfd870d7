#pragma once
// The layout the Compare and Validation views share: a read-only table above a chart.
#include <QHeaderView>
#include <QStringList>

class QTableWidget;
class QChartView;
class QVBoxLayout;

namespace trainsim::gui {

struct TableAndChart {
  QTableWidget* table;
  QChartView* chart;
};

TableAndChart add_table_and_chart(QVBoxLayout* layout, const QStringList& headers, QHeaderView::ResizeMode columns);
// The text of a cell, empty when the cell is.
QString cell_text(const QTableWidget* table, int row, int column);

}  // namespace trainsim::gui
