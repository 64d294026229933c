#include "solver/plot.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace memspice::solver {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// gnuplot strings are double-quoted; escape what would end them.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status PlotWaveforms(const WaveformTable& table, const std::string& path, const PlotOptions& options) {
  std::string ext = Lower(std::filesystem::path(path).extension().string());
  std::string terminal;
  if (ext == ".png") {
    terminal = fmt::format("pngcairo size {},{} noenhanced", options.width, options.height);
  } else if (ext == ".svg") {
    terminal = fmt::format("svg size {},{} noenhanced", options.width, options.height);
  } else {
    return Status::Error(fmt::format("plot file '{}' must end in .png or .svg", path));
  }
  if (table.num_points() == 0) return Status::Error("nothing to plot: the analysis produced no points");
  std::vector<int> cols;
  if (options.signals.empty()) {
    for (int j = 0; j < static_cast<int>(table.names.size()) && j < 12; ++j) cols.push_back(j);
  } else {
    for (const std::string& s : options.signals) {
      int j = table.Find(s);
      if (j < 0) {
        std::string known;
        for (const auto& n : table.names) known += (known.empty() ? "" : ", ") + n;
        return Status::Error(fmt::format("cannot plot '{}': no such signal", s), "signals: " + known);
      }
      cols.push_back(j);
    }
  }
  const bool has_scale = !table.scale.empty();
  std::string data_path = path + ".dat";
  {
    std::ofstream data(data_path);
    if (!data) return Status::Error(fmt::format("cannot write '{}'", data_path));
    for (int k = 0; k < table.num_points(); ++k) {
      data << fmt::format("{:.10g}", has_scale ? table.scale[k] : static_cast<double>(k));
      for (int j : cols) data << fmt::format(" {:.10g}", table.rows[k][j]);
      data << '\n';
    }
  }
  std::string script = fmt::format("set terminal {}\nset output {}\nset grid\nset key outside right\n",
                                   terminal, Quote(path));
  script += fmt::format("set title {}\n", Quote(options.title.empty() ? table.title : options.title));
  script += fmt::format("set xlabel {}\n", Quote(has_scale ? table.scale_name : "point"));
  script += "plot ";
  for (size_t c = 0; c < cols.size(); ++c) {
    // gnuplot cycles through 8 colours: later curves get dashes so that none look alike.
    script += fmt::format("{}{} using 1:{} with lines lw 1.5 dt {} title {}", c ? ", " : "",
                          Quote(data_path), c + 2, c / 8 + 1, Quote(table.names[cols[c]]));
  }
  script += "\n";
  FILE* gp = popen("gnuplot 2>&1", "w");
  if (gp == nullptr) return Status::Error("cannot start gnuplot", "install it: apt-get install gnuplot-nox");
  fputs(script.c_str(), gp);
  int rc = pclose(gp);
  std::filesystem::remove(data_path);
  if (rc != 0) {
    return Status::Error(fmt::format("gnuplot failed (exit {}) writing '{}'", WEXITSTATUS(rc), path),
                         "is gnuplot installed? apt-get install gnuplot-nox");
  }
  return Status::Ok();
}

}  // namespace memspice::solver
