#include "io/plot.h"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/strings.h"
#include "io/atomic_file.h"

namespace memspice::io {
namespace {

using base::Lower;

// gnuplot strings are double-quoted; escape what would end them.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Status CheckExtension(const std::string& path, std::string* ext) {
  *ext = Lower(std::filesystem::path(path).extension().string());
  if (*ext == ".png" || *ext == ".svg") return Status::Ok();
  return Status::Error(fmt::format("plot file '{}' must end in .png or .svg", path));
}

}  // namespace

Status CheckPlotPath(const std::string& path) {
  std::string ext;
  if (Status s = CheckExtension(path, &ext); !s.ok()) return s;
  AtomicFile probe;  // creates and removes a temporary file next to `path`
  return probe.Open(path);
}

Status RunGnuplot(const std::string& path, int width, int height, const std::string& script) {
  std::string ext;
  if (Status s = CheckExtension(path, &ext); !s.ok()) return s;
  const std::string terminal =
      fmt::format("{} size {},{} noenhanced", ext == ".png" ? "pngcairo" : "svg", width, height);
  // gnuplot draws into a temporary file, renamed over `path` when complete.
  AtomicFile image;
  if (Status s = image.Open(path); !s.ok()) return s;
  FILE* gp = popen("gnuplot 2>&1", "w");
  if (gp == nullptr)
    return Status::Error("cannot start gnuplot", "install it: apt-get install gnuplot-nox");
  const std::string text = fmt::format("set terminal {}\nset output {}\n{}\nset output\n", terminal,
                                       Quote(image.temp_path()), script);
  fputs(text.c_str(), gp);
  const int rc = pclose(gp);
  if (rc != 0) {
    return Status::Error(
        fmt::format("gnuplot failed (exit {}) writing '{}'", WEXITSTATUS(rc), path),
        "is gnuplot installed? apt-get install gnuplot-nox");
  }
  return image.Commit();
}

namespace {

// "voltage [V]" if every plotted signal is a v(...), "current [A]" for i(...), else "value".
std::string YLabel(const WaveformTable& table, const std::vector<int>& cols) {
  int volts = 0, amps = 0;
  for (int j : cols) {
    const std::string n = Lower(table.names[j]);
    volts += n.rfind("v(", 0) == 0;
    amps += n.rfind("i(", 0) == 0;
  }
  const int n = static_cast<int>(cols.size());
  if (volts == n) return "voltage [V]";
  if (amps == n) return "current [A]";
  return "value";
}

// The scale's name with its unit: time [s], frequency [Hz]; other names as they are.
std::string XLabel(const std::string& scale_name) {
  const std::string n = Lower(scale_name);
  if (n == "time") return "time [s]";
  if (n == "frequency") return "frequency [Hz]";
  return scale_name;
}

// A deck title is a comment line: drop its leading '*' and blanks.
std::string CleanTitle(const std::string& title) {
  size_t k = 0;
  while (k < title.size() && (title[k] == '*' || title[k] == ' ' || title[k] == '\t')) ++k;
  return title.substr(k);
}

}  // namespace

Status PlotWaveforms(const WaveformTable& input, const std::string& path,
                     const PlotOptions& options) {
  const WaveformTable table = MagnitudePhase(input);
  std::string ext;
  if (Status s = CheckExtension(path, &ext); !s.ok()) return s;
  if (table.num_points() == 0)
    return Status::Error("nothing to plot: the analysis produced no points");
  // A frequency scale (.ac) gives a Bode plot: db(...) columns on top, ph(...) below, log axis.
  const bool bode = Lower(table.scale_name) == "frequency";
  std::vector<int> cols;
  if (options.signals.empty()) {
    for (int j = 0; j < static_cast<int>(table.names.size()) && j < 12; ++j) cols.push_back(j);
  } else {
    for (const std::string& s : options.signals) {
      int j = table.Find(s);
      if (j < 0 && bode && table.Find("db(" + s + ")") >= 0) {
        cols.push_back(table.Find("db(" + s + ")"));
        j = table.Find("ph(" + s + ")");
      }
      if (j < 0) {
        std::string known;
        for (const auto& n : table.names) known += (known.empty() ? "" : ", ") + n;
        return Status::Error(fmt::format("cannot plot '{}': no such signal", s),
                             "signals: " + known);
      }
      cols.push_back(j);
    }
  }
  const bool has_scale = !table.scale.empty();
  // gnuplot reads the data from a temporary file, removed when `data` goes out of scope.
  AtomicFile data;
  if (Status s = data.Open(path + ".dat"); !s.ok()) return s;
  const std::string data_path = data.temp_path();
  std::string text;
  for (int k = 0; k < table.num_points(); ++k) {
    fmt::format_to(std::back_inserter(text), "{:.10g}",
                   has_scale ? table.scale[k] : static_cast<double>(k));
    for (int j : cols) fmt::format_to(std::back_inserter(text), " {:.10g}", table.rows[k][j]);
    text += '\n';
  }
  if (Status s = data.Write(text); !s.ok()) return s;
  if (Status s = data.Flush(); !s.ok()) return s;
  std::string script = "set grid\nset key outside right\n";
  script += fmt::format("set title {}\n",
                        Quote(CleanTitle(options.title.empty() ? table.title : options.title)));
  const std::string xlabel = !options.xlabel.empty() ? options.xlabel
                             : has_scale             ? XLabel(table.scale_name)
                                                     : "point";
  script += fmt::format("set xlabel {}\n", Quote(xlabel));
  const char* style = options.points ? "linespoints pt 7" : "lines";
  // One plot command over the columns accepted by `keep` (gnuplot cycles through 8 colours:
  // later curves get dashes so that none look alike).
  auto plot_command = [&](auto keep) {
    std::string cmd = "plot ";
    int drawn = 0;
    for (size_t c = 0; c < cols.size(); ++c) {
      if (!keep(table.names[cols[c]])) continue;
      cmd +=
          fmt::format("{}{} using 1:{} with {} lw 1.5 dt {} title {}", drawn ? ", " : "",
                      Quote(data_path), c + 2, style, drawn / 8 + 1, Quote(table.names[cols[c]]));
      ++drawn;
    }
    return drawn > 0 ? cmd + "\n" : std::string();
  };
  if (bode) {
    auto is_phase = [](const std::string& n) { return n.rfind("ph(", 0) == 0; };
    script += "set logscale x\nset multiplot layout 2,1\nset ylabel \"magnitude [dB]\"\n";
    script += plot_command([&](const std::string& n) { return !is_phase(n); });
    script += "set ylabel \"phase [degrees]\"\nunset title\n";
    script += plot_command(is_phase);
    script += "unset multiplot\n";
  } else {
    script += fmt::format("set ylabel {}\n",
                          Quote(options.ylabel.empty() ? YLabel(table, cols) : options.ylabel));
    script += plot_command([](const std::string&) { return true; });
  }
  script += "\n";
  return RunGnuplot(path, options.width, options.height, script);
}

}  // namespace memspice::io
