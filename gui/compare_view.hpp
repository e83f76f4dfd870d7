#pragma once
// Compare: several plans or clusters side by side. Each row is a prediction (the scenario in the
// editor when it was added, or a saved scenario file); the table gives step time, throughput,
// MFU, memory, time and cost to train, and a bar chart the step times.
#include <QWidget>

#include "report/prediction.hpp"

class QTableWidget;
class QChartView;

namespace trainsim::gui {

struct ComparedRun {
  QString label;
  Scenario scenario;
  Prediction prediction;
};

class CompareView : public QWidget {
  Q_OBJECT
 public:
  explicit CompareView(QWidget* parent = nullptr);
  void setRuns(const std::vector<ComparedRun>& runs);
  int rows() const;
  QString cell(int row, int column) const;

 signals:
  void addCurrentRequested();
  void addFileRequested();
  void clearRequested();

 private:
  QTableWidget* table_;
  QChartView* chart_;
};

}  // namespace trainsim::gui
