#pragma once
// A Gantt chart of one simulated step: one row per (GPU, stream), compute and each kind of
// communication in its own colour, solid where it is exposed (no compute on that GPU meanwhile) and
// hatched where compute hides it; a time axis with labelled ticks under the rows. Wheel zooms
// around the cursor, drag pans, double-click shows the whole step, hover names the op; the
// Timeline tab's micro-batch box zooms to one micro-batch's ops on every stage.
#include <QWidget>
#include <map>

#include "engine/simulation.hpp"

namespace trainsim::gui {

class TimelineView : public QWidget {
  Q_OBJECT
 public:
  explicit TimelineView(QWidget* parent = nullptr);
  void setTrace(const std::vector<TraceEvent>& events, double step_time);
  int rows() const { return static_cast<int>(rows_.size()); }
  // The time axis of the shown range: tick times and their labels ("0 s", "250 ms", "1.5 s").
  std::vector<std::pair<double, QString>> ticks() const;
  // Seconds of communication on all rows that compute on the same GPU hides, and that it does not.
  double overlappedComm() const { return overlapped_; }
  double exposedComm() const { return exposed_; }
  // Shows the span of one micro-batch's compute on every stage (the ops named "... mb<k>"; the
  // communication and waits between them fall inside it) and returns false when
  // the trace has none; zoomOut() shows the whole step again. The shown range, in seconds:
  bool zoomToMicroBatch(int micro_batch);
  void zoomOut();
  std::pair<double, double> shownRange() const { return {view_start_, view_end_}; }
  // The micro-batches named in the trace (0 when none): what zoomToMicroBatch accepts.
  int microBatches() const { return micro_batches_; }

 protected:
  void paintEvent(QPaintEvent*) override;
  void wheelEvent(QWheelEvent*) override;
  void mousePressEvent(QMouseEvent*) override;
  void mouseMoveEvent(QMouseEvent*) override;
  bool event(QEvent*) override;
  void mouseDoubleClickEvent(QMouseEvent*) override;

 private:
  double timeAt(double x) const;
  double xAt(double t) const;
  const TraceEvent* eventAt(QPoint point) const;

  std::vector<TraceEvent> events_;
  std::vector<std::pair<int, std::string>> rows_;                  // (gpu, stream)
  std::map<int, std::vector<std::pair<double, double>>> compute_;  // per GPU, merged busy intervals
  double overlapped_ = 0, exposed_ = 0;
  double step_time_ = 0, view_start_ = 0, view_end_ = 1;
  int micro_batches_ = 0;
  int drag_x_ = 0;
  static constexpr int kLabelWidth = 150, kRowHeight = 18, kTop = 24;
};

}  // namespace trainsim::gui
