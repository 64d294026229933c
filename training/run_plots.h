// Plots of a training run (gnuplot, PNG or SVG by extension): learning curves with accuracy and
// loss on separate panels over integer epochs, the output membrane potentials of one test sample,
// and the confusion matrix of an evaluation.
#ifndef MEMSPICE_TRAINING_RUN_PLOTS_H_
#define MEMSPICE_TRAINING_RUN_PLOTS_H_

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "training/trainer.h"

namespace memspice::training {

// Accuracy [%] (top) and mean loss per sample (bottom) of train and test sets per epoch.
Status WriteLearningCurves(const std::string& path, const std::vector<EpochMetrics>& h);

// v(out_k) [V] over time [s] for test sample 0 under conductances p.
Status WriteMembranePlot(const std::string& path, const NetworkConfig& config, const Parameters& p,
                         const Dataset& test);

// The confusion matrix as an image (rows: true class, columns: predicted) with the counts.
Status WriteConfusionPlot(const std::string& path, const EvalResult& r, const std::string& dataset);

// learning_curves.png and membrane.png of a finished run in `run_dir`: (file, status) per plot.
std::vector<std::pair<std::string, Status>> WriteRunPlots(const std::string& run_dir,
                                                          const TrainResult& r,
                                                          const NetworkConfig& config,
                                                          const Dataset& test);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_RUN_PLOTS_H_
