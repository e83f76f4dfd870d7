#pragma once
// The cluster drawn as a graph, laid out by Boost.Graph's Fruchterman-Reingold force-directed
// layout. Large clusters are collapsed: one vertex per node (its GPUs and NVSwitch), switches
// and routers kept; links coloured by bandwidth.
#include <QGraphicsView>

#include "scenario/hardware.hpp"

namespace trainsim::gui {

class TopologyView : public QGraphicsView {
  Q_OBJECT
 public:
  explicit TopologyView(QWidget* parent = nullptr);
  void setTopology(const TopologySpec& topology, int gpus);
  int vertices() const { return vertices_; }

 private:
  int vertices_ = 0;
};

}  // namespace trainsim::gui
