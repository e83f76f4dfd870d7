#include "topology/graph.hpp"

#include <algorithm>
#include <boost/graph/breadth_first_search.hpp>
#include <boost/graph/push_relabel_max_flow.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace trainsim {

const char* vertex_kind_name(VertexKind k) {
  switch (k) {
    case VertexKind::gpu:
      return "gpu";
    case VertexKind::node_switch:
      return "nvswitch";
    case VertexKind::leaf:
      return "leaf";
    case VertexKind::spine:
      return "spine";
    case VertexKind::router:
      return "router";
  }
  return "?";
}

const char* link_kind_name(LinkKind k) {
  switch (k) {
    case LinkKind::nvlink:
      return "nvlink";
    case LinkKind::nic:
      return "nic";
    case LinkKind::uplink:
      return "uplink";
    case LinkKind::torus:
      return "torus";
    case LinkKind::local:
      return "local";
    case LinkKind::global:
      return "global";
  }
  return "?";
}

namespace {

Vertex add(Graph& g, VertexKind kind, std::string name, int node = -1, int gpu = -1) {
  return boost::add_vertex(VertexInfo{kind, std::move(name), node, gpu}, g);
}

void link(Graph& g, Vertex a, Vertex b, LinkKind kind, double bandwidth, double latency) {
  boost::add_edge(a, b, LinkInfo{kind, bandwidth, latency}, g);
}

// Attaches every GPU of `node` to network vertex `to` with its NIC.
void attach_nics(ClusterGraph& c, int node, Vertex to) {
  const auto& t = c.spec;
  for (int local = 0; local < t.gpus_per_node; ++local) {
    const Vertex gpu = c.gpus[std::size_t(node) * t.gpus_per_node + local];
    // A NIC link carries the host adapter's latency and half of the first switch's.
    link(c.graph, gpu, to, LinkKind::nic, t.nic_bandwidth, t.nic_latency / 2 + t.switch_latency / 2);
  }
}

void build_tree(ClusterGraph& c) {
  const auto& t = c.spec;
  const int leaves = (c.nodes + t.nodes_per_leaf - 1) / t.nodes_per_leaf;
  std::vector<Vertex> leaf(leaves);
  for (int l = 0; l < leaves; ++l) leaf[l] = add(c.graph, VertexKind::leaf, "leaf" + std::to_string(l));
  for (int n = 0; n < c.nodes; ++n) attach_nics(c, n, leaf[n / t.nodes_per_leaf]);
  if (leaves == 1) return;
  const Vertex spine = add(c.graph, VertexKind::spine, "spine");
  for (int l = 0; l < leaves; ++l) {
    const int nodes_here = std::min(t.nodes_per_leaf, c.nodes - l * t.nodes_per_leaf);
    const double down = double(nodes_here) * t.gpus_per_node * t.nic_bandwidth;
    link(c.graph, leaf[l], spine, LinkKind::uplink, down / t.oversubscription, t.switch_latency);
  }
}

void build_torus(ClusterGraph& c) {
  const auto& t = c.spec;
  std::vector<Vertex> router(c.nodes);
  for (int n = 0; n < c.nodes; ++n) {
    router[n] = add(c.graph, VertexKind::router, "router" + std::to_string(n));
    attach_nics(c, n, router[n]);
  }
  // Node n has coordinates in mixed radix over dims; link to the next node along each dimension.
  const auto& dims = t.torus_dims;
  for (int n = 0; n < c.nodes; ++n) {
    int stride = 1;
    for (const int size : dims) {
      const int coordinate = (n / stride) % size;
      const int next = n + (((coordinate + 1) % size) - coordinate) * stride;
      if (size > 1 && next < c.nodes && (size > 2 || coordinate == 0)) {
        link(c.graph, router[n], router[next], LinkKind::torus, t.torus_link_bandwidth, t.switch_latency);
      }
      stride *= size;
    }
  }
}

void build_dragonfly(ClusterGraph& c) {
  const auto& t = c.spec;
  const int per_group = t.dragonfly_routers_per_group;
  const int routers_needed = (c.nodes + t.dragonfly_nodes_per_router - 1) / t.dragonfly_nodes_per_router;
  const int groups = (routers_needed + per_group - 1) / per_group;
  std::vector<Vertex> router(std::size_t(groups) * per_group);
  for (std::size_t r = 0; r < router.size(); ++r) {
    router[r] = add(c.graph, VertexKind::router, "router" + std::to_string(r));
  }
  for (int n = 0; n < c.nodes; ++n) attach_nics(c, n, router[n / t.dragonfly_nodes_per_router]);
  const double local_bandwidth = double(t.dragonfly_nodes_per_router) * t.gpus_per_node * t.nic_bandwidth;
  for (int g = 0; g < groups; ++g) {
    for (int a = 0; a < per_group; ++a) {
      for (int b = a + 1; b < per_group; ++b) {
        link(c.graph, router[g * per_group + a], router[g * per_group + b], LinkKind::local, local_bandwidth,
             t.switch_latency);
      }
    }
  }
  // One global link per pair of groups, spread over the routers of each group.
  for (int g = 0; g < groups; ++g) {
    for (int h = g + 1; h < groups; ++h) {
      link(c.graph, router[g * per_group + h % per_group], router[h * per_group + g % per_group], LinkKind::global,
           t.dragonfly_global_bandwidth, t.switch_latency);
    }
  }
}

}  // namespace

ClusterGraph build_cluster_graph(const TopologySpec& spec, int nodes) {
  ClusterGraph c;
  c.spec = spec;
  c.nodes = nodes > 0 ? std::min(nodes, spec.nodes) : spec.nodes;
  const int per_node = spec.gpus_per_node;
  c.gpus.reserve(std::size_t(c.nodes) * per_node);
  for (int n = 0; n < c.nodes; ++n) {
    for (int local = 0; local < per_node; ++local) {
      const int index = n * per_node + local;
      c.gpus.push_back(add(c.graph, VertexKind::gpu, "gpu" + std::to_string(index), n, index));
    }
    if (per_node > 1) {
      const Vertex sw = add(c.graph, VertexKind::node_switch, "node" + std::to_string(n) + "-nvswitch", n);
      c.node_switches.push_back(sw);
      for (int local = 0; local < per_node; ++local) {
        // Latency split so that GPU -> switch -> GPU adds up to the node's latency.
        link(c.graph, c.gpus[std::size_t(n) * per_node + local], sw, LinkKind::nvlink,
             spec.gpu_of_node(n).nvlink_bandwidth, spec.intra_latency / 2);
      }
    }
  }
  if (c.nodes > 1) {
    switch (spec.fabric) {
      case FabricKind::fat_tree:
      case FabricKind::rail_optimized:
        build_tree(c);
        break;
      case FabricKind::torus:
        build_torus(c);
        break;
      case FabricKind::dragonfly:
        build_dragonfly(c);
        break;
      case FabricKind::none:
        break;  // unreachable GPUs; unreachable_gpus() names them
    }
  }
  return c;
}

namespace {

std::vector<int> hops_from(const Graph& g, Vertex source) {
  std::vector<int> distance(boost::num_vertices(g), -1);
  std::vector<Vertex> queue{source};
  distance[source] = 0;
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const Vertex v = queue[head];
    for (auto [e, end] = boost::out_edges(v, g); e != end; ++e) {
      const Vertex w = boost::target(*e, g);
      if (distance[w] < 0) {
        distance[w] = distance[v] + 1;
        queue.push_back(w);
      }
    }
  }
  return distance;
}

// Lowest-latency path cost by Dijkstra over link latencies (small graphs, simple heap).
std::vector<double> latency_from(const Graph& g, Vertex source) {
  std::vector<double> best(boost::num_vertices(g), std::numeric_limits<double>::infinity());
  using Item = std::pair<double, Vertex>;
  std::vector<Item> heap{{0.0, source}};
  best[source] = 0;
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>());
    const auto [d, v] = heap.back();
    heap.pop_back();
    if (d > best[v]) continue;
    for (auto [e, end] = boost::out_edges(v, g); e != end; ++e) {
      const Vertex w = boost::target(*e, g);
      const double candidate = d + g[*e].latency;
      if (candidate < best[w]) {
        best[w] = candidate;
        heap.emplace_back(candidate, w);
        std::push_heap(heap.begin(), heap.end(), std::greater<>());
      }
    }
  }
  return best;
}

double max_flow_between_halves(const ClusterGraph& c) {
  using Traits = boost::adjacency_list_traits<boost::vecS, boost::vecS, boost::directedS>;
  using FlowGraph = boost::adjacency_list<
      boost::vecS, boost::vecS, boost::directedS, boost::no_property,
      boost::property<boost::edge_capacity_t, double,
                      boost::property<boost::edge_residual_capacity_t, double,
                                      boost::property<boost::edge_reverse_t, Traits::edge_descriptor>>>>;
  const std::size_t n = boost::num_vertices(c.graph);
  FlowGraph flow(n + 2);
  auto capacity = boost::get(boost::edge_capacity, flow);
  auto reverse = boost::get(boost::edge_reverse, flow);
  auto add_arc = [&](std::size_t a, std::size_t b, double cap) {
    const auto forward = boost::add_edge(a, b, flow).first;
    const auto backward = boost::add_edge(b, a, flow).first;
    capacity[forward] = cap;
    capacity[backward] = 0;
    reverse[forward] = backward;
    reverse[backward] = forward;
  };
  for (auto [e, end] = boost::edges(c.graph); e != end; ++e) {
    const auto a = boost::source(*e, c.graph);
    const auto b = boost::target(*e, c.graph);
    add_arc(a, b, c.graph[*e].bandwidth);
    add_arc(b, a, c.graph[*e].bandwidth);
  }
  const std::size_t source = n;
  const std::size_t sink = n + 1;
  const double unlimited = 1e30;
  const int half = c.nodes / 2;
  for (const Vertex gpu : c.gpus) {
    const int node = c.graph[gpu].node;
    if (node < half)
      add_arc(source, gpu, unlimited);
    else
      add_arc(gpu, sink, unlimited);
  }
  return boost::push_relabel_max_flow(flow, source, sink);
}

// One link of a node's vertex: from (a GPU by its place in the node, or -1 the node's switch), to
// (inside the node: -2 minus that code; outside: the vertex), and the link's kind and figures.
using NodeLink = std::tuple<int, long, LinkKind, double, double>;

std::vector<NodeLink> node_links(const ClusterGraph& c, int node) {
  const Graph& g = c.graph;
  const int per_node = c.spec.gpus_per_node;
  auto place = [&](Vertex v) { return g[v].kind == VertexKind::gpu ? g[v].gpu - node * per_node : -1; };
  std::vector<Vertex> members(c.gpus.begin() + std::ptrdiff_t(node) * per_node,
                              c.gpus.begin() + std::ptrdiff_t(node + 1) * per_node);
  if (std::size_t(node) < c.node_switches.size() && c.node_switches[node] != boost::graph_traits<Graph>::null_vertex())
    members.push_back(c.node_switches[node]);
  std::vector<NodeLink> links;
  for (const Vertex v : members) {
    for (auto [e, end] = boost::out_edges(v, g); e != end; ++e) {
      const Vertex t = boost::target(*e, g);
      const long to = g[t].node == node ? -2L - place(t) : long(t);
      links.emplace_back(place(v), to, g[*e].kind, g[*e].bandwidth, g[*e].latency);
    }
  }
  std::sort(links.begin(), links.end());
  return links;
}

}  // namespace

double slowest_flow_share(const ClusterGraph& c, const std::vector<std::pair<int, int>>& gpu_flows) {
  const Graph& g = c.graph;
  const auto is_fabric = [&](Vertex v) { return g[v].kind != VertexKind::gpu && g[v].kind != VertexKind::node_switch; };
  // Fewest links from one fabric vertex to another, through fabric vertices only (a route leaves
  // a node by its NIC, never through another GPU). Among equal paths, the one SimGrid's Dijkstra
  // zone takes (network/platform.cpp puts the fabric in one): it pops vertices by (links, id) and
  // keeps the first predecessor that reaches a vertex, so each vertex's predecessor is its
  // lowest-numbered neighbour one link nearer the source (the platform numbers switches in this
  // graph's order).
  const Vertex none = boost::graph_traits<Graph>::null_vertex();
  std::map<Vertex, std::vector<int>> distances;
  std::map<std::pair<Vertex, Vertex>, std::vector<std::pair<Vertex, Vertex>>> paths;
  const auto fabric_path = [&](Vertex from, Vertex to) -> const std::vector<std::pair<Vertex, Vertex>>& {
    auto [it, fresh] = paths.try_emplace({from, to});
    if (!fresh || from == to) return it->second;
    auto [known, first] = distances.try_emplace(from);
    std::vector<int>& distance = known->second;
    if (first) {
      distance.assign(boost::num_vertices(g), -1);
      std::vector<Vertex> queue{from};
      distance[from] = 0;
      for (std::size_t head = 0; head < queue.size(); ++head) {
        for (auto [e, end] = boost::out_edges(queue[head], g); e != end; ++e) {
          const Vertex w = boost::target(*e, g);
          if (!is_fabric(w) || distance[w] >= 0) continue;
          distance[w] = distance[queue[head]] + 1;
          queue.push_back(w);
        }
      }
    }
    if (distance[to] < 0) return it->second;  // unreachable: NICs only
    for (Vertex v = to; v != from;) {
      Vertex previous = none;
      for (auto [e, end] = boost::out_edges(v, g); e != end; ++e) {
        const Vertex w = boost::target(*e, g);
        if (is_fabric(w) && distance[w] == distance[v] - 1 && (previous == none || w < previous)) previous = w;
      }
      it->second.emplace_back(previous, v);
      v = previous;
    }
    return it->second;
  };
  const auto nic_of = [&](Vertex gpu) {
    for (auto [e, end] = boost::out_edges(gpu, g); e != end; ++e) {
      if (g[*e].kind != LinkKind::nvlink) return boost::target(*e, g);
    }
    return none;
  };
  // Every flow's directed links (NICs included), then how many flows each carries.
  std::vector<std::vector<std::pair<Vertex, Vertex>>> routes;
  std::map<std::pair<Vertex, Vertex>, int> load;
  for (const auto& [a, b] : gpu_flows) {
    const Vertex from = c.gpus.at(std::size_t(a)), to = c.gpus.at(std::size_t(b));
    const Vertex out = nic_of(from), in = nic_of(to);
    if (g[from].node == g[to].node || out == none || in == none) continue;
    std::vector<std::pair<Vertex, Vertex>> route{{from, out}};
    const auto& middle = fabric_path(out, in);
    route.insert(route.end(), middle.rbegin(), middle.rend());
    route.emplace_back(in, to);
    for (const auto& hop : route) ++load[hop];
    routes.push_back(std::move(route));
  }
  double slowest = std::numeric_limits<double>::infinity();
  for (const auto& route : routes) {
    for (const auto& [from, to] : route) {
      const double bandwidth = g[boost::edge(from, to, g).first].bandwidth;
      slowest = std::min(slowest, bandwidth / load.at({from, to}));
    }
  }
  return slowest;
}

double ring_flow_bandwidth(const ClusterGraph& c, const std::vector<int>& first_nodes, int node_stride, int members,
                           const std::vector<int>& places) {
  const int per_node = c.spec.gpus_per_node;
  node_stride = std::max(1, node_stride);
  std::vector<std::pair<int, int>> flows;
  for (const int first : first_nodes) {
    const int ring = std::min(members, (c.nodes - 1 - first) / node_stride + 1);
    for (int m = 0; ring > 1 && m < ring; ++m) {
      const int a = first + m * node_stride, b = first + ((m + 1) % ring) * node_stride;
      for (const int place : places) {
        if (place >= 0 && place < per_node) flows.emplace_back(a * per_node + place, b * per_node + place);
      }
    }
  }
  return std::min(c.spec.nic_bandwidth, slowest_flow_share(c, flows));
}

std::vector<int> unreachable_gpus(const ClusterGraph& c) {
  std::vector<int> missing;
  if (c.gpus.empty()) return missing;
  const auto distance = hops_from(c.graph, c.gpus.front());
  for (const Vertex gpu : c.gpus) {
    if (distance[gpu] < 0) missing.push_back(c.graph[gpu].gpu);
  }
  return missing;
}

GraphSummary summarize(const ClusterGraph& c) {
  GraphSummary s;
  s.gpus = static_cast<int>(c.gpus.size());
  s.nodes = c.nodes;
  s.links = static_cast<int>(boost::num_edges(c.graph));
  for (auto [v, end] = boost::vertices(c.graph); v != end; ++v) {
    if (c.graph[*v].kind != VertexKind::gpu) ++s.switches;
  }
  // Every GPU of a node has the same attachments, so one source per node gives the exact diameter;
  // and nodes with the same links to the same switches are interchangeable (a scalable unit's
  // nodes on its rail leaves), so one of each kind does (a 100K-GPU SuperPOD: 392 of 12,544).
  std::set<std::vector<NodeLink>> seen;
  for (int n = 0; n < c.nodes; ++n) {
    if (!seen.insert(node_links(c, n)).second) continue;
    const Vertex source = c.gpus[std::size_t(n) * c.spec.gpus_per_node];
    const auto hops = hops_from(c.graph, source);
    const auto latency = latency_from(c.graph, source);
    for (const Vertex gpu : c.gpus) {
      if (hops[gpu] > s.diameter_hops) s.diameter_hops = hops[gpu];
      if (std::isfinite(latency[gpu])) s.diameter_latency = std::max(s.diameter_latency, latency[gpu]);
    }
  }
  s.bisection_bandwidth = c.nodes > 1 ? max_flow_between_halves(c) : 0;
  s.injection_bandwidth = c.nodes > 1 ? c.spec.nic_bandwidth : 0;
  return s;
}

std::string to_dot(const ClusterGraph& c) {
  std::ostringstream out;
  out << "graph \"" << c.spec.name << "\" {\n  node [shape=box, fontsize=10];\n";
  for (auto [v, end] = boost::vertices(c.graph); v != end; ++v) {
    const auto& info = c.graph[*v];
    const char* shape = info.kind == VertexKind::gpu ? "box" : "ellipse";
    out << "  v" << *v << " [label=\"" << info.name << "\", shape=" << shape << ", kind=" << vertex_kind_name(info.kind)
        << "];\n";
  }
  for (auto [e, end] = boost::edges(c.graph); e != end; ++e) {
    const auto& info = c.graph[*e];
    out << "  v" << boost::source(*e, c.graph) << " -- v" << boost::target(*e, c.graph)
        << " [kind=" << link_kind_name(info.kind) << ", bandwidth=\"" << info.bandwidth << "\", latency=\""
        << info.latency << "\"];\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace trainsim
