#include "topology_view.hpp"

#include <QGraphicsEllipseItem>
#include <QGraphicsScene>
#include <QGraphicsTextItem>
#include <boost/graph/fruchterman_reingold.hpp>
#include <boost/graph/random_layout.hpp>
#include <boost/graph/topology.hpp>
#include <map>
#include <random>

#include "topology/graph.hpp"

namespace trainsim::gui {

TopologyView::TopologyView(QWidget* parent) : QGraphicsView(parent) {
  setScene(new QGraphicsScene(this));
  setRenderHint(QPainter::Antialiasing);
  setDragMode(QGraphicsView::ScrollHandDrag);
}

void TopologyView::setTopology(const TopologySpec& topology, int gpus,
                               const std::map<std::string, double>& utilisation) {
  scene()->clear();
  const int nodes = std::max(1, (gpus + topology.gpus_per_node - 1) / topology.gpus_per_node);
  const ClusterGraph cluster = build_cluster_graph(topology, std::min(nodes, 256));
  // Collapse each node (GPUs + NVSwitch) into one vertex when the cluster is large.
  const bool collapse = cluster.gpus.size() > 64;
  using Layout = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  std::map<Vertex, int> index;
  std::vector<QString> labels;
  std::vector<QColor> colours;
  auto vertex_of = [&](Vertex v) -> int {
    const auto& info = cluster.graph[v];
    const bool in_node = info.kind == VertexKind::gpu || info.kind == VertexKind::node_switch;
    const Vertex key = collapse && in_node ? cluster.gpus[std::size_t(info.node) * topology.gpus_per_node] : v;
    auto it = index.find(key);
    if (it != index.end()) return it->second;
    const int id = static_cast<int>(labels.size());
    index[key] = id;
    if (collapse && in_node) {
      labels.push_back(QString("node %1").arg(info.node));
      colours.push_back(QColor("#4c72b0"));
    } else {
      labels.push_back(QString::fromStdString(info.name));
      colours.push_back(info.kind == VertexKind::gpu ? QColor("#4c72b0") : QColor("#dd8452"));
    }
    return id;
  };
  // The SimGrid link of a graph edge (names from network/platform.cpp): a GPU's own link is
  // "gpu<index>-<kind>", a link between switches "<source>-<target>".
  std::map<Vertex, int> gpu_index;
  for (std::size_t i = 0; i < cluster.gpus.size(); ++i) gpu_index[cluster.gpus[i]] = int(i);
  auto load_of = [&](const boost::graph_traits<Graph>::edge_descriptor& e) -> double {
    const Vertex s = boost::source(e, cluster.graph), t = boost::target(e, cluster.graph);
    std::string name;
    if (gpu_index.count(s))
      name = "gpu" + std::to_string(gpu_index[s]) + "-" + link_kind_name(cluster.graph[e].kind);
    else if (gpu_index.count(t))
      name = "gpu" + std::to_string(gpu_index[t]) + "-" + link_kind_name(cluster.graph[e].kind);
    else
      name = cluster.graph[s].name + "-" + cluster.graph[t].name;
    const auto it = utilisation.find(name);
    return it == utilisation.end() ? 0.0 : it->second;
  };
  // Collapsed vertices merge edges: keep the widest bandwidth and the busiest utilisation.
  std::map<std::pair<int, int>, std::pair<double, double>> merged;
  for (auto [e, end] = boost::edges(cluster.graph); e != end; ++e) {
    const int a = vertex_of(boost::source(*e, cluster.graph));
    const int b = vertex_of(boost::target(*e, cluster.graph));
    if (a == b) continue;
    auto& [bw, load] = merged[{std::min(a, b), std::max(a, b)}];
    bw = std::max(bw, cluster.graph[*e].bandwidth);
    load = std::max(load, load_of(*e));
  }
  std::vector<std::tuple<int, int, double>> edges;
  std::vector<double> loads;
  for (const auto& [ends, value] : merged) {
    edges.emplace_back(ends.first, ends.second, value.first);
    loads.push_back(value.second);
  }
  for (const Vertex gpu : cluster.gpus) vertex_of(gpu);
  Layout layout(labels.size());
  for (const auto& [a, b, bw] : edges) boost::add_edge(a, b, layout);
  using Topology = boost::square_topology<std::minstd_rand>;
  std::minstd_rand random(42);  // fixed seed: the same picture every time
  Topology square(random, 500);
  std::vector<Topology::point_type> positions(labels.size());
  auto position_map = boost::make_iterator_property_map(positions.begin(), boost::get(boost::vertex_index, layout));
  boost::random_graph_layout(layout, position_map, square);
  boost::fruchterman_reingold_force_directed_layout(layout, position_map, square);
  double max_bw = 1;
  for (const auto& [a, b, bw] : edges) max_bw = std::max(max_bw, bw);
  const bool by_load = !utilisation.empty();
  busiest_ = 0;
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const auto& [a, b, bw] = edges[i];
    const double share = bw / max_bw;
    const double load = std::min(1.0, loads[i]);
    busiest_ = std::max(busiest_, loads[i]);
    // Blue (idle) to red (saturated); grey for links that carried nothing in the simulated step.
    QPen pen(by_load ? (loads[i] > 0 ? QColor::fromHsvF(0.6 - 0.6 * load, 0.85, 0.85) : QColor("#c0c0c0"))
                     : QColor::fromHsvF(0.6 - 0.6 * share, 0.8, 0.8));
    pen.setWidthF(0.5 + 2.5 * share);
    scene()->addLine(positions[a][0], positions[a][1], positions[b][0], positions[b][1], pen);
  }
  for (std::size_t v = 0; v < labels.size(); ++v) {
    scene()->addEllipse(positions[v][0] - 6, positions[v][1] - 6, 12, 12, QPen(Qt::black), QBrush(colours[v]));
    if (labels.size() <= 80) {
      auto* text = scene()->addText(labels[v]);
      text->setPos(positions[v][0] + 6, positions[v][1] - 8);
      text->setScale(0.7);
    }
  }
  const QRectF drawn = scene()->itemsBoundingRect();
  const QString legend =
      by_load ? QString(
                    "colour: simulated utilisation over one step (blue idle, red saturated, grey unused; busiest "
                    "%1%), width: bandwidth")
                    .arg(100 * busiest_, 0, 'f', 1)
              : QString("link colour and width: bandwidth (red = fastest)");
  auto* title = scene()->addText(QString("%1: %2 GPUs%3; %4")
                                     .arg(QString::fromStdString(topology.name))
                                     .arg(cluster.gpus.size())
                                     .arg(collapse ? ", one vertex per node" : "")
                                     .arg(legend));
  title->setPos(drawn.left(), drawn.top() - 30);
  vertices_ = static_cast<int>(labels.size());
  fitInView(scene()->itemsBoundingRect(), Qt::KeepAspectRatio);
}

}  // namespace trainsim::gui
