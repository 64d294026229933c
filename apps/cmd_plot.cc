// `memspice plot FILE.csv|FILE.raw -o OUT.png`: plot saved waveforms.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "apps/cli_common.h"
#include "io/csv_writer.h"
#include "io/plot.h"
#include "io/raw_file.h"

namespace memspice::apps {

void RegisterPlot(CLI::App& app, int* exit_code) {
  struct Args {
    std::string input, out, title, xlabel, ylabel;
    bool points = false;
    std::vector<std::string> signals;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("plot", "Plot waveforms from a CSV or raw file (gnuplot)");
  cmd->add_option("input", args->input, "CSV (first column is the scale) or SPICE raw file")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", args->out, "Plot file, .png or .svg")->required();
  cmd->add_option("--signals", args->signals, "Signals to plot (default: all, up to 12)")
      ->delimiter(',');
  cmd->add_option("--title", args->title, "Plot title");
  cmd->add_option("--xlabel", args->xlabel, "x axis label (default: the scale's name and unit)");
  cmd->add_option("--ylabel", args->ylabel, "y axis label (default: from the signals' names)");
  cmd->add_flag("--points", args->points, "Mark every point (tables of a few measurements)");
  cmd->callback([args, exit_code]() {
    io::WaveformTable table;
    Status s;
    std::string ext = std::filesystem::path(args->input).extension().string();
    if (ext == ".raw") {
      std::vector<io::WaveformTable> plots;
      s = io::ReadRaw(args->input, &plots);
      if (s.ok() && plots.empty()) s = Status::Error("raw file has no plot: " + args->input);
      if (s.ok()) table = plots.back();
    } else {
      s = io::ReadCsv(args->input, &table);
    }
    if (s.ok()) {
      io::PlotOptions po;
      po.signals = args->signals;
      po.title = args->title.empty() ? args->input : args->title;
      po.xlabel = args->xlabel;
      po.ylabel = args->ylabel;
      po.points = args->points;
      s = io::PlotWaveforms(table, args->out, po);
    }
    if (!s.ok()) {
      PrintStatus(s);
      *exit_code = kExitInputError;
      return;
    }
    std::cout << "plot: " << args->out << "\n";
    *exit_code = kExitOk;
  });
}

}  // namespace memspice::apps
