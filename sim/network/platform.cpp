#include "network/platform.hpp"

#include <algorithm>
#include <map>
#include <simgrid/kernel/routing/NetZoneImpl.hpp>
#include <sstream>

namespace sg4 = simgrid::s4u;

namespace trainsim {

void configure_simgrid(sg4::Engine& engine) {
  engine.set_config("network/model:CM02");
  engine.set_config("network/crosstraffic:0");
  engine.set_config("network/TCP-gamma:0");
  engine.set_config("network/optim:Lazy");
  engine.set_config("host/model:compound");
  engine.set_config("cpu/optim:Lazy");
}

namespace {
// Zero-latency, practically unlimited link joining a node's gateway to its switch: the NIC
// links inside the node carry the real limits. (SimGrid needs a link on every zone route.)
constexpr double kJoinBandwidth = 1e18;

// Network power for SimGrid's link energy plugin. A NIC's power goes to its link; a switch's
// power is spread evenly over the links that leave it. Idle, a link draws kIdleShare of that:
// switches and NICs draw most of their power whatever the traffic (Heller et al., ElasticTree,
// NSDI 2010, measured switch power that hardly changes with load); the share is assumed.
constexpr double kIdleShare = 0.9;

// What flows get of a link: NVLink at NCCL's effective rate, the rest at line rate.
double flow_bandwidth(const LinkInfo& info) {
  return info.kind == LinkKind::nvlink ? nccl_nvlink_bandwidth(info.bandwidth) : info.bandwidth;
}

bool is_switch(const Graph& g, Vertex v) {
  const VertexKind kind = g[v].kind;
  return kind != VertexKind::gpu && kind != VertexKind::node_switch;
}

double edge_watts(const ClusterGraph& c, const Graph::edge_descriptor& e) {
  const Graph& g = c.graph;
  double watts = g[e].kind == LinkKind::nic ? c.spec.nic_power_watts : 0;
  for (const Vertex v : {boost::source(e, g), boost::target(e, g)}) {
    if (is_switch(g, v)) watts += c.spec.switch_power_watts / double(boost::out_degree(v, g));
  }
  return watts;
}

// Both directions of a split-duplex link share its power. (Set on the link's halves directly:
// SimGrid 3.32 finds a link by name by walking every zone, quadratic over a 16K-GPU platform.)
void set_link_power(sg4::SplitDuplexLink* link, double watts) {
  if (watts <= 0) return;
  const std::string range = std::to_string(kIdleShare * watts / 2) + ":" + std::to_string(watts / 2);
  for (auto* half : {link->get_link_up(), link->get_link_down()}) half->set_property("wattage_range", range);
}

// Gives a zone outside the tree the models of one in it (see Platform::Platform).
void take_models(sg4::NetZone* zone, const sg4::NetZone* from_zone) {
  auto* impl = zone->get_impl();
  const auto* from = from_zone->get_impl();
  impl->set_network_model(from->get_network_model());
  impl->set_cpu_pm_model(from->get_cpu_pm_model());
  impl->set_cpu_vm_model(from->get_cpu_vm_model());
  impl->set_disk_model(from->get_disk_model());
  impl->set_host_model(from->get_host_model());
}

// A sealed split-duplex link with its share of the network's power.
sg4::Link* create_link(sg4::NetZone* zone, const std::string& name, double bandwidth, double latency, double watts) {
  auto* link = zone->create_split_duplex_link(name, bandwidth);
  link->set_latency(latency)->seal();
  set_link_power(link, watts);
  return link;
}
}  // namespace

Platform::Platform(sg4::Engine& engine, const ClusterGraph& c) {
  (void)engine;
  const Graph& g = c.graph;
  // SimGrid 3.32 walks the tree from the engine's root zone (the first one made) to check a new
  // host's or link's name and, when a zone is sealed, to find its hosts: quadratic over a
  // platform of thousands of nodes (most of a 100K-GPU simulation's wall time). So the cluster is
  // built under a zone outside that tree, each zone sealed as it is finished, its hosts sealed
  // here, and the whole joins the root at the end.
  auto* top = sg4::create_full_zone("platform");
  auto* root = sg4::create_dijkstra_zone("cluster", true);
  take_models(root, top);
  const int per_node = c.spec.gpus_per_node;
  hosts_.resize(c.gpus.size());
  nvls_bandwidth_.resize(c.gpus.size());
  in_network_reduction_ = c.spec.in_network_reduction;
  nodes_alike_ = trainsim::nodes_alike(c.spec);
  std::vector<simgrid::kernel::routing::NetPoint*> node_gateway(c.nodes);
  std::vector<sg4::NetZone*> node_zone(c.nodes);
  // Which network vertex each node's NICs attach to (the same for all GPUs of a node).
  std::vector<Vertex> node_attachment(c.nodes, boost::graph_traits<Graph>::null_vertex());

  // Every link is created in the cluster zone; routes inside a node zone may use links it holds.
  std::vector<std::vector<std::pair<LinkKind, sg4::Link*>>> gpu_links(c.gpus.size());
  for (int index = 0; index < static_cast<int>(c.gpus.size()); ++index) {
    for (auto [e, end] = boost::out_edges(c.gpus[index], g); e != end; ++e) {
      const LinkInfo& info = g[*e];
      const std::string name = "gpu" + std::to_string(index) + "-" + link_kind_name(info.kind);
      gpu_links[index].push_back(
          {info.kind, create_link(root, name, flow_bandwidth(info), info.latency, edge_watts(c, *e))});
    }
  }
  std::map<std::pair<Vertex, Vertex>, sg4::Link*> fabric_links;
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const Vertex a = boost::source(*e, g);
    const Vertex b = boost::target(*e, g);
    if (!is_switch(g, a) || !is_switch(g, b)) continue;
    const LinkInfo& info = g[*e];
    fabric_links[{a, b}] =
        create_link(root, g[a].name + "-" + g[b].name, info.bandwidth, info.latency, edge_watts(c, *e));
  }

  // One zone a node: its GPUs, their NVLink routes and the gateway their NICs lead to.
  for (int n = 0; n < c.nodes; ++n) {
    auto* zone = sg4::create_full_zone("node" + std::to_string(n));
    zone->set_parent(root);
    auto* gateway = zone->create_router("node" + std::to_string(n) + "-gw");
    std::vector<sg4::Link*> nvlink(per_node, nullptr), nic(per_node, nullptr);
    for (int local = 0; local < per_node; ++local) {
      const int index = n * per_node + local;
      const Vertex v = c.gpus[index];
      hosts_[index] = zone->create_host("gpu" + std::to_string(index), 1e9);
      nvls_bandwidth_[index] = c.spec.gpu_of_node(n).nvls_bandwidth;
      // For the energy plugin: when busy, board power (the preset's), or the cap where the cluster
      // sets one (a capped GPU draws at most its cap: that is what the cap lowers its clock for);
      // when idle, an assumed share of the board's (GpuSpec::kIdlePowerShare); in between, linear
      // in the share of the GPU in use (an execution bounded to the SMs a collective's kernels
      // hold, PlanSpec::collective_sms).
      const GpuSpec& gpu_spec = c.spec.gpu_of_node(n);
      const double board = std::max(0.0, gpu_spec.power_watts);  // none given: none counted (the report says so)
      const double busy = gpu_spec.power_limit_watts > 0 ? std::min(board, gpu_spec.power_limit_watts) : board;
      const double idle = std::min(GpuSpec::kIdlePowerShare * board, busy);
      hosts_[index]->set_property("wattage_per_state",
                                  std::to_string(idle) + ":" + std::to_string(idle) + ":" + std::to_string(busy));
      std::size_t k = 0;
      for (auto [e, end] = boost::out_edges(v, g); e != end; ++e, ++k) {
        auto* link = gpu_links[index][k].second;
        if (g[*e].kind == LinkKind::nvlink) {
          nvlink[local] = link;
        } else {
          nic[local] = link;
          node_attachment[n] = boost::target(*e, g);
        }
      }
      hosts_[index]->seal();  // the zone's seal would not find it outside the engine's tree
    }
    node_gateway[n] = gateway;
    node_zone[n] = zone;
    using Dir = sg4::LinkInRoute::Direction;
    for (int a = 0; a < per_node; ++a) {
      for (int b = a + 1; b < per_node && nvlink[a]; ++b) {
        zone->add_route(hosts_[n * per_node + a]->get_netpoint(), hosts_[n * per_node + b]->get_netpoint(), nullptr,
                        nullptr, {{nvlink[a], Dir::UP}, {nvlink[b], Dir::DOWN}}, true);
      }
      if (nic[a]) {
        zone->add_route(hosts_[n * per_node + a]->get_netpoint(), gateway, nullptr, nullptr, {{nic[a], Dir::UP}}, true);
      }
    }
    zone->seal();
  }

  // Network switches: one zone with one router each.
  std::map<Vertex, std::pair<sg4::NetZone*, simgrid::kernel::routing::NetPoint*>> switch_zone;
  for (auto [v, end] = boost::vertices(g); v != end; ++v) {
    const VertexKind kind = g[*v].kind;
    if (kind == VertexKind::gpu || kind == VertexKind::node_switch) continue;
    auto* zone = sg4::create_full_zone(g[*v].name);
    zone->set_parent(root);
    auto* router = zone->create_router(g[*v].name + "-router");
    zone->seal();
    switch_zone[*v] = {zone, router};
  }
  for (int n = 0; n < c.nodes; ++n) {
    if (node_attachment[n] == boost::graph_traits<Graph>::null_vertex()) continue;
    const auto& [zone, router] = switch_zone.at(node_attachment[n]);
    auto* join = root->create_link("node" + std::to_string(n) + "-join", kJoinBandwidth)->set_latency(0)->seal();
    root->add_route(node_zone[n]->get_netpoint(), zone->get_netpoint(), node_gateway[n], router,
                    {sg4::LinkInRoute(join)}, true);
  }
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const Vertex a = boost::source(*e, g);
    const Vertex b = boost::target(*e, g);
    if (!switch_zone.count(a) || !switch_zone.count(b)) continue;
    auto* link = fabric_links.at({a, b});
    const auto& [za, ra] = switch_zone.at(a);
    const auto& [zb, rb] = switch_zone.at(b);
    root->add_route(za->get_netpoint(), zb->get_netpoint(), ra, rb,
                    {sg4::LinkInRoute(link, sg4::LinkInRoute::Direction::UP)}, true);
  }
  root->set_parent(top);
  top->seal();
}

const Platform::RouteFacts& Platform::route_facts(int a, int b) const {
  if (const auto it = route_facts_.find({a, b}); it != route_facts_.end()) return it->second;
  std::vector<sg4::Link*> links;
  RouteFacts facts;
  hosts_.at(a)->route_to(hosts_.at(b), links, &facts.latency);
  facts.bandwidth = 1e30;  // a GPU to itself: no link
  for (const auto* link : links) facts.bandwidth = std::min(facts.bandwidth, link->get_bandwidth());
  return route_facts_.emplace(std::make_pair(a, b), facts).first->second;
}

double Platform::latency(int a, int b) const { return route_facts(a, b).latency; }
double Platform::bandwidth(int a, int b) const { return route_facts(a, b).bandwidth; }

void Platform::add_mirrored_flow(int a, int b, double bytes) const {
  auto it = joules_per_byte_.find({a, b});
  if (it == joules_per_byte_.end()) {
    std::vector<sg4::Link*> links;
    double latency = 0;
    hosts_.at(a)->route_to(hosts_.at(b), links, &latency);
    double per_byte = 0;
    for (const auto* link : links) {
      const char* range = link->get_property("wattage_range");
      if (range == nullptr) continue;
      const std::string text(range);
      const auto colon = text.find(':');
      per_byte += (std::stod(text.substr(colon + 1)) - std::stod(text.substr(0, colon))) / link->get_bandwidth();
    }
    it = joules_per_byte_.emplace(std::make_pair(a, b), per_byte).first;
  }
  mirrored_energy_j_ += bytes * it->second;
}

sg4::Mailbox* Platform::borrow_mailbox() const {
  if (free_mailboxes_.empty()) return sg4::Mailbox::by_name("flows" + std::to_string(mailboxes_++));
  sg4::Mailbox* box = free_mailboxes_.back();
  free_mailboxes_.pop_back();
  return box;
}

bool nodes_alike(const TopologySpec& t) {
  return t.fabric == FabricKind::fat_tree || t.fabric == FabricKind::rail_optimized;
}

bool rails_never_contend(const TopologySpec& t) {
  if (t.fabric == FabricKind::none) return true;
  return nodes_alike(t) && t.oversubscription <= 1.0;
}

std::string platform_xml(const ClusterGraph& c) {
  // One flat zone with Dijkstra routing over hosts and routers: simpler than the in-memory
  // hierarchy (SimGrid 3.32's XML loader did not resolve routes between sub-zones there), and
  // it routes every flow over the same links.
  const Graph& g = c.graph;
  std::ostringstream hosts, links, routes;
  const int per_node = c.spec.gpus_per_node;
  for (int n = 0; n < c.nodes; ++n) {
    hosts << "  <router id=\"node" << n << "-gw\"/>\n";
    bool has_nic = false;
    for (int local = 0; local < per_node; ++local) {
      const int index = n * per_node + local;
      hosts << "  <host id=\"gpu" << index << "\" speed=\"1Gf\"/>\n";
      for (auto [e, end] = boost::out_edges(c.gpus[index], g); e != end; ++e) {
        const LinkInfo& info = g[*e];
        links << "  <link id=\"gpu" << index << "-" << link_kind_name(info.kind) << "\" bandwidth=\""
              << flow_bandwidth(info) << "Bps\" latency=\"" << info.latency << "s\" sharing_policy=\"SPLITDUPLEX\"/>\n";
        if (info.kind != LinkKind::nvlink) {
          has_nic = true;
          routes << "  <route src=\"gpu" << index << "\" dst=\"node" << n << "-gw\"><link_ctn id=\"gpu" << index
                 << "-nic\" direction=\"UP\"/></route>\n";
          const auto& to = g[boost::target(*e, g)];
          if (local == 0) {
            links << "  <link id=\"node" << n << "-join\" bandwidth=\"" << kJoinBandwidth << "Bps\" latency=\"0s\"/>\n";
            routes << "  <route src=\"node" << n << "-gw\" dst=\"" << to.name << "\"><link_ctn id=\"node" << n
                   << "-join\"/></route>\n";
          }
        }
      }
    }
    (void)has_nic;
    for (int a = 0; a < per_node; ++a) {
      for (int b = a + 1; b < per_node; ++b) {
        const int ia = n * per_node + a, ib = n * per_node + b;
        routes << "  <route src=\"gpu" << ia << "\" dst=\"gpu" << ib << "\"><link_ctn id=\"gpu" << ia
               << "-nvlink\" direction=\"UP\"/><link_ctn id=\"gpu" << ib << "-nvlink\" direction=\"DOWN\"/></route>\n";
      }
    }
  }
  for (auto [v, end] = boost::vertices(g); v != end; ++v) {
    const VertexKind kind = g[*v].kind;
    if (kind != VertexKind::gpu && kind != VertexKind::node_switch)
      hosts << "  <router id=\"" << g[*v].name << "\"/>\n";
  }
  for (auto [e, end] = boost::edges(g); e != end; ++e) {
    const auto& a = g[boost::source(*e, g)];
    const auto& b = g[boost::target(*e, g)];
    if (a.kind == VertexKind::gpu || b.kind == VertexKind::gpu) continue;
    if (a.kind == VertexKind::node_switch || b.kind == VertexKind::node_switch) continue;
    const LinkInfo& info = g[*e];
    links << "  <link id=\"" << a.name << "-" << b.name << "\" bandwidth=\"" << info.bandwidth << "Bps\" latency=\""
          << info.latency << "s\" sharing_policy=\"SPLITDUPLEX\"/>\n";
    routes << "  <route src=\"" << a.name << "\" dst=\"" << b.name << "\"><link_ctn id=\"" << a.name << "-" << b.name
           << "\" direction=\"UP\"/></route>\n";
  }
  std::ostringstream x;
  x << "<?xml version='1.0'?>\n<!DOCTYPE platform SYSTEM \"https://simgrid.org/simgrid.dtd\">\n"
    << "<!-- trainsim platform for topology " << c.spec.name << ": SimGrid 3.32, network/model CM02, "
    << "crosstraffic 0, TCP-gamma 0 -->\n<platform version=\"4.1\">\n<zone id=\"cluster\" routing=\"DijkstraCache\">\n"
    << hosts.str() << links.str() << routes.str() << "</zone>\n</platform>\n";
  return x.str();
}

}  // namespace trainsim
