#include "timeline_view.hpp"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>
#include <algorithm>
#include <cmath>
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
bool is_comm(const std::string& stream) { return stream != "compute" && stream != "optimizer"; }

// The micro-batch an op's name ends with (" mb3" -> 3), or -1.
int micro_batch_of(const std::string& name) {
  const auto at = name.rfind(" mb");
  if (at == std::string::npos || at + 3 >= name.size()) return -1;
  int value = 0;
  for (std::size_t i = at + 3; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return -1;
    value = value * 10 + (name[i] - '0');
  }
  return value;
}

// A tick step of 1, 2 or 5 times a power of ten giving about `count` ticks over `span`.
double nice_step(double span, int count) {
  const double raw = span / std::max(1, count);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

// A tick label in the unit that suits the step: "250 ms", "1.5 s", "40 us".
QString tick_label(double t, double step) {
  if (t == 0) return "0";
  if (step >= 1) return QString::number(t, 'g', 6) + " s";
  if (step >= 1e-3) return QString::number(t * 1e3, 'g', 6) + " ms";
  return QString::number(t * 1e6, 'g', 6) + QString::fromUtf8(" \u00b5s");
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
  // Compute intervals per GPU, merged, to split each communication into hidden and exposed parts.
  compute_.clear();
  for (const auto& e : events_) {
    if (e.stream == "compute") compute_[e.gpu].push_back({e.start, e.end});
  }
  for (auto& [gpu, spans] : compute_) {
    std::sort(spans.begin(), spans.end());
    std::vector<std::pair<double, double>> merged;
    for (const auto& span : spans) {
      if (!merged.empty() && span.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, span.second);
      } else {
        merged.push_back(span);
      }
    }
    spans = std::move(merged);
  }
  micro_batches_ = 0;
  for (const auto& e : events_) micro_batches_ = std::max(micro_batches_, micro_batch_of(e.name) + 1);
  overlapped_ = exposed_ = 0;
  for (const auto& e : events_) {
    if (!is_comm(e.stream)) continue;
    double hidden = 0;
    for (const auto& [a, b] : compute_[e.gpu]) hidden += std::max(0.0, std::min(b, e.end) - std::max(a, e.start));
    overlapped_ += hidden;
    exposed_ += (e.end - e.start) - hidden;
  }
  setMinimumHeight(kTop + kRowHeight * std::max<int>(4, rows_.size()) + 64);
  update();
}

double TimelineView::xAt(double t) const {
  return kLabelWidth + (t - view_start_) / (view_end_ - view_start_) * (width() - kLabelWidth - 8);
}
double TimelineView::timeAt(double x) const {
  return view_start_ + (x - kLabelWidth) / (width() - kLabelWidth - 8) * (view_end_ - view_start_);
}

std::vector<std::pair<double, QString>> TimelineView::ticks() const {
  std::vector<std::pair<double, QString>> out;
  const double span = view_end_ - view_start_;
  if (span <= 0) return out;
  const double step = nice_step(span, std::max(2, (width() - kLabelWidth) / 110));
  for (double t = std::ceil(view_start_ / step) * step; t <= view_end_ + step * 1e-9; t += step) {
    out.push_back({t, tick_label(std::abs(t) < step * 1e-9 ? 0 : t, step)});
  }
  return out;
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
                       .arg(view_start_ > 0 ? QString::fromStdString(units::format_duration(view_start_)) : "0")
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
  // Time axis under the rows: a tick and a label at each nice time, faint grid lines over the rows.
  const int axis_y = kTop + static_cast<int>(rows_.size()) * kRowHeight + 2;
  painter.setPen(QColor("#444444"));
  painter.drawLine(kLabelWidth, axis_y, width() - 8, axis_y);
  for (const auto& [t, label] : ticks()) {
    const int x = int(xAt(t));
    painter.setPen(QColor("#e4e4e4"));
    painter.drawLine(x, kTop, x, axis_y);
    painter.setPen(QColor("#444444"));
    painter.drawLine(x, axis_y, x, axis_y + 4);
    const int w = painter.fontMetrics().horizontalAdvance(label);
    painter.drawText(std::min(std::max(kLabelWidth, x - w / 2), width() - 8 - w),
                     axis_y + 6 + painter.fontMetrics().ascent(), label);
  }
  // Legend under the axis.
  int legend_y = axis_y + 12 + painter.fontMetrics().height();
  int legend_x = kLabelWidth;
  for (const auto& [stream, label] :
       std::vector<std::pair<std::string, QString>>{{"compute", tr("compute")},
                                                    {"recompute", tr("recompute")},
                                                    {"tp", tr("TP comm")},
                                                    {"cp", tr("CP comm")},
                                                    {"ep", tr("EP comm")},
                                                    {"pp", tr("pipeline wait / transfer")},
                                                    {"dp", tr("DP comm")},
                                                    {"optimizer", tr("optimizer")},
                                                    {"hidden", tr("hatched: hidden behind compute")}}) {
    const int item = 30 + painter.fontMetrics().horizontalAdvance(label);
    if (legend_x > kLabelWidth && legend_x + item > width()) {  // wrap to the next line
      legend_x = kLabelWidth;
      legend_y += painter.fontMetrics().height() + 4;
    }
    if (stream == "hidden") {
      painter.setPen(QColor("#444444"));
      painter.setBrush(QBrush(QColor("#888888"), Qt::BDiagPattern));
      painter.drawRect(legend_x, legend_y, 12, 12);
      painter.drawText(legend_x + 16, legend_y + 11, label);
      continue;
    }
    painter.setPen(Qt::NoPen);
    painter.setBrush(stream == "recompute" ? colour("compute", "recompute") : colour(stream, ""));
    painter.drawRect(legend_x, legend_y, 12, 12);
    painter.setPen(QColor("#444444"));
    painter.drawText(legend_x + 16, legend_y + 11, label);
    legend_x += item;
  }
  painter.setPen(Qt::NoPen);
  for (const auto& e : events_) {
    if (e.end < view_start_ || e.start > view_end_) continue;
    const int row = row_of[{e.gpu, e.stream}];
    const double x0 = std::max<double>(kLabelWidth, xAt(e.start));
    const double x1 = std::max(x0 + 1, xAt(e.end));
    const QRectF bar(x0, kTop + row * kRowHeight + 2, x1 - x0, kRowHeight - 4);
    const QColor c = colour(e.stream, e.name);
    if (!is_comm(e.stream)) {
      painter.setBrush(c);
      painter.drawRect(bar);
      continue;
    }
    // Communication: solid where exposed, a light hatched fill where compute on the GPU hides it.
    painter.setBrush(c);
    painter.drawRect(bar);
    const auto it = compute_.find(e.gpu);
    if (it == compute_.end()) continue;
    for (const auto& [a, b] : it->second) {
      const double s0 = std::max(a, e.start), s1 = std::min(b, e.end);
      if (s1 <= s0 || s1 < view_start_ || s0 > view_end_) continue;
      const double hx0 = std::max<double>(kLabelWidth, xAt(s0)), hx1 = std::max(hx0 + 1, xAt(s1));
      const QRectF hidden(hx0, bar.top(), hx1 - hx0, bar.height());
      painter.setBrush(c.lighter(160));
      painter.drawRect(hidden);
      painter.setBrush(QBrush(c.darker(120), Qt::BDiagPattern));
      painter.drawRect(hidden);
    }
  }
}

void TimelineView::wheelEvent(QWheelEvent* event) {
  const double pivot = timeAt(event->position().x());
  const double factor = event->angleDelta().y() > 0 ? 0.8 : 1.25;
  view_start_ = std::max(0.0, pivot - (pivot - view_start_) * factor);
  view_end_ = std::min(std::max(step_time_, 1e-9), pivot + (view_end_ - pivot) * factor);
  update();
}

bool TimelineView::zoomToMicroBatch(int micro_batch) {
  double from = 1e300, to = -1e300;
  for (const auto& e : events_) {
    if (micro_batch_of(e.name) != micro_batch) continue;
    from = std::min(from, e.start);
    to = std::max(to, e.end);
  }
  if (from >= to) return false;
  // A margin of 2% each side, so the first and last ops do not touch the edges.
  const double margin = 0.02 * (to - from);
  view_start_ = std::max(0.0, from - margin);
  view_end_ = std::min(std::max(step_time_, to), to + margin);
  update();
  return true;
}

void TimelineView::zoomOut() {
  view_start_ = 0;
  view_end_ = std::max(step_time_, 1e-9);
  update();
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent*) { zoomOut(); }

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
