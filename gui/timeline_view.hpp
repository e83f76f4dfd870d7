#pragma once
// A Gantt chart of one simulated step: one row per (GPU, stream), compute and each kind of
// communication in its own colour. Wheel zooms around the cursor, drag pans, hover names the op.
#include <QWidget>

#include "engine/simulation.hpp"

namespace trainsim::gui {

class TimelineView : public QWidget {
  Q_OBJECT
 public:
  explicit TimelineView(QWidget* parent = nullptr);
  void setTrace(const std::vector<TraceEvent>& events, double step_time);
  int rows() const { return static_cast<int>(rows_.size()); }

 protected:
  void paintEvent(QPaintEvent*) override;
  void wheelEvent(QWheelEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  bool event(QEvent*) override;

 private:
  double timeAt(double x) const;
  double xAt(double t) const;
  const TraceEvent* eventAt(QPoint point) const;

  std::vector<TraceEvent> events_;
  std::vector<std::pair<int, std::string>> rows_;  // (gpu, stream)
  double step_time_ = 0, view_start_ = 0, view_end_ = 1;
  int drag_x_ = 0;
  static constexpr int kLabelWidth = 150, kRowHeight = 18, kTop = 24;
};

}  // namespace trainsim::gui
