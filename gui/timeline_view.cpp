#include "timeline_view.hpp"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <map>

#include "scenario/units.hpp"

namespace trainsim::gui {

namespace {
QColor colour(const std::string& stream, const std::string& name) {
  if (stream == "compute") return name.find("recompute") != std::string::npos ? QColor("#8172b3") : QColor("#4c72b0");
  static const std::map<std::string, QColor> colours = {{"tp", QColor("#dd8452")}, {"cp", QColor("#c44e52")},
                                                        {"ep", QColor("#937860")}, {"pp", QColor("#bbbbbb")},
                                                        {"dp", QColor("#55a868")}, {"optimizer", QColor("#da8bc3")}};
  const auto it = colours.find(stream);
  return it == colours.end() ? QColor("#333333") : it->second;
}
}  // namespace

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setMinimumHeight(200);
}

void TimelineView::setTrace(const std::vector<TraceEvent>& events, double step_time) {
  events_ = events;
  step_time_ = step_time;
  view_start_ = 0;
  view_end_ = std::max(step_time, 1e-9);
  std::map<std::pair<int, std::string>, bool> seen;
  for (const auto& e : events_) seen[{e.gpu, e.stream}] = true;
  rows_.clear();
  for (const auto& [key, present] : seen) rows_.push_back(key);
  setMinimumHeight(kTop + kRowHeight * std::max<int>(4, rows_.size()) + 32);
  update();
}

double TimelineView::xAt(double t) const {
  return kLabelWidth + (t - view_start_) / (view_end_ - view_start_) * (width() - kLabelWidth - 8);
}
double TimelineView::timeAt(double x) const {
  return view_start_ + (x - kLabelWidth) / (width() - kLabelWidth - 8) * (view_end_ - view_start_);
}

void TimelineView::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), Qt::white);
  if (rows_.empty()) {
    painter.drawText(rect(), Qt::AlignCenter, tr("Run a prediction to see one simulated step."));
    return;
  }
  painter.setPen(Qt::black);
  painter.drawText(QRect(kLabelWidth, 2, width() - kLabelWidth, 20), Qt::AlignLeft,
                   tr("%1 to %2 of a %3 step")
                       .arg(QString::fromStdString(units::format_duration(view_start_)))
                       .arg(QString::fromStdString(units::format_duration(view_end_)))
                       .arg(QString::fromStdString(units::format_duration(step_time_))));
  std::map<std::pair<int, std::string>, int> row_of;
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    row_of[rows_[r]] = static_cast<int>(r);
    const int y = kTop + static_cast<int>(r) * kRowHeight;
    painter.setPen(QColor("#444444"));
    painter.drawText(QRect(4, y, kLabelWidth - 8, kRowHeight), Qt::AlignVCenter | Qt::AlignLeft,
                     QString("GPU %1 %2").arg(rows_[r].first).arg(QString::fromStdString(rows_[r].second)));
    painter.setPen(QColor("#eeeeee"));
    painter.drawLine(kLabelWidth, y + kRowHeight, width(), y + kRowHeight);
  }
  // Legend under the rows.
  const int legend_y = kTop + static_cast<int>(rows_.size()) * kRowHeight + 8;
  int legend_x = kLabelWidth;
  for (const auto& [stream, label] : std::vector<std::pair<std::string, QString>>{
           {"compute", tr("compute")}, {"recompute", tr("recompute")}, {"tp", tr("TP comm")}, {"cp", tr("CP comm")},
           {"ep", tr("EP comm")}, {"pp", tr("pipeline wait / transfer")}, {"dp", tr("DP comm")},
           {"optimizer", tr("optimizer")}}) {
    painter.setPen(Qt::NoPen);
    painter.setBrush(stream == "recompute" ? colour("compute", "recompute") : colour(stream, ""));
    painter.drawRect(legend_x, legend_y, 12, 12);
    painter.setPen(QColor("#444444"));
    painter.drawText(legend_x + 16, legend_y + 11, label);
    legend_x += 30 + painter.fontMetrics().horizontalAdvance(label);
  }
  painter.setPen(Qt::NoPen);
  for (const auto& e : events_) {
    if (e.end < view_start_ || e.start > view_end_) continue;
    const int row = row_of[{e.gpu, e.stream}];
    const double x0 = std::max<double>(kLabelWidth, xAt(e.start));
    const double x1 = std::max(x0 + 1, xAt(e.end));
    painter.setBrush(colour(e.stream, e.name));
    painter.drawRect(QRectF(x0, kTop + row * kRowHeight + 2, x1 - x0, kRowHeight - 4));
  }
}

void TimelineView::wheelEvent(QWheelEvent* event) {
  const double pivot = timeAt(event->position().x());
  const double factor = event->angleDelta().y() > 0 ? 0.8 : 1.25;
  view_start_ = std::max(0.0, pivot - (pivot - view_start_) * factor);
  view_end_ = std::min(std::max(step_time_, 1e-9), pivot + (view_end_ - pivot) * factor);
  update();
}

void TimelineView::mousePressEvent(QMouseEvent* event) { drag_x_ = int(event->position().x()); }

void TimelineView::mouseMoveEvent(QMouseEvent* event) {
  if (!(event->buttons() & Qt::LeftButton)) return;
  const double shift = timeAt(drag_x_) - timeAt(event->position().x());
  const double span = view_end_ - view_start_;
  view_start_ = std::clamp(view_start_ + shift, 0.0, std::max(0.0, step_time_ - span));
  view_end_ = view_start_ + span;
  drag_x_ = int(event->position().x());
  update();
}

const TraceEvent* TimelineView::eventAt(QPoint point) const {
  const int row = (point.y() - kTop) / kRowHeight;
  if (row < 0 || row >= int(rows_.size()) || point.y() < kTop) return nullptr;
  const double t = timeAt(point.x());
  for (const auto& e : events_) {
    if (e.gpu == rows_[row].first && e.stream == rows_[row].second && e.start <= t && t <= e.end) return &e;
  }
  return nullptr;
}

bool TimelineView::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    const auto* help = static_cast<QHelpEvent*>(event);
    if (const TraceEvent* e = eventAt(help->pos())) {
      QToolTip::showText(help->globalPos(), QString("%1\n%2: %3, from %4")
                                                .arg(QString::fromStdString(e->name))
                                                .arg(QString::fromStdString(e->stream))
                                                .arg(QString::fromStdString(units::format_duration(e->end - e->start)))
                                                .arg(QString::fromStdString(units::format_duration(e->start))));
    } else {
      QToolTip::hideText();
    }
    return true;
  }
  return QWidget::event(event);
}

}  // namespace trainsim::gui
