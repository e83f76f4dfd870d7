#include "topology_view.hpp"

#include <QGraphicsRectItem>
#include <QGraphicsScene>
#include <QGraphicsTextItem>
#include <QLinearGradient>
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "topology/graph.hpp"

namespace trainsim::gui {

namespace {

// Blue (idle) to red (saturated).
QColor load_colour(double load) { return QColor::fromHsvF(0.6 - 0.6 * std::clamp(load, 0.0, 1.0), 0.85, 0.85); }
const QColor kUnused("#c0c0c0");

constexpr double kGpuPitch = 16;  // between GPU circles inside a drawn node
constexpr double kTierGap = 140;  // between the rows of nodes, leaves, spines
constexpr double kNodeHeight = 44;

}  // namespace

TopologyView::TopologyView(QWidget* parent) : QGraphicsView(parent) {
  setScene(new QGraphicsScene(this));
  setRenderHint(QPainter::Antialiasing);
  setDragMode(QGraphicsView::ScrollHandDrag);
}

// The cluster by its structure: nodes in a row (a torus: on its grid), each switch tier a row
// above them, every switch over the nodes it serves (Sugiyama's barycenter ordering: a tier's
// switches sorted by the mean position of what they link below, then spread evenly). Small
// clusters draw each node's GPUs and NVSwitch; large ones one box per node.
void TopologyView::setTopology(const TopologySpec& topology, int gpus,
                               const std::map<std::string, double>& utilisation) {
  scene()->clear();
  scale_ = nullptr;
  const int nodes = std::max(1, (gpus + topology.gpus_per_node - 1) / topology.gpus_per_node);
  const ClusterGraph cluster = build_cluster_graph(topology, std::min(nodes, 256));
  const Graph& g = cluster.graph;
  const int per_node = topology.gpus_per_node;
  const bool expand = cluster.gpus.size() <= 64;
  const bool by_load = !utilisation.empty();

  // Units: a node (its GPUs and NVSwitch) or one switch. Unit of node n: n.
  const auto in_node = [&](Vertex v) { return g[v].kind == VertexKind::gpu || g[v].kind == VertexKind::node_switch; };
  std::vector<int> unit(boost::num_vertices(g), -1);
  std::vector<Vertex> switch_vertex;
  for (auto [v, end] = boost::vertices(g); v != end; ++v) {
    if (in_node(*v)) {
      unit[*v] = g[*v].node;
    } else {
      unit[*v] = cluster.nodes + static_cast<int>(switch_vertex.size());
      switch_vertex.push_back(*v);
    }
  }
  const int units = cluster.nodes + static_cast<int>(switch_vertex.size());
  std::vector<std::set<int>> neighbours(units);
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const int a = unit[boost::source(*e, g)], b = unit[boost::target(*e, g)];
    if (a == b) continue;
    neighbours[a].insert(b);
    neighbours[b].insert(a);
  }
  // Tier: hops from the nearest node.
  std::vector<int> tier(units, -1);
  std::vector<int> queue;
  for (int n = 0; n < cluster.nodes; ++n) {
    tier[n] = 0;
    queue.push_back(n);
  }
  for (std::size_t i = 0; i < queue.size(); ++i) {
    for (const int w : neighbours[queue[i]]) {
      if (tier[w] < 0) {
        tier[w] = tier[queue[i]] + 1;
        queue.push_back(w);
      }
    }
  }
  int top_tier = *std::max_element(tier.begin(), tier.end());
  if (std::find(tier.begin(), tier.end(), -1) != tier.end()) {  // switches no node reaches: a row of their own
    ++top_tier;
    for (int& t : tier) t = t < 0 ? top_tier : t;
  }

  // Positions of the units' centres.
  const double node_width = expand ? std::max(2, per_node) * kGpuPitch + 8 : 18;
  const double node_pitch = node_width + (expand ? 24 : 6);
  std::vector<QPointF> at(units);
  const bool torus = topology.fabric == FabricKind::torus && !topology.torus_dims.empty();
  int columns = cluster.nodes;
  if (torus) {
    // Node n at its first two coordinates; further dimensions put the planes side by side.
    columns = topology.torus_dims[0];
    const int rows = topology.torus_dims.size() > 1 ? topology.torus_dims[1] : 1;
    for (int n = 0; n < cluster.nodes; ++n) {
      const int x = n % columns, y = (n / columns) % rows, plane = n / (columns * std::max(1, rows));
      at[n] = QPointF((x + plane * (columns + 1)) * (node_pitch + 30), y * (kNodeHeight + 70));
    }
    for (std::size_t s = 0; s < switch_vertex.size(); ++s) {  // a router over its node
      const int u = cluster.nodes + int(s);
      const int below = neighbours[u].empty() ? 0 : *neighbours[u].begin();
      at[u] = at[std::min(below, cluster.nodes - 1)] + QPointF(0, -kNodeHeight / 2 - 22);
    }
  } else {
    // The nodes under one switch form a block, several rows deep when the cluster is drawn a
    // box a node, so that a large cluster keeps a readable shape.
    std::vector<std::vector<int>> blocks;
    std::map<int, std::size_t> block_of_switch;
    for (int n = 0; n < cluster.nodes; ++n) {
      int attached = -1;
      for (const int w : neighbours[n]) {
        if (tier[w] == 1) attached = attached < 0 ? w : std::min(attached, w);
      }
      const auto [it, added] = block_of_switch.emplace(attached < 0 ? -1 - n : attached, blocks.size());
      if (added) blocks.emplace_back();
      blocks[it->second].push_back(n);
    }
    double left = 0;
    for (const auto& block : blocks) {
      const int block_columns =
          expand ? int(block.size()) : std::max(1, int(std::ceil(std::sqrt(2.0 * double(block.size())))));
      for (std::size_t j = 0; j < block.size(); ++j) {
        at[block[j]] =
            QPointF(left + double(j % block_columns) * node_pitch, double(j / block_columns) * (kNodeHeight + 22));
      }
      left += (block_columns + 1) * node_pitch;
    }
    const double width = left - 2 * node_pitch;
    for (int t = 1; t <= top_tier; ++t) {
      std::vector<std::pair<double, int>> order;
      for (int u = cluster.nodes; u < units; ++u) {
        if (tier[u] != t) continue;
        double sum = 0;
        int count = 0;
        for (const int w : neighbours[u]) {
          if (tier[w] < t) {
            sum += at[w].x();
            ++count;
          }
        }
        order.emplace_back(count ? sum / count : width / 2, u);
      }
      std::sort(order.begin(), order.end());
      for (std::size_t i = 0; i < order.size(); ++i) {
        const double x = order.size() == 1 ? order[i].first : width * (double(i) + 0.5) / double(order.size());
        at[order[i].second] = QPointF(x, -t * kTierGap);
      }
    }
  }

  // Links: a GPU's NIC from the GPU (or its node's box), NVLink inside the box, the rest between
  // switch centres. Colour: simulated utilisation (SimGrid's link load, names as in
  // network/platform.cpp), or bandwidth when no prediction gave one; width: bandwidth.
  std::map<Vertex, int> gpu_index;
  for (std::size_t i = 0; i < cluster.gpus.size(); ++i) gpu_index[cluster.gpus[i]] = int(i);
  const auto gpu_point = [&](Vertex v) {
    const int local = gpu_index.at(v) % per_node;
    const QPointF box = at[g[v].node];
    return box + QPointF((local - (per_node - 1) / 2.0) * kGpuPitch, -kNodeHeight / 2 + 12);
  };
  const auto point = [&](Vertex v) {
    if (g[v].kind == VertexKind::gpu && expand) return gpu_point(v);
    if (g[v].kind == VertexKind::node_switch && expand) return at[g[v].node] + QPointF(0, kNodeHeight / 2 - 9);
    if (in_node(v)) return at[g[v].node] + QPointF(0, -kNodeHeight / 2);
    return at[unit[v]];
  };
  double max_bw = 1;
  for (auto [e, end] = boost::edges(g); e != end; ++e) max_bw = std::max(max_bw, g[*e].bandwidth);
  busiest_ = 0;
  std::map<std::pair<int, int>, bool> drawn_between;  // collapsed nodes: one line per node and switch
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const Vertex s = boost::source(*e, g), t = boost::target(*e, g);
    const LinkInfo& info = g[*e];
    if (!expand && unit[s] == unit[t]) continue;  // inside a collapsed node
    std::string name;
    if (gpu_index.count(s))
      name = "gpu" + std::to_string(gpu_index[s]) + "-" + link_kind_name(info.kind);
    else if (gpu_index.count(t))
      name = "gpu" + std::to_string(gpu_index[t]) + "-" + link_kind_name(info.kind);
    else
      name = g[s].name + "-" + g[t].name;
    const auto it = utilisation.find(name);
    const double load = it == utilisation.end() ? 0.0 : it->second;
    busiest_ = std::max(busiest_, load);
    if (!expand) {
      auto& drawn = drawn_between[{std::min(unit[s], unit[t]), std::max(unit[s], unit[t])}];
      if (drawn && load <= 0) continue;
      drawn = true;
    }
    const double share = info.bandwidth / max_bw;
    QPen pen(by_load ? (load > 0 ? load_colour(load) : kUnused) : QColor::fromHsvF(0.6 - 0.6 * share, 0.8, 0.8));
    pen.setWidthF(0.5 + 2.5 * share);
    scene()->addLine(QLineF(point(s), point(t)), pen)->setZValue(load > 0 ? 1 : 0);
  }

  // Nodes, then switches, on top of the links.
  int drawn_vertices = 0;
  for (int n = 0; n < cluster.nodes; ++n) {
    const QRectF box(at[n].x() - node_width / 2, at[n].y() - kNodeHeight / 2, node_width, kNodeHeight);
    auto* rect = scene()->addRect(box, QPen(QColor("#555555")), QBrush(QColor(235, 240, 248, expand ? 120 : 255)));
    rect->setZValue(expand ? -1 : 1.5);  // a drawn node under its links; a box over the lines behind it
    ++drawn_vertices;
    if (expand) {
      for (int local = 0; local < per_node; ++local) {
        const QPointF p = gpu_point(cluster.gpus[std::size_t(n) * per_node + local]);
        scene()->addEllipse(p.x() - 5, p.y() - 5, 10, 10, QPen(Qt::black), QBrush(QColor("#4c72b0")))->setZValue(2);
      }
      if (per_node > 1) {
        const QPointF p = at[n] + QPointF(0, kNodeHeight / 2 - 9);
        scene()->addRect(p.x() - 7, p.y() - 4, 14, 8, QPen(Qt::black), QBrush(QColor("#dd8452")))->setZValue(2);
      }
      auto* text = scene()->addText(QString("node %1").arg(n));
      text->setScale(0.6);
      text->setPos(box.left(), box.bottom());
    } else if (cluster.nodes <= 64 || n % 16 == 0) {
      auto* text = scene()->addText(QString::number(n));
      text->setScale(0.5);
      text->setPos(box.left(), box.bottom() - 4);
    }
  }
  for (std::size_t s = 0; s < switch_vertex.size(); ++s) {
    const QPointF p = at[cluster.nodes + int(s)];
    scene()->addEllipse(p.x() - 7, p.y() - 7, 14, 14, QPen(Qt::black), QBrush(QColor("#dd8452")))->setZValue(2);
    ++drawn_vertices;
    if (switch_vertex.size() <= 48) {
      auto* text = scene()->addText(QString::fromStdString(g[switch_vertex[s]].name));
      text->setScale(0.7);
      text->setPos(p.x() + 8, p.y() - 12);
      text->setZValue(3);
    }
  }
  vertices_ = drawn_vertices;
  placed_.clear();
  for (int n = 0; n < cluster.nodes; ++n) placed_[QString("node %1").arg(n)] = at[n];
  for (std::size_t s = 0; s < switch_vertex.size(); ++s)
    placed_[QString::fromStdString(g[switch_vertex[s]].name)] = at[cluster.nodes + int(s)];

  // Title and colour scale at a fixed size on screen, above the drawing.
  // The scene at least 1.6 times as wide as high, the legend at its left edge, so that the
  // legend (a fixed size on screen) fits beside a narrow drawing.
  QRectF drawn = scene()->itemsBoundingRect();
  drawn.adjust(-20, -160 * std::max(1.0, drawn.width() / 1000), 20, 20);
  if (drawn.width() < 1.6 * drawn.height()) {
    const double grow = (1.6 * drawn.height() - drawn.width()) / 2;
    drawn.adjust(-grow, 0, grow, 0);
  }
  auto* legend = scene()->addRect(QRectF(0, 0, 1, 1), Qt::NoPen);
  legend->setFlag(QGraphicsItem::ItemIgnoresTransformations);
  legend->setPos(drawn.left() + 20, drawn.top() + 100 * std::max(1.0, drawn.width() / 1000));
  legend->setZValue(5);
  const auto text = [&](const QString& words, double x, double y, double scale = 1.0) {
    auto* item = new QGraphicsTextItem(words, legend);
    item->setScale(scale);
    item->setPos(x, y);
  };
  text(QString("%1: %2 GPUs in %3 nodes%4")
           .arg(QString::fromStdString(topology.name))
           .arg(cluster.gpus.size())
           .arg(cluster.nodes)
           .arg(nodes > cluster.nodes ? QString(" (the first %1 of %2 drawn)").arg(cluster.nodes).arg(nodes)
                                      : QString()),
       0, -78);
  const QRectF bar(0, -50, 200, 10);
  QLinearGradient gradient(bar.topLeft(), bar.topRight());
  for (int i = 0; i <= 10; ++i) {
    const double f = i / 10.0;
    gradient.setColorAt(f, by_load ? load_colour(f) : QColor::fromHsvF(0.6 - 0.6 * f, 0.8, 0.8));
  }
  auto* bar_item = new QGraphicsRectItem(bar, legend);
  scale_ = bar_item;
  bar_item->setBrush(gradient);
  if (by_load) {
    text("0%", -6, -40, 0.8);
    text("50%", 88, -40, 0.8);
    text("100% of the link", 170, -40, 0.8);
    auto* unused = new QGraphicsRectItem(QRectF(300, -50, 10, 10), legend);
    unused->setBrush(kUnused);
    text(QString("unused;  utilisation over one simulated step, busiest link %1%;  width: bandwidth")
             .arg(100 * busiest_, 0, 'f', 1),
         312, -57, 0.8);
  } else {
    text("slowest", -6, -40, 0.8);
    text("fastest link", 160, -40, 0.8);
    text("colour and width: bandwidth (predict to colour by utilisation)", 230, -57, 0.8);
  }
  setSceneRect(drawn);
  fitInView(sceneRect(), Qt::KeepAspectRatio);
}

QPointF TopologyView::placed(const QString& name) const {
  const auto it = placed_.find(name);
  return it == placed_.end() ? QPointF(std::nan(""), std::nan("")) : it->second;
}

}  // namespace trainsim::gui
