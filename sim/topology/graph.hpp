#pragma once
// The cluster as a Boost.Graph graph: GPUs, the switch inside each node (NVSwitch), network
// switches and links with bandwidth and latency. Built from a TopologySpec; the SimGrid platform,
// `trainsim topology show/export` and the GUI's drawing all read this one graph.
//
// Fabrics are modelled at the level that decides bandwidth, not port by port: a fat tree's spine
// layer is one vertex whose link to each leaf carries the leaf's whole uplink bandwidth (what ideal
// ECMP would spread over many spines; SimGrid routes single-path). A rail-optimized fabric groups
// nodes in scalable units the same way. Tori and dragonflies keep every router and link.
#include <boost/graph/adjacency_list.hpp>
#include <string>
#include <utility>
#include <vector>

#include "scenario/hardware.hpp"

namespace trainsim {

enum class VertexKind { gpu, node_switch, leaf, spine, router };
const char* vertex_kind_name(VertexKind k);

struct VertexInfo {
  VertexKind kind = VertexKind::gpu;
  std::string name;
  int node = -1;  // the node it belongs to (gpu, node_switch), else -1
  int gpu = -1;   // global GPU index for gpus
};

enum class LinkKind { nvlink, nic, uplink, torus, local, global };
const char* link_kind_name(LinkKind k);

struct LinkInfo {
  LinkKind kind = LinkKind::nvlink;
  double bandwidth = 0;  // bytes/s, each direction
  double latency = 0;    // seconds
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS, VertexInfo, LinkInfo>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

struct ClusterGraph {
  TopologySpec spec;
  int nodes = 0;  // nodes in the graph (all of the topology, or those a job uses)
  Graph graph;
  std::vector<Vertex> gpus;           // by global GPU index
  std::vector<Vertex> node_switches;  // by node (absent for 1-GPU nodes: graph_traits null)
};

// `nodes` = 0 builds the whole topology; otherwise only its first `nodes` nodes.
ClusterGraph build_cluster_graph(const TopologySpec& spec, int nodes = 0);

struct GraphSummary {
  int gpus = 0, nodes = 0, switches = 0, links = 0;
  int diameter_hops = 0;           // longest shortest path between two GPUs, in links
  double diameter_latency = 0;     // its latency
  double bisection_bandwidth = 0;  // bytes/s, per direction: max flow between the two halves of the nodes
  double injection_bandwidth = 0;  // bytes/s, per GPU off the node
};
GraphSummary summarize(const ClusterGraph& cluster);

// Point-to-point flows between GPUs (global indices), all at once; those between GPUs of one
// node (NVLink) are left out. Each takes the route the simulator's platform gives it: its GPU's
// NIC, the shortest path through the fabric that SimGrid's Dijkstra routing takes among equal
// ones (network/platform.cpp), the other GPU's NIC; each link's bandwidth is split evenly over the
// flows that cross it in one direction. Returns the smallest share in bytes/s (infinity: none).
double slowest_flow_share(const ClusterGraph& cluster, const std::vector<std::pair<int, int>>& gpu_flows);

// What each flow gets from the fabric when rings over nodes run at once, as a data-parallel
// collective's do: each ring starts at one of `first_nodes` and visits first, first + node_stride,
// first + 2 node_stride, ... (`members` nodes; the last sends back to the first), and on each of
// its nodes the GPUs at `places` (indices within the node) send to the same places in the next.
// Returns the slowest flow's share (slowest_flow_share), a NIC's bandwidth at most.
double ring_flow_bandwidth(const ClusterGraph& cluster, const std::vector<int>& first_nodes, int node_stride,
                           int members, const std::vector<int>& places);

// GPU indices that GPU 0 cannot reach; an error for any topology that has them.
std::vector<int> unreachable_gpus(const ClusterGraph& cluster);

std::string to_dot(const ClusterGraph& cluster);

}  // namespace trainsim
