// Speed benchmark: memspice vs ngspice 39 on resistive crossbars with line R and C.
//
// For each size N it writes an N x N crossbar deck (circuits/crossbar.h: SIN drivers, 0 V sense
// sources, `.tran` with max step = tstep, `.save` of the sense currents, a shared `.options`),
// times memspice and `ngspice -b -r out.raw deck.cir` on the same file, checks that the sense
// currents agree, and prints a markdown table. memspice runs either in-process through the library
// (parse + build + simulate, the default) or as the CLI (`--memspice-cli PATH`: `PATH sim deck
// --csv /dev/null -q`). Medians over the repetitions of CPU time (robust on a shared machine)
// and wall time. Not a test: runs by hand
// (benchmarks/crossbar_speed.sh), ngspice needs minutes for 64 x 64.
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "circuits/crossbar.h"
#include "io/raw_file.h"
#include "netlist/netlist.h"
#include "solver/circuit.h"
#include "solver/simulator.h"

namespace {

namespace fs = std::filesystem;
using memspice::Status;
using memspice::io::WaveformTable;

struct Args {
  std::vector<int> sizes = {32, 48, 64, 128};
  int ngspice_max = 64;  // larger sizes run memspice only
  int reps = 3;          // memspice repetitions, every size
  int ngspice_reps = 3;  // ngspice repetitions for sizes <= ngspice_small, else 1
  int ngspice_small = 32;
  int steps = 1000;
  double tstop = 1e-3;
  double rline = 1.0;
  double cline = 1e-15;
  std::string options = "reltol=1e-3 abstol=1e-12 vntol=1e-6";
  std::string memspice_cli;  // empty: in-process
  std::string ngspice = "ngspice";
  std::string work_dir = "crossbar_bench_work";
  bool check = true;
};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU seconds of this process. On a shared machine CPU time is the robust measure: wall time
// also counts the time slices other processes took.
double CpuNow() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

double ChildrenCpu() {
  rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + ru.ru_stime.tv_sec +
         1e-6 * ru.ru_stime.tv_usec;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Timing {
  double wall = 0, cpu = 0;
};

// Runs a shell command; returns false if it failed. CPU time is that of the waited-for children
// (the shell and the simulator).
bool TimeCommand(const std::string& cmd, Timing* t) {
  const double w0 = Now(), c0 = ChildrenCpu();
  const int rc = std::system(cmd.c_str());
  t->wall = Now() - w0;
  t->cpu = ChildrenCpu() - c0;
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

struct MemspiceRun {
  double parse = 0, build = 0, simulate = 0, total = 0;  // CPU seconds
  double wall = 0;
  int points = 0;
  WaveformTable table;
};

// In-process run of the library: what `memspice sim` does minus writing outputs.
Status RunInProcess(const std::string& deck_path, MemspiceRun* run) {
  namespace nl = memspice::netlist;
  namespace sv = memspice::solver;
  const double w0 = Now();
  const double t0 = CpuNow();
  nl::Diagnostics diag;
  std::optional<nl::Netlist> netlist = nl::ParseFile(deck_path, nl::ParseOptions{}, diag);
  if (!netlist || diag.has_errors()) return Status::Error("parse failed:\n" + diag.Format());
  const double t1 = CpuNow();
  std::unique_ptr<sv::Circuit> circuit = sv::Circuit::Build(*netlist, diag);
  if (!circuit || diag.has_errors()) return Status::Error("build failed:\n" + diag.Format());
  const double t2 = CpuNow();
  sv::SimOptions options;
  if (Status o = options.ApplyNetlistOptions(*netlist); !o.ok()) return o;
  if (netlist->analyses.empty()) return Status::Error("deck has no analysis");
  run->table = WaveformTable{};
  Status st =
      sv::RunAnalysis(*circuit, *netlist, netlist->analyses.front(), options, nullptr, &run->table);
  if (!st.ok()) return st;
  const double t3 = CpuNow();
  run->wall = Now() - w0;
  run->parse = t1 - t0;
  run->build = t2 - t1;
  run->simulate = t3 - t2;
  run->total = t3 - t0;
  run->points = run->table.num_points();
  return Status::Ok();
}

// Linear interpolation of (xs, ys) at x; xs increasing.
double Interp(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  if (x <= xs.front()) return ys.front();
  if (x >= xs.back()) return ys.back();
  const size_t k = std::upper_bound(xs.begin(), xs.end(), x) - xs.begin();
  const double w = (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
  return ys[k - 1] + w * (ys[k] - ys[k - 1]);
}

// Largest |memspice - ngspice| over every sense current on ngspice's time points, relative to the
// largest |ngspice| value. Negative if the signals cannot be matched.
double MaxRelDiff(const WaveformTable& ms, const WaveformTable& ng, int* compared) {
  double max_diff = 0, peak = 0;
  *compared = 0;
  if (ms.scale.size() < 2 || ng.scale.empty()) return -1;
  for (size_t j = 0; j < ng.names.size(); ++j) {
    const int mj = ms.Find(ng.names[j]);
    if (mj < 0) continue;
    const std::vector<double> my = ms.Column(mj);
    for (int p = 0; p < ng.num_points(); ++p) {
      const double v = ng.rows[p][j];
      peak = std::max(peak, std::abs(v));
      max_diff = std::max(max_diff, std::abs(Interp(ms.scale, my, ng.scale[p]) - v));
    }
    ++*compared;
  }
  if (*compared == 0 || peak == 0) return -1;
  return max_diff / peak;
}

std::vector<int> ParseSizes(const std::string& s) {
  std::vector<int> out;
  for (size_t p = 0; p <= s.size();) {
    size_t q = s.find(',', p);
    if (q == std::string::npos) q = s.size();
    out.push_back(std::atoi(s.substr(p, q - p).c_str()));
    p = q + 1;
  }
  return out;
}

void Usage() {
  std::fprintf(stderr,
               "usage: crossbar_bench [--sizes 32,48,64,128] [--ngspice-max 64] [--reps 3]\n"
               "       [--ngspice-reps 3] [--ngspice-small 32] [--steps 1000] [--tstop 1e-3]\n"
               "       [--rline 1] [--cline 1e-15] [--options '...'] [--memspice-cli PATH]\n"
               "       [--ngspice PATH] [--work-dir DIR] [--no-check]\n");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "crossbar_bench: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--sizes")
      a.sizes = ParseSizes(val());
    else if (k == "--ngspice-max")
      a.ngspice_max = std::atoi(val().c_str());
    else if (k == "--reps")
      a.reps = std::atoi(val().c_str());
    else if (k == "--ngspice-reps")
      a.ngspice_reps = std::atoi(val().c_str());
    else if (k == "--ngspice-small")
      a.ngspice_small = std::atoi(val().c_str());
    else if (k == "--steps")
      a.steps = std::atoi(val().c_str());
    else if (k == "--tstop")
      a.tstop = std::atof(val().c_str());
    else if (k == "--rline")
      a.rline = std::atof(val().c_str());
    else if (k == "--cline")
      a.cline = std::atof(val().c_str());
    else if (k == "--options")
      a.options = val();
    else if (k == "--memspice-cli")
      a.memspice_cli = val();
    else if (k == "--ngspice")
      a.ngspice = val();
    else if (k == "--work-dir")
      a.work_dir = val();
    else if (k == "--no-check")
      a.check = false;
    else {
      Usage();
      return 2;
    }
  }
  if (a.reps < 1 || a.ngspice_reps < 1) {
    std::fprintf(stderr, "crossbar_bench: --reps and --ngspice-reps must be >= 1\n");
    return 2;
  }
  std::error_code ec;
  fs::create_directories(a.work_dir, ec);
  if (ec) {
    std::fprintf(stderr, "crossbar_bench: cannot create %s: %s\n", a.work_dir.c_str(),
                 ec.message().c_str());
    return 2;
  }

  struct Row {
    int size = 0, unknowns = 0, points = 0, ng_reps = 0;
    double ms = NAN, ms_wall = NAN, ms_parse = NAN, ms_build = NAN, ms_sim = NAN;
    double ng = NAN, ng_wall = NAN, diff = NAN;
    std::string note;
  };
  const bool lib = a.memspice_cli.empty();
  std::printf(
      "| size | unknowns | memspice CPU s | ngspice CPU s | speedup (CPU) | memspice wall s | "
      "ngspice wall s | max diff |%s\n",
      lib ? " memspice parse / build / simulate CPU s | points |" : "");
  std::printf("|---|---|---|---|---|---|---|---|%s\n", lib ? "---|---|" : "");
  std::fflush(stdout);
  // Rows are printed as they complete, so a long run shows partial results.
  auto print_row = [&](const Row& r) {
    std::string ng = "-", ngw = "-", speed = "-", diff = "-";
    char buf[64];
    if (r.ng == r.ng) {
      std::snprintf(buf, sizeof buf, "%.2f", r.ng);
      ng = buf;
      std::snprintf(buf, sizeof buf, "%.2f (%d run%s)", r.ng_wall, r.ng_reps,
                    r.ng_reps > 1 ? "s" : "");
      ngw = buf;
      if (r.ms > 0) {
        std::snprintf(buf, sizeof buf, "%.0fx", r.ng / r.ms);
        speed = buf;
      }
    }
    if (r.diff >= 0) {
      std::snprintf(buf, sizeof buf, "%.1e", r.diff);
      diff = buf;
    }
    std::printf("| %dx%d | %d | %.3f | %s | %s | %.3f | %s | %s |", r.size, r.size, r.unknowns,
                r.ms, ng.c_str(), speed.c_str(), r.ms_wall, ngw.c_str(), diff.c_str());
    if (lib) std::printf(" %.3f / %.3f / %.3f | %d |", r.ms_parse, r.ms_build, r.ms_sim, r.points);
    if (!r.note.empty()) std::printf(" %s", r.note.c_str());
    std::printf("\n");
    std::fflush(stdout);
  };
  bool failed = false;
  for (int n : a.sizes) {
    Row row;
    row.size = n;
    memspice::circuits::CrossbarSpec spec;
    spec.rows = spec.cols = n;
    spec.rline = a.rline;
    spec.cline = a.cline;
    spec.steps = a.steps;
    spec.tstop = a.tstop;
    spec.options = a.options;
    std::string deck;
    Status st = memspice::circuits::GenerateCrossbarDeck(spec, &deck);
    if (!st.ok()) {
      std::fprintf(stderr, "crossbar_bench: %s\n", st.message().c_str());
      return 2;
    }
    row.unknowns = memspice::circuits::CountCrossbar(spec).unknowns;
    const std::string deck_path = a.work_dir + "/xbar_" + std::to_string(n) + ".cir";
    std::ofstream(deck_path) << deck;
    std::fprintf(stderr, "[%dx%d] %d unknowns, deck %s\n", n, n, row.unknowns, deck_path.c_str());

    // memspice
    std::vector<double> cpu, wall, t_parse, t_build, t_sim;
    MemspiceRun run;
    for (int r = 0; r < a.reps; ++r) {
      if (a.memspice_cli.empty()) {
        st = RunInProcess(deck_path, &run);
        if (!st.ok()) {
          std::fprintf(stderr, "[%dx%d] memspice failed: %s\n", n, n, st.message().c_str());
          row.note = "memspice failed";
          failed = true;
          break;
        }
        cpu.push_back(run.total);
        wall.push_back(run.wall);
        t_parse.push_back(run.parse);
        t_build.push_back(run.build);
        t_sim.push_back(run.simulate);
        row.points = run.points;
      } else {
        const std::string log = a.work_dir + "/ms_" + std::to_string(n) + ".log";
        Timing t;
        if (!TimeCommand(Quote(a.memspice_cli) + " sim " + Quote(deck_path) +
                             " --csv /dev/null -q --no-progress > " + Quote(log) + " 2>&1",
                         &t)) {
          std::fprintf(stderr, "[%dx%d] memspice CLI failed, see %s\n", n, n, log.c_str());
          row.note = "memspice failed";
          failed = true;
          break;
        }
        cpu.push_back(t.cpu);
        wall.push_back(t.wall);
      }
      std::fprintf(stderr, "[%dx%d] memspice run %d: %.3f s CPU, %.3f s wall\n", n, n, r + 1,
                   cpu.back(), wall.back());
    }
    row.ms = Median(cpu);
    row.ms_wall = Median(wall);
    row.ms_parse = Median(t_parse);
    row.ms_build = Median(t_build);
    row.ms_sim = Median(t_sim);

    // ngspice
    if (n <= a.ngspice_max) {
      const int reps = n <= a.ngspice_small ? a.ngspice_reps : 1;
      const std::string raw = a.work_dir + "/ng_" + std::to_string(n) + ".raw";
      const std::string log = a.work_dir + "/ng_" + std::to_string(n) + ".log";
      std::vector<double> ng_cpu, ng_wall;
      for (int r = 0; r < reps; ++r) {
        Timing t;
        if (!TimeCommand(Quote(a.ngspice) + " -b -r " + Quote(raw) + " " + Quote(deck_path) +
                             " > " + Quote(log) + " 2>&1 < /dev/null",
                         &t)) {
          std::fprintf(stderr, "[%dx%d] ngspice failed, see %s\n", n, n, log.c_str());
          row.note += row.note.empty() ? "ngspice failed" : ", ngspice failed";
          failed = true;
          break;
        }
        ng_cpu.push_back(t.cpu);
        ng_wall.push_back(t.wall);
        std::fprintf(stderr, "[%dx%d] ngspice run %d: %.3f s CPU, %.3f s wall\n", n, n, r + 1,
                     t.cpu, t.wall);
      }
      row.ng = Median(ng_cpu);
      row.ng_wall = Median(ng_wall);
      row.ng_reps = static_cast<int>(ng_cpu.size());
      // Agreement of the sense currents (untimed; in-process memspice results).
      if (a.check && !ng_cpu.empty()) {
        if (!a.memspice_cli.empty() || run.table.num_points() == 0) {
          if (!RunInProcess(deck_path, &run).ok()) run.table = WaveformTable{};
        }
        std::vector<WaveformTable> plots;
        st = memspice::io::ReadRaw(raw, &plots);
        const WaveformTable* tran = nullptr;
        for (const auto& p : plots)
          if (!p.scale.empty()) tran = &p;
        int compared = 0;
        if (st.ok() && tran) row.diff = MaxRelDiff(run.table, *tran, &compared);
        if (!(row.diff >= 0)) row.note += row.note.empty() ? "no comparison" : ", no comparison";
        std::fprintf(stderr, "[%dx%d] sense currents: %d compared, max diff %.2e of peak\n", n, n,
                     compared, row.diff);
      }
    }
    print_row(row);
  }

  return failed ? 1 : 0;
}
