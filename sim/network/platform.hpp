#pragma once
// The cluster graph as a SimGrid platform. Each node is a full zone of GPU hosts whose routes use
// the GPU's NVLink port (to another GPU) or its NIC (to the node's gateway); each network switch
// is a one-router zone; the root is a Dijkstra zone over nodes and switches, so routes are
// computed on demand and cached, which keeps 16K-GPU platforms small.
//
// SimGrid settings are pinned here (see docs/simulator.md): CM02 network model with
// crosstraffic and TCP-gamma off (no TCP window cap, no reverse-traffic penalty: NVLink and
// InfiniBand are credit-based), Lazy update, default precision.
#include <map>
#include <simgrid/s4u.hpp>
#include <string>
#include <utility>
#include <vector>

#include "topology/graph.hpp"

namespace trainsim {

// NCCL moves data over NVLink at about 82% of the line rate: "450GB/s is the line rate. With the
// protocol overhead (~20%) NCCL can get an effective NVLink bandwidth of 370GB/s" (S. Jeaugey,
// NCCL maintainer, NVIDIA/nccl-tests issue #212, 2024, H100). NVLink links of the platform carry
// this share of the GPU preset's per-direction rate; NICs keep theirs.
inline constexpr double kNvlinkProtocolEfficiency = 370.0 / 450.0;
inline double nccl_nvlink_bandwidth(double line_rate) { return kNvlinkProtocolEfficiency * line_rate; }

// Configures a fresh SimGrid engine with the pinned model settings.
void configure_simgrid(simgrid::s4u::Engine& engine);

class Platform {
 public:
  Platform(simgrid::s4u::Engine& engine, const ClusterGraph& cluster);
  simgrid::s4u::Host* gpu(int index) const { return hosts_.at(index); }
  int gpus() const { return static_cast<int>(hosts_.size()); }
  // Latency and narrowest bandwidth of the route between two GPUs.
  double latency(int a, int b) const;
  double bandwidth(int a, int b) const;
  // A flow of `bytes` from a to b that is not simulated (a mirrored collective): its links'
  // dynamic energy, (busy - idle power) / bandwidth per byte, as SimGrid's link energy plugin
  // would have counted it.
  void add_mirrored_flow(int a, int b, double bytes) const;
  double mirrored_energy_j() const { return mirrored_energy_j_; }
  // A mailbox no flow in flight uses (network/collectives.cpp runs large flow sets through them);
  // give it back once its flows are done. Mailboxes live as long as the engine, so they are reused.
  simgrid::s4u::Mailbox* borrow_mailbox() const;
  void return_mailbox(simgrid::s4u::Mailbox* box) const { free_mailboxes_.push_back(box); }
  // The NVLS all-reduce bus bandwidth of a GPU's NVLink domain (its node); 0: none.
  double nvls_bandwidth(int gpu) const { return nvls_bandwidth_.at(gpu); }
  // Whether the network's switches reduce all-reduces between nodes (TopologySpec).
  bool in_network_reduction() const { return in_network_reduction_; }
  // The platform's fabric's nodes_alike() (below).
  bool nodes_alike() const { return nodes_alike_; }

 private:
  std::vector<simgrid::s4u::Host*> hosts_;
  std::vector<double> nvls_bandwidth_;
  bool in_network_reduction_ = false;
  bool nodes_alike_ = true;
  mutable double mirrored_energy_j_ = 0;
  mutable std::vector<simgrid::s4u::Mailbox*> free_mailboxes_;
  mutable int mailboxes_ = 0;
  mutable std::map<std::pair<int, int>, double> joules_per_byte_;  // per route
  // Latency and narrowest bandwidth per route, as first looked up: collectives ask for the same
  // routes over and over, and each SimGrid lookup walks the zone tree.
  struct RouteFacts {
    double latency = 0;
    double bandwidth = 0;
  };
  const RouteFacts& route_facts(int a, int b) const;
  mutable std::map<std::pair<int, int>, RouteFacts> route_facts_;
};

// Whether identical collectives on disjoint GPU sets (the TP ranks' data-parallel rings) never
// slow each other: each GPU has its own NVLink port and NIC, and the only links they share are
// the node's gateway join and fat-tree uplinks sized for every NIC below them (oversubscription
// <= 1), which cannot be the narrowest link of any flow. Torus and dragonfly fabrics route
// through links that can bind: false.
bool rails_never_contend(const TopologySpec& topology);

// Whether every node meets the network alike: a fat tree or rail-optimized tree, each node's NICs
// going up to a leaf, so a few nodes of a ring load links as the whole ring's nodes do. On a
// torus or dragonfly the hops that wrap a dimension or leave a group load other links.
bool nodes_alike(const TopologySpec& topology);

// The platform as SimGrid XML (platform DTD 4.1), equivalent to what Platform builds.
std::string platform_xml(const ClusterGraph& cluster);

}  // namespace trainsim
