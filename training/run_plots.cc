#include "training/run_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "io/plot.h"
#include "io/waveform.h"

namespace memspice::training {

namespace fs = std::filesystem;

namespace {

// Writes `text` to `data_path`, runs the script and removes the data file.
Status PlotWithData(const std::string& path, const std::string& data_path, const std::string& text,
                    int width, int height, const std::string& script) {
  {
    std::ofstream data(data_path);
    data << text;
    if (!data) return Status::Error(fmt::format("cannot write '{}'", data_path));
  }
  Status s = io::RunGnuplot(path, width, height, script);
  std::error_code ec;
  fs::remove(data_path, ec);
  return s;
}

// Integer epoch ticks: every epoch up to 20 epochs, then a round step.
int EpochTickStep(int epochs) {
  for (int step : {1, 2, 5, 10, 20, 50, 100})
    if (epochs / step <= 20) return step;
  return 200;
}

}  // namespace

Status WriteLearningCurves(const std::string& path, const std::vector<EpochMetrics>& h) {
  if (h.empty()) return Status::Error("no finished epoch to plot");
  std::string text;
  for (const EpochMetrics& m : h)
    text += fmt::format("{} {:.6g} {:.6g} {:.6g} {:.6g}\n", m.epoch, 100 * m.train_accuracy,
                        100 * m.test_accuracy, m.train_loss, m.test_loss);
  const std::string data = path + ".dat";
  const int last = h.back().epoch;
  const std::string x = fmt::format(
      "set xrange [{}:{}]\nset xtics {}\nset format x '%.0f'\nset mxtics 1\nset xlabel 'epoch'\n",
      h.front().epoch - 0.5, last + 0.5, EpochTickStep(last));
  const std::string script = fmt::format(
      "set grid\nset key bottom right\nset multiplot layout 2,1 title 'MEMprop learning curves'\n"
      "{0}set ylabel 'accuracy [%]'\nset title 'accuracy'\n"
      "plot '{1}' using 1:2 with linespoints lw 1.5 pt 7 title 'train (running)', "
      "'{1}' using 1:3 with linespoints lw 1.5 pt 5 title 'test'\n"
      "set key top right\nset ylabel 'loss per sample [1]'\nset title 'loss (NLL summed over "
      "time steps)'\n"
      "plot '{1}' using 1:4 with linespoints lw 1.5 pt 7 title 'train (running)', "
      "'{1}' using 1:5 with linespoints lw 1.5 pt 5 title 'test'\nunset multiplot\n",
      x, data);
  return PlotWithData(path, data, text, 900, 800, script);
}

Status WriteMembranePlot(const std::string& path, const NetworkConfig& config, const Parameters& p,
                         const Dataset& test) {
  if (test.size() == 0) return Status::Error("no test sample to plot");
  const Network net(config);
  const int layer = config.num_layers() - 1;
  io::WaveformTable v;
  v.title = fmt::format("output membrane potentials, test sample 0 (label {})", test.labels[0]);
  v.scale_name = "time";
  for (int k = 0; k < config.layer_sizes.back(); ++k) {
    const std::vector<double> trace = net.Trace(p, test.image(0), layer, k);
    v.names.push_back(fmt::format("v(out{})", k));
    if (v.rows.empty()) {
      v.rows.resize(trace.size());
      for (size_t n = 0; n < trace.size(); ++n) v.scale.push_back(n * config.dt);
    }
    for (size_t n = 0; n < trace.size(); ++n) v.rows[n].push_back(trace[n]);
  }
  return io::PlotWaveforms(v, path, {});
}

Status WriteConfusionPlot(const std::string& path, const EvalResult& r,
                          const std::string& dataset) {
  const int n = static_cast<int>(r.confusion.rows());
  if (n == 0) return Status::Error("empty confusion matrix");
  std::string text;
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) text += fmt::format("{} {} {}\n", k, i, r.confusion(i, k));
  const std::string data = path + ".dat";
  const std::string script = fmt::format(
      "set title 'confusion matrix, {} ({} test samples, accuracy {:.2f} %)'\n"
      "set xlabel 'predicted class'\nset ylabel 'true class'\nset cblabel 'samples'\n"
      "set xrange [-0.5:{}.5]\nset yrange [{}.5:-0.5]\nset xtics 1\nset ytics 1\n"
      "set palette defined (0 'white', 1 '#08306b')\nset size ratio -1\n"
      "plot '{}' using 1:2:3 with image notitle, '' using 1:2:(sprintf('%d', $3)) "
      "with labels font ',9' notitle\n",
      dataset, r.count, 100 * r.accuracy, n - 1, n - 1, data);
  return PlotWithData(path, data, text, 800, 720, script);
}

std::vector<std::pair<std::string, Status>> WriteRunPlots(const std::string& run_dir,
                                                          const TrainResult& r,
                                                          const NetworkConfig& config,
                                                          const Dataset& test) {
  std::vector<std::pair<std::string, Status>> out;
  if (!r.history.empty()) {
    const std::string curves = (fs::path(run_dir) / "learning_curves.png").string();
    out.emplace_back(curves, WriteLearningCurves(curves, r.history));
  }
  if (test.size() > 0) {
    const std::string v = (fs::path(run_dir) / "membrane.png").string();
    out.emplace_back(v, WriteMembranePlot(v, config, r.params, test));
  }
  return out;
}

}  // namespace memspice::training
