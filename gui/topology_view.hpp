#pragma once
// The cluster drawn as a graph, laid out by Boost.Graph's Fruchterman-Reingold force-directed
// layout. Large clusters are collapsed: one vertex per node (its GPUs and NVSwitch), switches
// and routers kept. Links are coloured by their simulated utilisation when a prediction gave one
// (SimGrid's link load plugin: bytes carried / (bandwidth x step time)), else by bandwidth; the
// line width is always the bandwidth.
#include <QGraphicsView>
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

 private:
  int vertices_ = 0;
  double busiest_ = 0;
};

}  // namespace trainsim::gui
