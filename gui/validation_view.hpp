#pragma once
// Validation: an executor measurement (trainsim-exec --out run.json) against the prediction for
// the same job (the run's model and plan applied to the editor's scenario), field by field, with
// the error, and a chart of the time breakdown side by side.
#include <QWidget>
#include <nlohmann/json.hpp>

class QTableWidget;
class QChartView;
class QLabel;

namespace trainsim::gui {

class ValidationView : public QWidget {
  Q_OBJECT
 public:
  explicit ValidationView(QWidget* parent = nullptr);
  void setComparison(const QString& title, const nlohmann::json& predicted, const nlohmann::json& measured);
  int rows() const;
  QString cell(int row, int column) const;
  // The one-line verdict on the step time (as `trainsim validate` prints it).
  QString verdict() const;

 signals:
  void loadRequested();

 private:
  QLabel* title_;
  QLabel* verdict_;
  QTableWidget* table_;
  QChartView* chart_;
};

}  // namespace trainsim::gui
