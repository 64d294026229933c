// Parameter fitting (autodiff/fit.h): recovery of known parameters from waveforms generated with
// them (memspice and ngspice), the forward-sensitivity Jacobian against finite differences, the
// fitted deck, and input errors.
#define BOOST_TEST_MODULE fit
#include "autodiff/fit.h"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "io/csv_writer.h"
#include "io/raw_file.h"
#include "ngspice/export.h"
#include "ngspice/runner.h"
#include "tests/adjoint/adjoint_test_util.h"
#include "tests/test_util.h"

namespace memspice::autodiff {
namespace {

using testing::MakeReparser;
using testing::ParseDeck;

const char* kRcDeck =
    "rc\n.param rval=1k\nV1 in 0 PULSE(0 1 10u 5u 5u 1 1)\nR1 in out {rval}\nR2 in out2 2k\n"
    "C1 out 0 1n\nC2 out2 0 1n\n.tran 1u 40u\n.end\n";

// MSS memristor in series with 100 ohm under a 0.3 V, 200 Hz sine: two pinched hysteresis
// loops; i(v1) carries every parameter (ron, roff through G(x), von/voff/k/tau through x(t)).
const char* kMssDeck =
    "mss hysteresis\n"
    ".model mssfit mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6)\n"
    "V1 in 0 SIN(0 0.3 200)\nR1 in p 100\nYMSS m1 p 0 mssfit x0=0.1\n"
    ".options reltol=1e-4\n.tran 5u 10m 0 5u\n.end\n";

const std::vector<std::string> kMssParams = {"mssfit:ron",  "mssfit:roff", "mssfit:von",
                                             "mssfit:voff", "mssfit:tau",  "mssfit:k"};
const std::vector<double> kMssTrue = {1e3, 1e5, 0.11, 0.005, 1e-3, 0.6};

std::vector<double> Grid(double t0, double t1, int n) {
  std::vector<double> t(n);
  for (int i = 0; i < n; ++i) t[i] = t0 + (t1 - t0) * i / (n - 1);
  return t;
}

// Target table from SimulateAtTimes at the given values.
io::WaveformTable Generate(const std::string& deck, const std::vector<std::string>& names,
                           const std::vector<double>& values,
                           const std::vector<std::string>& signals,
                           const std::vector<double>& times) {
  netlist::Netlist nl = ParseDeck(deck);
  solver::SimOptions o;
  BOOST_REQUIRE(o.ApplyNetlistOptions(nl).ok());
  std::vector<double> y;
  Status s = SimulateAtTimes(nl, o, names, values, MakeReparser(deck), signals, times, &y, nullptr);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  io::WaveformTable t;
  t.scale_name = "time";
  t.scale = times;
  t.names = signals;
  const size_t M = times.size();
  for (size_t j = 0; j < M; ++j) {
    std::vector<double> row;
    for (size_t si = 0; si < signals.size(); ++si) row.push_back(y[si * M + j]);
    t.rows.push_back(row);
  }
  return t;
}

FitResult RunFit(const std::string& deck, FitRequest req, Status* status = nullptr) {
  netlist::Netlist nl = ParseDeck(deck);
  solver::SimOptions o;
  BOOST_REQUIRE(o.ApplyNetlistOptions(nl).ok());
  req.reparse = MakeReparser(deck);
  FitResult r;
  Status s = Fit(nl, o, req, &r);
  if (status != nullptr) {
    *status = s;
  } else {
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message() + " / " + s.hint());
  }
  for (const auto& p : r.params) {
    BOOST_TEST_MESSAGE("  " << p.name << " " << p.initial << " -> " << p.fitted << " +- "
                            << p.sigma.value_or(-1));
  }
  BOOST_TEST_MESSAGE("  cost " << r.final_cost << " iterations " << r.iterations << " " << r.seconds
                               << " s");
  return r;
}

double RelErr(double a, double b) { return std::abs(a - b) / std::abs(b); }

BOOST_AUTO_TEST_CASE(rc_recovers_element_value_and_param) {
  const auto times = Grid(0, 40e-6, 161);
  FitRequest req;
  req.signals = {"v(out)"};
  req.target = Generate(kRcDeck, {"rval"}, {1e3}, req.signals, times);
  // The element value R1 (= {rval}), from 30 % off.
  req.params = {"r1"};
  req.start = {{"r1", 1.3e3}};
  FitResult r = RunFit(kRcDeck, req);
  BOOST_CHECK_LT(RelErr(r.params[0].fitted, 1e3), 1e-4);
  BOOST_CHECK(r.params[0].log_space);
  BOOST_CHECK(r.converged);
  BOOST_CHECK_LT(r.final_cost, 1e-12);
  BOOST_CHECK(r.jacobian_method.find("forward sensitivity") != std::string::npos);
  // The .param (re-parse path), from 20 % below.
  req.params = {"rval"};
  req.start = {{"rval", 0.8e3}};
  r = RunFit(kRcDeck, req);
  BOOST_CHECK_LT(RelErr(r.params[0].fitted, 1e3), 1e-4);
}

BOOST_AUTO_TEST_CASE(huber_loss_resists_outliers) {
  const auto times = Grid(0, 40e-6, 161);
  FitRequest req;
  req.signals = {"v(out)"};
  req.target = Generate(kRcDeck, {"rval"}, {1e3}, req.signals, times);
  for (int j = 20; j < 160; j += 20) req.target.rows[j][0] += 0.3;  // 7 gross outliers
  req.params = {"rval"};
  req.start = {{"rval", 1.2e3}};
  const double plain = RunFit(kRcDeck, req).params[0].fitted;
  req.huber = true;
  req.huber_scale = 0.01;
  const double huber = RunFit(kRcDeck, req).params[0].fitted;
  BOOST_TEST_MESSAGE("least squares " << plain << ", Huber " << huber);
  BOOST_CHECK_GT(RelErr(plain, 1e3), 5e-2);  // ~10 % off
  BOOST_CHECK_LT(RelErr(huber, 1e3), 1e-2);  // ~0.5 % off
}

BOOST_AUTO_TEST_CASE(mss_recovers_all_six_parameters) {
  FitRequest req;
  req.signals = {"i(v1)"};
  req.target = Generate(kMssDeck, kMssParams, kMssTrue, req.signals, Grid(0, 10e-3, 2001));
  req.params = kMssParams;
  const std::vector<double> factor = {1.3, 0.75, 1.2, 1.25, 0.8, 0.85};  // 15-30 % off
  for (size_t i = 0; i < kMssParams.size(); ++i) req.start[kMssParams[i]] = kMssTrue[i] * factor[i];
  FitResult r = RunFit(kMssDeck, req);
  BOOST_CHECK(r.converged);
  for (size_t i = 0; i < kMssParams.size(); ++i) {
    BOOST_CHECK_MESSAGE(
        RelErr(r.params[i].fitted, kMssTrue[i]) < 1e-2,
        kMssParams[i] << " fitted " << r.params[i].fitted << " true " << kMssTrue[i]);
    BOOST_CHECK_MESSAGE(r.params[i].sigma.has_value(), kMssParams[i] << " has no uncertainty");
  }
}

BOOST_AUTO_TEST_CASE(mss_recovers_parameters_from_ngspice_waveform) {
  if (!memspice::testing::HaveNgspice()) return;
  memspice::testing::TempDir dir("fit");
  // ngspice integrates the exported behavioural deck with its own step control: a 1 us step
  // limit keeps its discretisation error well below the 1 % criterion.
  std::string text = kMssDeck;
  const std::string tran = ".tran 5u 10m 0 5u";
  text.replace(text.find(tran), tran.size(), ".tran 1u 10m 0 1u");
  netlist::Diagnostics diag;
  std::string exported;
  BOOST_REQUIRE_MESSAGE(ngspice::ExportNgspiceString(text, dir / "mss.cir", {}, &exported, diag),
                        diag.Format());
  ngspice::NgspiceResult ng;
  Status s = ngspice::RunNgspiceText(exported, dir.path().string(), {}, &ng);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  FitRequest req;
  for (const auto& p : ng.plots) {
    if (p.scale_name == "time") req.target = p;
  }
  BOOST_REQUIRE_GT(req.target.num_points(), 100);
  req.signals = {"i(v1)"};
  req.params = kMssParams;
  const std::vector<double> factor = {1.2, 0.8, 1.18, 1.2, 1.25, 0.83};
  for (size_t i = 0; i < kMssParams.size(); ++i) req.start[kMssParams[i]] = kMssTrue[i] * factor[i];
  FitResult r = RunFit(kMssDeck, req);
  for (size_t i = 0; i < kMssParams.size(); ++i) {
    BOOST_CHECK_MESSAGE(
        RelErr(r.params[i].fitted, kMssTrue[i]) < 1e-2,
        kMssParams[i] << " fitted " << r.params[i].fitted << " true " << kMssTrue[i]);
  }
}

BOOST_AUTO_TEST_CASE(jacobian_matches_finite_differences) {
  // Fixed step: the grid does not move with the parameters, so central differences of the
  // whole simulation are smooth.
  std::string deck = kMssDeck;
  netlist::Netlist nl = ParseDeck(deck);
  solver::SimOptions o;
  BOOST_REQUIRE(o.ApplyNetlistOptions(nl).ok());
  o.fixed_step = 10e-6;
  const std::vector<std::string> sig = {"i(v1)", "x(m1)"};
  const auto times = Grid(0, 10e-3, 333);  // off the step grid: interpolation weights matter
  const std::vector<double> p = {1.1e3, 0.9e5, 0.12, 0.006, 1.1e-3, 0.55};
  std::vector<double> y, jac;
  Status s = SimulateAtTimes(nl, o, kMssParams, p, MakeReparser(deck), sig, times, &y, &jac);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  const size_t P = p.size(), R = y.size();
  for (size_t i = 0; i < P; ++i) {
    const double d = 1e-6 * std::abs(p[i]);
    std::vector<double> pp = p, pm = p, yp, ym;
    pp[i] += d;
    pm[i] -= d;
    BOOST_REQUIRE(
        SimulateAtTimes(nl, o, kMssParams, pp, MakeReparser(deck), sig, times, &yp, nullptr).ok());
    BOOST_REQUIRE(
        SimulateAtTimes(nl, o, kMssParams, pm, MakeReparser(deck), sig, times, &ym, nullptr).ok());
    double num = 0.0, den = 0.0;
    for (size_t r = 0; r < R; ++r) {
      const double fd = (yp[r] - ym[r]) / (2.0 * d);
      num += (jac[r * P + i] - fd) * (jac[r * P + i] - fd);
      den += fd * fd;
    }
    const double rel = std::sqrt(num / den);
    BOOST_TEST_MESSAGE(kMssParams[i] << ": |J - FD| / |FD| = " << rel);
    BOOST_CHECK_GT(den, 0.0);
    BOOST_CHECK_LT(rel, 1e-5);
  }
}

BOOST_AUTO_TEST_CASE(fitted_deck_substitutes_values) {
  const std::string text =
      "t\n.param a=1 b = {2*a}\n.model mm mss (ron=1k roff=100k\n+ tau=1m)\n"
      ".include mss.lib\nR1 x 0 {a}\nV1 x 0 DC 2 SIN(0 1 1k)\nC1 x 0 1n\n"
      "YMSS m1 x 0 mm x0=0.1\nYMSS m2 x 0 mss_neuron ; library model\n.ic v(x)=0.5\n.tran 1u "
      "1m\n.end\n";
  netlist::Netlist nl = ParseDeck(text);
  std::string out;
  std::vector<std::string> unwritten;
  BOOST_REQUIRE(SubstituteParams(text, nl,
                                 {{"a", 3},
                                  {"r1", 4.5},
                                  {"v1", 2.5},
                                  {"mm:tau", 2e-3},
                                  {"m1:x0", 0.25},
                                  {"m1:ron", 500},
                                  {"mss_neuron:roff", 5e4},
                                  {"ic:x", 0.75}},
                                 &out, &unwritten)
                    .ok());
  BOOST_TEST_MESSAGE(out);
  BOOST_CHECK(unwritten.empty());
  for (const char* want : {".param a=3 b = {2*a}", "+ tau=0.002)", "R1 x 0 4.5", "V1 x 0 DC 2.5",
                           "YMSS m1 x 0 mm x0=0.25 ron=500",
                           "YMSS m2 x 0 mss_neuron roff=50000 ; library model", ".ic v(x)=0.75"}) {
    BOOST_CHECK_MESSAGE(out.find(want) != std::string::npos, "missing: " << want);
  }
  // The rewritten deck parses and carries the values.
  netlist::Netlist back = ParseDeck(out);
  BOOST_CHECK_EQUAL(back.params.at("a"), 3.0);
  BOOST_CHECK_EQUAL(back.models.at("mm").params.at("tau"), 2e-3);
}

BOOST_AUTO_TEST_CASE(input_errors_are_named) {
  const auto times = Grid(0, 40e-6, 41);
  FitRequest base;
  base.signals = {"v(out)"};
  base.target = Generate(kRcDeck, {"rval"}, {1e3}, base.signals, times);
  base.params = {"r1"};
  auto error = [&](FitRequest req) {
    Status s;
    RunFit(kRcDeck, req, &s);
    BOOST_CHECK(!s.ok());
    BOOST_TEST_MESSAGE("error: " << s.message());
    return s.message();
  };
  FitRequest r = base;
  r.params = {"nosuch"};
  BOOST_CHECK(error(r).find("'nosuch'") != std::string::npos);
  r = base;
  r.signals = {"v(nonode)"};
  BOOST_CHECK(error(r).find("v(nonode)") != std::string::npos);
  r = base;
  r.signals = {"v(out2)"};  // a valid probe that the target lacks
  BOOST_CHECK(error(r).find("not a column of the target") != std::string::npos);
  r = base;
  r.bounds["r1"] = {2e3, 1e3};
  BOOST_CHECK(error(r).find("not below") != std::string::npos);
  r = base;
  r.bounds["r1"] = {2e3, 3e3};
  BOOST_CHECK(error(r).find("outside its bounds") != std::string::npos);
  r = base;
  r.bounds["c1"] = {1e-9, 2e-9};
  BOOST_CHECK(error(r).find("not one of the fitted parameters") != std::string::npos);
  r = base;
  r.target.scale_name = "v(in)";
  BOOST_CHECK(error(r).find("no time column") != std::string::npos);
  r = base;
  r.target.scale = {100e-6};  // beyond tstop
  r.target.rows.resize(1);
  BOOST_CHECK(error(r).find("usable rows") != std::string::npos);
  r = base;
  r.target.rows[5][0] = std::nan("");
  BOOST_CHECK(error(r).find("not finite") != std::string::npos);
}

// The CLI end to end: table, fitted deck, JSON, exit codes for bad input.
int Cli(const std::string& args) {
  const std::string cmd = std::string(MEMSPICE_BINARY) + " " + args + " > /dev/null 2>&1";
  return WEXITSTATUS(std::system(cmd.c_str()));
}

BOOST_AUTO_TEST_CASE(cli_fits_and_writes_deck) {
  memspice::testing::TempDir dir("fit_cli");
  const std::string deck = dir.Write("rc.cir", kRcDeck);
  const auto times = Grid(0, 40e-6, 81);
  io::WaveformTable t = Generate(kRcDeck, {"rval"}, {1e3}, {"v(out)"}, times);
  BOOST_REQUIRE(io::WriteCsv(t, dir / "target.csv").ok());
  BOOST_REQUIRE_EQUAL(Cli("fit " + deck + " --target " + (dir / "target.csv") +
                          " --signals 'v(out)' --params rval --start rval=1.25k --bounds "
                          "rval=100:10k --json " +
                          (dir / "fit.json")),
                      0);
  std::ifstream fitted(dir / "rc_fit.cir");
  std::string all((std::istreambuf_iterator<char>(fitted)), std::istreambuf_iterator<char>());
  BOOST_CHECK_MESSAGE(all.find(".param rval=1000") != std::string::npos ||
                          all.find(".param rval=999.9") != std::string::npos,
                      all);
  std::ifstream js(dir / "fit.json");
  std::string json((std::istreambuf_iterator<char>(js)), std::istreambuf_iterator<char>());
  BOOST_CHECK(json.find("forward sensitivity") != std::string::npos);
  // The same target as a SPICE raw file.
  BOOST_REQUIRE(io::WriteRaw({t}, dir / "target.raw", true).ok());
  BOOST_CHECK_EQUAL(Cli("fit " + deck + " --target " + (dir / "target.raw") +
                        " --signals 'v(out)' --params r1 --start r1=800 -o " + (dir / "r.cir")),
                    0);
  const std::string t_arg = " --target " + (dir / "target.csv");
  BOOST_CHECK_EQUAL(Cli("fit " + deck + t_arg + " --signals 'v(zz)' --params rval"), 1);
  BOOST_CHECK_EQUAL(Cli("fit " + deck + t_arg + " --signals 'v(out)' --params zz"), 1);
  BOOST_CHECK_EQUAL(Cli("fit " + deck + t_arg +
                        " --signals 'v(out)' --params rval --bounds "
                        "rval=5k:1k"),
                    1);
  BOOST_CHECK_EQUAL(Cli("fit " + deck + t_arg + " --signals 'v(out)' --params rval --bounds rval"),
                    1);
  BOOST_CHECK_EQUAL(Cli("fit " + deck + t_arg + " --signals 'v(out)' --params rval --loss cauchy"),
                    1);
  const std::string no_time = dir.Write("notime.csv", "v(out),v(in)\n0,0\n1,1\n");
  BOOST_CHECK_EQUAL(
      Cli("fit " + deck + " --target " + no_time + " --signals 'v(out)' --params rval"), 1);
}

}  // namespace
}  // namespace memspice::autodiff
