#pragma once
// Summary of a prediction: step time, tokens/s, MFU, time and cost to train, where the time
// goes, and memory per GPU as a stacked bar against the GPU's capacity.
#include <QWidget>

#include "report/prediction.hpp"
#include "scenario/scenario.hpp"

class QLabel;
namespace QtCharts {}
class QChartView;

namespace trainsim::gui {

// "llama2-70b · llama2-70b · 512 x H100 · tp 8, pp 4, dp 16, cp 1, ep 1 · micro-batch 1 · zero 1 ·
// recompute none · bf16": the one line that says what was predicted (summary and window title).
QString scenario_header(const Scenario& scenario);

class SummaryView : public QWidget {
  Q_OBJECT
 public:
  explicit SummaryView(QWidget* parent = nullptr);
  // The header names the scenario, model, GPUs and plan; the figures are in human units.
  void show(const Prediction& prediction, const Scenario& scenario);
  QString text() const;
  QString header() const;
  QChartView* memoryChart() const { return memory_; }

 private:
  QLabel* header_;
  QLabel* figures_;
  QChartView* memory_;
};

}  // namespace trainsim::gui
