// MSS memristor as an MNA device (equations in devices/mss_model.h, spec models.md section 1).
//
// Netlist:
//   .model mssn mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6 phi=1
//                    [af=.. bf=.. ar=.. br=..] [x0=..] [convention=knowm])
//   YMSS m1 p n mssn [x0=7.5232e-3] [any model parameter as an instance override]
//
// Unknowns: the node voltages of p and n and one internal state x, output name "x(m1)".
// Rows (f + dq/dt = 0):
//   KCL p:  f += i(x, u)          KCL n:  f -= i(x, u)          u = v(p) - v(n)
//   state:  f = -dx/dt(x, u), q = x             (transient)
//           f = x - x0,       q = x             (DC: the state is held at its initial value)
// Parameters are checked when the device is created; errors point at the instance line.
#ifndef MEMSPICE_DEVICES_MSS_H_
#define MEMSPICE_DEVICES_MSS_H_

#include <memory>
#include <string>

#include "devices/descriptor.h"
#include "devices/device.h"
#include "devices/mss_model.h"
#include "devices/mss_params.h"

namespace memspice::devices {

class MssDevice : public Device {
 public:
  // Distance outside [0, 1] that CheckState tolerates (Newton/integrator round-off).
  static constexpr double kStateTolerance = 1e-5;

  MssDevice(std::string name, netlist::SourceLoc loc, std::string node_p, std::string node_n,
            const mss::MssParams& params, double x0);

  void Setup(SetupContext& ctx) override;
  void Bind(BindContext& ctx) override;
  void Evaluate(EvalContext& ctx) override;
  void InitialState(double* x) const override;
  std::string CheckState(const double* x) const override;
  // Exact partials for every numeric model parameter (through the templates of mss_model.h with
  // a dual number) and x0 (DC hold and initial state only).
  int ParamHandle(const std::string& key, bool model_card) const override;
  void ParamPartial(int handle, const EvalContext& ctx, ParamSink& out) const override;
  void InitialStatePartial(int handle, ParamSink& out) const override;

  const mss::MssParams& params() const { return params_; }
  double x0() const { return x0_; }
  // Unknown indices, valid after Setup().
  int node_p() const { return p_; }
  int node_n() const { return n_; }
  int state_index() const { return s_; }

 private:
  static constexpr int kX0Handle = mss::kNumMssParams;
  std::string node_p_name_, node_n_name_;
  mss::MssParams params_;
  double x0_;
  int p_ = kGround, n_ = kGround, s_ = kGround;
  // Matrix handles: KCL rows (pp, pn, np, nn, ps, ns) and the state row (sp, sn, ss).
  int h_pp_ = -1, h_pn_ = -1, h_np_ = -1, h_nn_ = -1, h_ps_ = -1, h_ns_ = -1;
  int h_sp_ = -1, h_sn_ = -1, h_ss_ = -1;
};

// Resolves the model card and instance overrides of an MSS element into parameters and x0.
// Reports every problem at the element's location; returns false if there was any.
bool ResolveMssParams(const netlist::Element& element, const netlist::Netlist& netlist,
                      netlist::Diagnostics& diag, mss::MssParams* params, double* x0);

// ngspice export of one instance (NgspiceWriter, descriptor.h): the current and the state rate
// are mss::Current and mss::StateRate written as ngspice expressions (ngspice_expr.h):
//     Bmss_m1  p n     I = i(V(m1_x), V(p,n))
//     Cmss_m1  m1_x 0  1 IC=x0                            state x on a 1 F capacitor
//     Bmssx_m1 0 m1_x  I = dx/dt(V(m1_x), V(p,n)) + DC hold of x at x0
bool WriteMssNgspice(const NgspiceInstance& inst, netlist::Diagnostics& diag, std::string* cards);

// Registry factory for `Y<anything> name p n model ...` with type "mss".
std::unique_ptr<Device> CreateMss(const netlist::Element& element, const netlist::Netlist& netlist,
                                  netlist::Diagnostics& diag);

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_MSS_H_
