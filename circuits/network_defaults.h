// The one set of MEMprop network defaults. The deck generator (circuits::MsnnSpec), the trainer's
// network (training::NetworkConfig, training::TrainOptions), the network compiler and the CLI all
// start from these values; circuits/ holds them because training/ and apps/ depend on it, not the
// other way round. docs/training.md ("Defaults and presets") explains the choices.
#ifndef MEMSPICE_CIRCUITS_NETWORK_DEFAULTS_H_
#define MEMSPICE_CIRCUITS_NETWORK_DEFAULTS_H_

#include <string>
#include <vector>

namespace memspice::circuits {

struct NetworkDefaults {
  std::vector<int> layers = {784, 100, 10};  // input features, then MIF layer sizes
  // s_l per crossbar: layer 1 in V/A (drive = s_1 input_scale alpha W^T x), deeper crossbars
  // dimensionless; the second value serves every deeper crossbar.
  std::vector<double> layer_scale = {150.0, 0.03};
  double input_scale = 10e-6;  // alpha event weight per unit pixel intensity [A]
  double tau_a = 0.64e-3;      // alpha time constant [s]
  int period = 100;            // alpha event every `period` steps
  double dt = 1e-5;            // [s]
  int steps = 200;             // T (the paper's 1000 trains no better, 5x slower)
  double v_scale = 1e-3;       // softmax temperature of the NLL loss [V]
  // Membrane capacitance of the MIF neurons (the paper's 100 pF diverges under forward Euler at
  // dt = 10 us at rest) [F].
  double c_mem = 1e-9;
  std::string dataset = "fashion-mnist";
  std::string method = "semi-implicit";  // stable for any drive, same cost as forward Euler
};

// The defaults (one instance, built on first use).
inline const NetworkDefaults& DefaultNetwork() {
  static const NetworkDefaults defaults;
  return defaults;
}

}  // namespace memspice::circuits

#endif  // MEMSPICE_CIRCUITS_NETWORK_DEFAULTS_H_
