// Circuit: the devices of a netlist with their unknowns and the sparsity pattern of G and C,
// built once. Evaluation fills f, q and the G/C values (CSC order) at a given x.
#ifndef MEMSPICE_SOLVER_CIRCUIT_H_
#define MEMSPICE_SOLVER_CIRCUIT_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "devices/device.h"
#include "netlist/netlist.h"

namespace memspice::solver {

struct UnknownInfo {
  std::string name;  // "v(out)", "i(v1)", "x(m1)"
  devices::UnknownKind kind;
};

class Circuit {
 public:
  // Creates the devices of a flattened netlist, assigns unknowns and builds the pattern.
  // Reports errors (unknown models, missing controlling sources, floating nodes, voltage-source
  // loops) to diag and returns nullptr if any.
  static std::unique_ptr<Circuit> Build(const netlist::Netlist& netlist,
                                        netlist::Diagnostics& diag);

  // Same from devices created by the caller (tests, generators), one per netlist element or
  // fewer; the netlist's elements are used for the topology checks only.
  static std::unique_ptr<Circuit> BuildFromDevices(
      std::vector<std::unique_ptr<devices::Device>> devices, const netlist::Netlist& netlist,
      netlist::Diagnostics& diag);

  int size() const { return static_cast<int>(unknowns_.size()); }
  const std::vector<UnknownInfo>& unknowns() const { return unknowns_; }
  // Index of an unknown by output name ("v(out)"), or of a node by name ("out"); -1 if absent.
  int FindUnknown(const std::string& name) const;
  int FindNode(const std::string& node) const;
  std::vector<std::unique_ptr<devices::Device>>& devices() { return devices_; }
  devices::Device* FindDevice(const std::string& name);
  // Recreates the device of `element` (same name) from its descriptor with new values, e.g. the
  // netlist at another `.dc temp` temperature, bound to the unknowns and matrix entries of the
  // device it replaces. Pointers to the old device become invalid. Reports to diag and returns
  // false if the element is not in the circuit, or if its device fails to build or would need
  // other unknowns or entries.
  bool ReplaceDevice(const netlist::Element& element, const netlist::Netlist& netlist,
                     netlist::Diagnostics& diag);

  // CSC pattern of the n x n matrix shared by G and C.
  const std::vector<int>& col_ptr() const { return col_ptr_; }
  const std::vector<int>& row_idx() const { return row_idx_; }
  int nnz() const { return static_cast<int>(row_idx_.size()); }
  bool all_linear() const { return all_linear_; }
  // Some device keeps limiting state between evaluations (Device::HasLimitingState).
  bool has_limiting_state() const { return has_limiting_state_; }

  // Position in the CSC value arrays of each BindContext::Entry() handle, in handle order.
  const std::vector<int>& entry_positions() const { return entry_pos_; }
  // Position of the diagonal entry (i, i) in the CSC value arrays, for every unknown i.
  const std::vector<int>& diag_positions() const { return diag_pos_; }
  // Node unknowns whose only DC path to ground is through capacitors (or none through a
  // conducting element); DC analyses add gmin from them to ground.
  const std::vector<int>& dc_gmin_nodes() const { return dc_gmin_nodes_; }
  // Branch-current unknown of a voltage-defined element by flattened name, -1 if none.
  int FindBranch(const std::string& element) const;
  // "node 'out'" for node voltages, "unknown 'i(v1)'" otherwise: for messages.
  std::string DescribeUnknown(int index) const;

  // Implementation detail used by the builder.
  struct Impl;

 private:
  Circuit() = default;
  friend struct Impl;
  std::vector<UnknownInfo> unknowns_;
  std::vector<std::unique_ptr<devices::Device>> devices_;
  std::vector<int> col_ptr_, row_idx_;
  bool all_linear_ = false;
  bool has_limiting_state_ = false;
  std::vector<int> entry_pos_, diag_pos_, dc_gmin_nodes_;
  // What each device (in devices_ order) was given at Setup and Bind, for ReplaceDevice: its
  // unknowns in AddUnknown order and its range of Entry handles.
  struct Slots {
    std::vector<int> unknowns;
    int first_entry = 0;
    int num_entries = 0;
  };
  std::vector<Slots> slots_;
  std::vector<std::pair<int, int>> entries_;  // (col, row) per Entry handle
  std::map<std::string, int> index_by_name_;  // output names and bare node names
  std::map<std::string, int> node_by_name_;
  std::map<std::string, int> branch_by_element_;
};

}  // namespace memspice::solver

#endif  // MEMSPICE_SOLVER_CIRCUIT_H_
