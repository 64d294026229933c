// libFuzzer entry: any byte string must parse to a netlist or to diagnostics, never crash,
// hang or recurse without bound. Run: netlist_fuzz -max_total_time=60 corpus_dir
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "netlist/netlist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  memspice::netlist::ParseOptions options;
  options.max_elements = 20000;  // subcircuits can multiply elements exponentially
  memspice::netlist::Diagnostics diag;
  auto netlist = memspice::netlist::ParseString(text, "fuzz.cir", options, diag);
  // Exercise formatting and evaluation of what was produced.
  (void)diag.Format();
  if (netlist) {
    for (const auto& e : netlist->elements) {
      if (e.expr) {
        double probes[64] = {0}, d[64];
        if (e.expr->probes().size() <= 64) e.expr->Evaluate(probes, 1e-6, 27.0, d);
      }
    }
  }
  return 0;
}
