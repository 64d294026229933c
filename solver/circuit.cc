#include "solver/circuit.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <numeric>
#include <set>
#include <utility>

#include "devices/registry.h"

namespace memspice::solver {

namespace {

using devices::kGround;

class UnionFind {
 public:
  int Add() {
    parent_.push_back(static_cast<int>(parent_.size()));
    return parent_.back();
  }
  int Find(int a) {
    while (parent_[a] != a) a = parent_[a] = parent_[parent_[a]];
    return a;
  }
  void Union(int a, int b) { parent_[Find(a)] = Find(b); }

 private:
  std::vector<int> parent_;
};

// How an element couples its terminals, as its descriptor declares (devices/descriptor.h).
devices::Coupling Classify(const netlist::Element& e, const std::vector<int>& n) {
  devices::Coupling c;
  const devices::DeviceDescriptor* d = devices::FindDescriptor(e);
  if (d != nullptr && n.size() >= 2) d->topology(e, n, &c);
  return c;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t k = 0; k < names.size(); ++k) {
    if (k > 0) out += (k + 1 == names.size()) ? " and " : ", ";
    out += names[k];
  }
  return out;
}

}  // namespace

struct Circuit::Impl {
  class Setup : public devices::SetupContext {
   public:
    Setup(Circuit& c, netlist::Diagnostics& d) : c_(c), diag_(d) {}
    int Node(const std::string& name) override {
      if (name == "0" || name == "gnd") return kGround;
      auto it = c_.node_by_name_.find(name);
      if (it != c_.node_by_name_.end()) return it->second;
      int idx = c_.size();
      c_.unknowns_.push_back({"v(" + name + ")", devices::UnknownKind::kNode});
      c_.node_by_name_[name] = idx;
      c_.index_by_name_.emplace("v(" + name + ")", idx);
      return idx;
    }
    int AddUnknown(const std::string& output_name, devices::UnknownKind kind) override {
      int idx = c_.size();
      c_.unknowns_.push_back({output_name, kind});
      c_.index_by_name_.emplace(output_name, idx);
      if (kind == devices::UnknownKind::kBranch && current_ != nullptr) {
        c_.branch_by_element_.emplace(current_->name(), idx);
      }
      if (slots_ != nullptr) slots_->unknowns.push_back(idx);
      return idx;
    }
    netlist::Diagnostics& diag() override { return diag_; }
    const devices::Device* current_ = nullptr;
    Slots* slots_ = nullptr;  // of current_

   private:
    Circuit& c_;
    netlist::Diagnostics& diag_;
  };

  // Setup and Bind of a rebuilt device: hands out the unknowns and Entry handles its
  // predecessor received, in the same order; `matches` turns false on any difference.
  class Replay : public devices::SetupContext, public devices::BindContext {
   public:
    Replay(Circuit& c, const Slots& slots, netlist::Diagnostics& d)
        : c_(c), slots_(slots), diag_(d) {}
    int Node(const std::string& name) override {
      if (name == "0" || name == "gnd") return kGround;
      const int idx = c_.FindNode(name);
      if (idx < 0) matches_ = false;
      return idx < 0 ? kGround : idx;
    }
    int AddUnknown(const std::string& output_name, devices::UnknownKind kind) override {
      if (next_unknown_ >= slots_.unknowns.size()) {
        matches_ = false;
        return kGround;
      }
      const int idx = slots_.unknowns[next_unknown_++];
      if (c_.unknowns_[idx].name != output_name || c_.unknowns_[idx].kind != kind) {
        matches_ = false;
      }
      return idx;
    }
    int Branch(const std::string& element) override { return c_.FindBranch(element); }
    int Entry(int row, int col) override {
      if (row < 0 || col < 0 || row >= c_.size() || col >= c_.size()) return -1;  // as Bind
      if (next_entry_ >= slots_.num_entries) {
        matches_ = false;
        return -1;
      }
      const int handle = slots_.first_entry + next_entry_++;
      if (c_.entries_[handle] != std::make_pair(col, row)) matches_ = false;
      return handle;
    }
    netlist::Diagnostics& diag() override { return diag_; }
    bool matches() const {
      return matches_ && next_unknown_ == slots_.unknowns.size() &&
             next_entry_ == slots_.num_entries;
    }

   private:
    Circuit& c_;
    const Slots& slots_;
    netlist::Diagnostics& diag_;
    size_t next_unknown_ = 0;
    int next_entry_ = 0;
    bool matches_ = true;
  };

  class Bind : public devices::BindContext {
   public:
    Bind(Circuit& c, netlist::Diagnostics& d) : c_(c), diag_(d) {}
    int Branch(const std::string& element) override { return c_.FindBranch(element); }
    int Entry(int row, int col) override {
      if (row < 0 || col < 0) return -1;
      if (row >= c_.size() || col >= c_.size()) return -1;  // device bug; never index out of range
      entries.emplace_back(col, row);
      return static_cast<int>(entries.size()) - 1;
    }
    netlist::Diagnostics& diag() override { return diag_; }
    std::vector<std::pair<int, int>> entries;  // (col, row) per handle

   private:
    Circuit& c_;
    netlist::Diagnostics& diag_;
  };

  static void BuildPattern(Circuit& c, const std::vector<std::pair<int, int>>& entries) {
    const int n = c.size();
    std::vector<std::pair<int, int>> all = entries;
    for (int i = 0; i < n; ++i) all.emplace_back(i, i);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    c.col_ptr_.assign(n + 1, 0);
    c.row_idx_.resize(all.size());
    for (size_t k = 0; k < all.size(); ++k) {
      c.col_ptr_[all[k].first + 1]++;
      c.row_idx_[k] = all[k].second;
    }
    for (int j = 0; j < n; ++j) c.col_ptr_[j + 1] += c.col_ptr_[j];
    auto position = [&](int col, int row) {
      auto begin = c.row_idx_.begin() + c.col_ptr_[col];
      auto end = c.row_idx_.begin() + c.col_ptr_[col + 1];
      return static_cast<int>(std::lower_bound(begin, end, row) - c.row_idx_.begin());
    };
    c.entry_pos_.resize(entries.size());
    for (size_t h = 0; h < entries.size(); ++h) {
      c.entry_pos_[h] = position(entries[h].first, entries[h].second);
    }
    c.diag_pos_.resize(n);
    for (int i = 0; i < n; ++i) c.diag_pos_[i] = position(i, i);
  }

  // The nodes of the deck, ground first, with the first element on each and its terminal count.
  struct NodeTable {
    std::map<std::string, int> id;
    std::vector<std::string> names;
    std::vector<const netlist::Element*> first_user;
    std::vector<int> terminals;
    int Id(const std::string& name, const netlist::Element* e) {
      std::string key = (name == "gnd") ? "0" : name;
      auto it = id.find(key);
      if (it != id.end()) return it->second;
      int k = static_cast<int>(names.size());
      id[key] = k;
      names.push_back(key);
      first_user.push_back(e);
      terminals.push_back(0);
      return k;
    }
  };

  // The elements of the voltage loop that the element from a to b closes: a breadth-first search
  // from a to b over the earlier voltage-defined elements (vadj), in deck order.
  static std::vector<int> LoopMembers(const std::vector<std::vector<std::pair<int, int>>>& vadj,
                                      int a, int b) {
    const int num = static_cast<int>(vadj.size());
    std::vector<int> prev_node(num, -1), prev_elem(num, -1);
    std::deque<int> queue{a};
    prev_node[a] = a;
    while (!queue.empty()) {
      int u = queue.front();
      queue.pop_front();
      if (u == b) break;
      for (auto [v, el] : vadj[u]) {
        if (prev_node[v] >= 0) continue;
        prev_node[v] = u;
        prev_elem[v] = el;
        queue.push_back(v);
      }
    }
    std::vector<int> members;
    for (int v = b; v != a && prev_elem[v] >= 0; v = prev_node[v]) {
      members.push_back(prev_elem[v]);
    }
    std::sort(members.begin(), members.end());  // deck order
    return members;
  }

  // One error per connected component without ground.
  static void ReportFloating(const NodeTable& t, UnionFind& any, netlist::Diagnostics& diag) {
    const int num = static_cast<int>(t.names.size());
    const int ground = 0;
    std::set<int> reported;
    for (int k = 1; k < num; ++k) {
      int root = any.Find(k);
      if (root == any.Find(ground) || reported.count(root)) continue;
      reported.insert(root);
      std::vector<std::string> members;
      for (int m = 1; m < num; ++m) {
        if (any.Find(m) == root) members.push_back(t.names[m]);
      }
      std::string others = members.size() > 1
                               ? fmt::format(" (with {} other node{})", members.size() - 1,
                                             members.size() > 2 ? "s" : "")
                               : "";
      diag.Error(t.first_user[k]->loc,
                 fmt::format("node '{}'{} floats: no element path to ground", t.names[k], others),
                 fmt::format("connect it to ground, e.g. 'rleak_{0} {0} 0 1g'", t.names[k]));
    }
  }

  // Nodes with no DC path to ground get gmin to ground during DC analyses (a warning lists them).
  static void ReportNoDcPath(Circuit& c, const NodeTable& t, UnionFind& any, UnionFind& dc,
                             netlist::Diagnostics& diag) {
    const int num = static_cast<int>(t.names.size());
    const int ground = 0;
    std::vector<std::string> no_dc;
    for (int k = 1; k < num; ++k) {
      if (any.Find(k) != any.Find(ground) || dc.Find(k) == dc.Find(ground)) continue;
      auto it = c.node_by_name_.find(t.names[k]);
      if (it == c.node_by_name_.end()) continue;
      c.dc_gmin_nodes_.push_back(it->second);
      no_dc.push_back(t.names[k]);
    }
    if (!no_dc.empty()) {
      std::string list = no_dc.size() <= 3 ? JoinNames(no_dc)
                                           : fmt::format("{}, {} and {} more", no_dc[0], no_dc[1],
                                                         no_dc.size() - 2);
      const netlist::Element* e = t.first_user[t.id.at(no_dc[0])];
      diag.Warning(e->loc,
                   fmt::format("node{} '{}' ha{} no DC path to ground (only through capacitors or "
                               "current sources); adding gmin to ground for the operating point",
                               no_dc.size() > 1 ? "s" : "", list, no_dc.size() > 1 ? "ve" : "s"),
                   "ngspice would report a singular matrix here; add a large resistor to ground "
                   "to make this explicit");
    }
  }

  // A node on a single terminal carries no current: probably a typo.
  static void ReportDangling(const NodeTable& t, netlist::Diagnostics& diag) {
    const int num = static_cast<int>(t.names.size());
    for (int k = 1; k < num; ++k) {
      if (t.terminals[k] == 1) {
        diag.Warning(t.first_user[k]->loc,
                     fmt::format("node '{}' is connected to only one terminal (of {})", t.names[k],
                                 t.first_user[k]->name),
                     "a dangling node carries no current; check the node name for a typo");
      }
    }
  }

  // Floating nodes, voltage-source loops, DC paths, dangling nodes. Uses the netlist's node names.
  static void CheckTopology(Circuit& c, const netlist::Netlist& nl, netlist::Diagnostics& diag) {
    NodeTable t;
    t.Id("0", nullptr);
    std::vector<std::vector<int>> element_nodes;
    for (const auto& e : nl.elements) {
      std::vector<int> n;
      for (const auto& name : e.nodes) {
        int k = t.Id(name, &e);
        t.terminals[k]++;
        n.push_back(k);
      }
      element_nodes.push_back(std::move(n));
    }
    const int num = static_cast<int>(t.names.size());
    UnionFind any, dc, volt;
    for (int k = 0; k < num; ++k) {
      any.Add();
      dc.Add();
      volt.Add();
    }
    // Voltage-defined elements as a graph, to name the elements of a loop.
    std::vector<std::vector<std::pair<int, int>>> vadj(num);  // (other node, element index)
    for (size_t ei = 0; ei < nl.elements.size(); ++ei) {
      const auto& e = nl.elements[ei];
      const auto& n = element_nodes[ei];
      const devices::Coupling cp = Classify(e, n);
      for (auto [a, b] : cp.any) any.Union(a, b);
      for (auto [a, b] : cp.dc) dc.Union(a, b);
      if (!cp.voltage_defined) continue;
      int a = n[0], b = n[1];
      if (a == b) {
        diag.Error(e.loc,
                   fmt::format("element {} has both terminals on node '{}'", e.name, t.names[a]),
                   "a voltage-defined element needs two different nodes");
        continue;
      }
      if (volt.Find(a) == volt.Find(b)) {
        std::vector<std::string> loop;
        for (int m : LoopMembers(vadj, a, b)) loop.push_back(nl.elements[m].name);
        loop.push_back(e.name);
        diag.Error(e.loc, fmt::format("voltage sources {} form a loop", JoinNames(loop)),
                   "voltage-defined elements (V, E, H, L, B V=) in a loop fix the same voltage "
                   "twice; add a small series resistance or remove one of them");
        continue;
      }
      volt.Union(a, b);
      vadj[a].emplace_back(b, static_cast<int>(ei));
      vadj[b].emplace_back(a, static_cast<int>(ei));
    }
    ReportFloating(t, any, diag);
    ReportNoDcPath(c, t, any, dc, diag);
    ReportDangling(t, diag);
  }
};

std::unique_ptr<Circuit> Circuit::Build(const netlist::Netlist& netlist,
                                        netlist::Diagnostics& diag) {
  std::vector<std::unique_ptr<devices::Device>> devs;
  bool failed = false;
  for (const auto& e : netlist.elements) {
    auto d = devices::CreateDevice(e, netlist, diag);
    if (d == nullptr) {
      failed = true;
      continue;
    }
    devs.push_back(std::move(d));
  }
  if (failed || diag.has_errors()) return nullptr;
  return BuildFromDevices(std::move(devs), netlist, diag);
}

std::unique_ptr<Circuit> Circuit::BuildFromDevices(
    std::vector<std::unique_ptr<devices::Device>> devs, const netlist::Netlist& netlist,
    netlist::Diagnostics& diag) {
  std::unique_ptr<Circuit> c(new Circuit());
  c->devices_ = std::move(devs);
  const int errors_before = diag.num_errors();
  c->slots_.resize(c->devices_.size());
  Impl::Setup setup(*c, diag);
  for (size_t k = 0; k < c->devices_.size(); ++k) {
    setup.current_ = c->devices_[k].get();
    setup.slots_ = &c->slots_[k];
    c->devices_[k]->Setup(setup);
  }
  Impl::Bind bind(*c, diag);
  for (size_t k = 0; k < c->devices_.size(); ++k) {
    c->slots_[k].first_entry = static_cast<int>(bind.entries.size());
    c->devices_[k]->Bind(bind);
    c->slots_[k].num_entries = static_cast<int>(bind.entries.size()) - c->slots_[k].first_entry;
  }
  for (const auto& [name, idx] : c->node_by_name_) c->index_by_name_.emplace(name, idx);
  Impl::BuildPattern(*c, bind.entries);
  c->entries_ = std::move(bind.entries);
  c->all_linear_ = std::all_of(c->devices_.begin(), c->devices_.end(),
                               [](const auto& d) { return d->IsLinear(); });
  c->has_limiting_state_ = std::any_of(c->devices_.begin(), c->devices_.end(),
                                       [](const auto& d) { return d->HasLimitingState(); });
  Impl::CheckTopology(*c, netlist, diag);
  if (diag.num_errors() > errors_before) return nullptr;
  return c;
}

int Circuit::FindUnknown(const std::string& name) const {
  auto it = index_by_name_.find(name);
  if (it != index_by_name_.end()) return it->second;
  // An ngspice name (`v.x1.vs#branch`, `i(v.x1.vs)`) finds its memspice counterpart.
  it = index_by_name_.find(netlist::CanonicalSignalName(name));
  return it == index_by_name_.end() ? -1 : it->second;
}

int Circuit::FindNode(const std::string& node) const {
  auto it = node_by_name_.find(node);
  return it == node_by_name_.end() ? -1 : it->second;
}

int Circuit::FindBranch(const std::string& element) const {
  auto it = branch_by_element_.find(element);
  return it == branch_by_element_.end() ? -1 : it->second;
}

devices::Device* Circuit::FindDevice(const std::string& name) {
  for (auto& d : devices_) {
    if (d->name() == name) return d.get();
  }
  return nullptr;
}

bool Circuit::ReplaceDevice(const netlist::Element& element, const netlist::Netlist& netlist,
                            netlist::Diagnostics& diag) {
  auto it = std::find_if(devices_.begin(), devices_.end(),
                         [&](const auto& d) { return d->name() == element.name; });
  if (it == devices_.end()) {
    diag.Error(element.loc, fmt::format("element '{}' has no device to rebuild", element.name));
    return false;
  }
  std::unique_ptr<devices::Device> d = devices::CreateDevice(element, netlist, diag);
  if (d == nullptr) return false;
  Impl::Replay replay(*this, slots_[it - devices_.begin()], diag);
  d->Setup(replay);
  d->Bind(replay);
  if (!replay.matches()) {
    diag.Error(element.loc,
               fmt::format("rebuilt device '{}' asks for other unknowns or matrix entries than "
                           "the one it replaces",
                           element.name),
               "its values may change the device's structure (e.g. a series resistance that "
               "becomes 0); keep such values independent of temper");
    return false;
  }
  *it = std::move(d);
  return true;
}

std::string Circuit::DescribeUnknown(int index) const {
  if (index < 0 || index >= size()) return "an unknown";
  const auto& u = unknowns_[index];
  if (u.kind == devices::UnknownKind::kNode && u.name.size() > 3 && u.name.rfind("v(", 0) == 0) {
    return fmt::format("node '{}'", u.name.substr(2, u.name.size() - 3));
  }
  return fmt::format("unknown '{}'", u.name);
}

}  // namespace memspice::solver
