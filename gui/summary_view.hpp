#pragma once
// Summary of a prediction: step time, tokens/s, MFU, time and cost to train, where the time
// goes, and memory per GPU as a stacked bar against the GPU's capacity.
#include <QWidget>

#include "report/prediction.hpp"

class QLabel;
namespace QtCharts {}
class QChartView;

namespace trainsim::gui {

class SummaryView : public QWidget {
  Q_OBJECT
 public:
  explicit SummaryView(QWidget* parent = nullptr);
  void show(const Prediction& prediction);
  QString text() const;
  QChartView* memoryChart() const { return memory_; }

 private:
  QLabel* figures_;
  QChartView* memory_;
};

}  // namespace trainsim::gui
