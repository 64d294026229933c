// How a four-terminal FET model (MOSFET level 1, BSIM3) enters the MNA system: terminal currents
// and charges computed as dual numbers in (vgs, vds, vbs) at the Newton-limited voltages vl, and
// linearised back to the iterate's voltages v, so that Newton sees the linearisation at the
// limited point (SPICE's convention).
#ifndef MEMSPICE_DEVICES_FET_STAMP_H_
#define MEMSPICE_DEVICES_FET_STAMP_H_

#include "devices/device.h"

namespace memspice::devices {

// A FET's contributions to its four terminal rows (drain, gate, source, bulk), collected locally
// so that each system entry is written once per evaluation; g and c are [row][col].
struct FetBlock {
  double f[4] = {}, q[4] = {}, g[16] = {}, c[16] = {};

  // nodes[r] the rows' unknowns; handles[4 r + c] the matrix entry of row r, column c.
  void AddTo(const int (&nodes)[4], const int* handles, EvalContext& ctx) const {
    for (int r = 0; r < 4; ++r) {
      ctx.f[nodes[r]] += f[r];
      ctx.q[nodes[r]] += q[r];
    }
    for (int k = 0; k < 16; ++k) {
      ctx.G[handles[k]] += g[k];
      ctx.C[handles[k]] += c[k];
    }
  }
};

// f[r], q[r]: current and charge of row r as Jets whose partials are d/dvgs, d/dvds, d/dvbs;
// v and vl: (vgs, vds, vbs) of the iterate and the limited point. Adds to `out`.
template <typename Jet>
void LinearizeFet(const Jet (&f)[4], const Jet (&q)[4], const double* v, const double* vl,
                  FetBlock* out) {
  for (int r = 0; r < 4; ++r) {
    const Jet& fr_jet = f[r];
    const Jet& qr_jet = q[r];
    // Column derivatives: d/dvd = d/dvds, d/dvg = d/dvgs, d/dvb = d/dvbs, d/dvs = -(sum).
    const double df[4] = {fr_jet.v[1], fr_jet.v[0], -(fr_jet.v[0] + fr_jet.v[1] + fr_jet.v[2]),
                          fr_jet.v[2]};
    const double dq[4] = {qr_jet.v[1], qr_jet.v[0], -(qr_jet.v[0] + qr_jet.v[1] + qr_jet.v[2]),
                          qr_jet.v[2]};
    double fr = fr_jet.a, qr = qr_jet.a;
    for (int k = 0; k < 3; ++k) {
      fr += fr_jet.v[k] * (v[k] - vl[k]);
      qr += qr_jet.v[k] * (v[k] - vl[k]);
    }
    out->f[r] += fr;
    out->q[r] += qr;
    for (int c = 0; c < 4; ++c) {
      out->g[4 * r + c] += df[c];
      out->c[4 * r + c] += dq[c];
    }
  }
}

// LinearizeFet and AddTo in one.
template <typename Jet>
void StampFet(const Jet (&f)[4], const Jet (&q)[4], const int (&nodes)[4], const int* handles,
              const double* v, const double* vl, EvalContext& ctx) {
  FetBlock block;
  LinearizeFet(f, q, v, vl, &block);
  block.AddTo(nodes, handles, ctx);
}

}  // namespace memspice::devices

#endif  // MEMSPICE_DEVICES_FET_STAMP_H_
