#pragma once
// The cluster drawn by its structure (the topology's Boost.Graph): nodes in a row, or on their
// torus grid; leaves, spines and routers in rows above, each over the nodes it serves. Up to 64
// GPUs each node shows its GPUs and NVSwitch; larger clusters one box per node (at most 256
// drawn). Links are coloured by their simulated utilisation when a prediction gave one
// (SimGrid's link load plugin: bytes carried / (bandwidth x step time)), on a drawn colour
// scale, else by bandwidth; the line width is always the bandwidth.
#include <QGraphicsView>
#include <QPointF>
#include <QString>
#include <map>
#include <string>

#include "scenario/hardware.hpp"

namespace trainsim::gui {

class TopologyView : public QGraphicsView {
  Q_OBJECT
 public:
  explicit TopologyView(QWidget* parent = nullptr);
  void setTopology(const TopologySpec& topology, int gpus, const std::map<std::string, double>& utilisation = {});
  // The utilisation drawn for the busiest link, 0 when coloured by bandwidth.
  double busiestLink() const { return busiest_; }
  int vertices() const { return vertices_; }
  // Where a node ("node 3") or a switch (its topology name, "leaf0") was drawn; NaN if not drawn.
  QPointF placed(const QString& name) const;
  // The colour scale drawn with the topology (null before the first one).
  const QGraphicsItem* colourScale() const { return scale_; }

 private:
  int vertices_ = 0;
  double busiest_ = 0;
  std::map<QString, QPointF> placed_;
  const QGraphicsItem* scale_ = nullptr;
};

}  // namespace trainsim::gui
