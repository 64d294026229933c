#include "apps/network_flags.h"

#include "training/trainer.h"

namespace memspice::apps {

void ApplyNetworkFlags(const std::set<std::string>& given, const training::NetworkConfig& parsed,
                       const std::string& method, const std::string& crossbar,
                       const std::string& mapping, training::NetworkConfig* c) {
  auto has = [&](const char* flag) { return given.count(flag) > 0; };
  if (has("--layers")) {
    c->layer_sizes = parsed.layer_sizes;
    c->layer_scale = training::DefaultLayerScale(static_cast<int>(parsed.layer_sizes.size()) - 1);
  }
  if (has("--layer-scale")) c->layer_scale = parsed.layer_scale;
  if (has("--method")) c->method = training::ParseMethod(method);
  if (has("--crossbar")) c->form = training::ParseCrossbarForm(crossbar);
  if (has("--mapping")) c->mapping = training::ParseSignedMapping(mapping);
  if (has("--steps")) c->steps = parsed.steps;
  if (has("--dt")) c->dt = parsed.dt;
  if (has("--period")) c->period = parsed.period;
  if (has("--tau-a")) c->tau_a = parsed.tau_a;
  if (has("--input-scale")) c->input_scale = parsed.input_scale;
  if (has("--v-scale")) c->v_scale = parsed.v_scale;
}

}  // namespace memspice::apps
