// ngspice export of native memristive devices (ngspice/export.h): the rewritten text,
// error reporting, and — when ngspice is installed — that the exported behavioural decks give the
// MSS model's own numbers (DC hold and current, closed-form state relaxation, alpha currents) and
// the spec's MIF reference values.
#define BOOST_TEST_MODULE mss_export
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "devices/alpha_source.h"
#include "devices/mss_model.h"
#include "ngspice/export.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
namespace mss = memspice::devices::mss;
using memspice::ngspice::ExportNgspice;
using memspice::ngspice::ExportNgspiceString;

using memspice::testing::HaveNgspice;

namespace {

const std::string kLib = std::string(MEMSPICE_SOURCE_DIR) + "/circuits/lib";

fs::path TempDir() {
  static fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("memspice_mss_export_" + std::to_string(getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

// Removes the temporary decks when the module ends (set MEMSPICE_KEEP_TMP to keep them).
struct RemoveTempDir {
  ~RemoveTempDir() {
    std::error_code ec;
    if (std::getenv("MEMSPICE_KEEP_TMP") == nullptr) fs::remove_all(TempDir(), ec);
  }
};

void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Exports `deck` (written to a temp file), appends a .control block and runs ngspice; returns
// every `name = value` printed (print/meas output), lower case names.
std::map<std::string, double> RunExported(const std::string& name, const std::string& deck,
                                          const std::string& control) {
  const fs::path path = TempDir() / (name + ".cir");
  Write(path, deck);
  memspice::netlist::Diagnostics diag;
  std::string text;
  BOOST_REQUIRE_MESSAGE(ExportNgspice(path.string(), {kLib}, &text, diag), diag.Format());
  // Replace the final .end by the control block.
  const size_t end = text.rfind(".end\n");
  if (end != std::string::npos && end + 5 == text.size()) text.resize(end);
  text += ".control\n" + control + "\n.endc\n.end\n";
  const fs::path ng = TempDir() / (name + "_ng.cir");
  Write(ng, text);
  const fs::path log = TempDir() / (name + "_ng.log");
  const std::string cmd = "cd '" + TempDir().string() + "' && ngspice -b '" + ng.string() +
                          "' > '" + log.string() + "' 2>&1";
  // ngspice -b exits with 1 after a .control block even on success; missing values tell.
  const int rc = std::system(cmd.c_str());
  BOOST_TEST_MESSAGE("ngspice exit status " << rc);
  std::map<std::string, double> values;
  std::istringstream in(Read(log));
  std::string line;
  static const std::regex kv(R"(^\s*([a-z0-9_().#\[\],]+)\s*=\s*([-+0-9.eE]+))");
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, kv)) values[m[1]] = std::stod(m[2]);
  }
  BOOST_TEST_MESSAGE(Read(log));
  return values;
}

double Get(const std::map<std::string, double>& v, const std::string& name) {
  auto it = v.find(name);
  BOOST_REQUIRE_MESSAGE(it != v.end(), "ngspice did not print " << name);
  return it->second;
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(RemoveTempDir);

BOOST_AUTO_TEST_CASE(rewrites_native_lines_and_keeps_the_rest) {
  const std::string deck =
      "title line\n"
      ".model mm mss (ron=2k roff=50k\n"
      "+ k=0.5 convention=knowm)\n"
      "R1 a 0 1k ; a comment\n"
      "YMSS m1 a b mm x0=0.25 tau = 2m\n"
      "YALPHA a1 0 a tau=0.64m w=27u period=1m\n"
      ".print tran v(a) x(m1)\n"
      ".options method=be reltol=1e-4\n"
      ".control\n"
      "yscript stays\n"
      ".endc\n"
      ".end\n";
  memspice::netlist::Diagnostics diag;
  std::string out;
  BOOST_REQUIRE_MESSAGE(ExportNgspiceString(deck, "t.cir", {}, &out, diag), diag.Format());
  BOOST_TEST(out.rfind("title line\n", 0) == 0);  // title stays first
  BOOST_TEST(Contains(out, "R1 a 0 1k ; a comment\n"));
  BOOST_TEST(Contains(out, "* [memspice] .model mm mss (ron=2k roff=50k\n"));
  BOOST_TEST(Contains(out, "* [memspice] + k=0.5 convention=knowm)\n"));
  // The current and state rate are mss::Current and mss::StateRate written as ngspice text.
  BOOST_TEST(Contains(out, "Bmss_m1 a b I = (((V(m1_x)/2000)+((1-V(m1_x))/50000))*V(a,b))"));
  BOOST_TEST(Contains(out, "Cmss_m1 m1_x 0 1 IC=0.25"));
  BOOST_TEST(Contains(out, "(((-0.005)-V(a,b))/(0.5*0.025))"));  // knowm: V_off negated
  BOOST_TEST(Contains(out, "/0.002)\n"));                        // tau override
  BOOST_TEST(Contains(out, "Balpha_a1 0 a I = "));
  BOOST_TEST(Contains(out, ".print tran v(a) v(m1_x)"));
  BOOST_TEST(Contains(out, ".options method=gear maxord=1 reltol=1e-4"));
  BOOST_TEST(Contains(out, ".global mss_dc"));
  BOOST_TEST(Contains(out, "\n.control\nyscript stays\n.endc\n"));  // script untouched
  BOOST_TEST(memspice::ngspice::NgspiceSignalName("X(xn1.M1)") == "v(xn1.m1_x)");
  BOOST_TEST(memspice::ngspice::NgspiceSignalName("v(out)") == "v(out)");
}

BOOST_AUTO_TEST_CASE(decks_without_native_devices_only_inline_includes) {
  const fs::path inc = TempDir() / "plain_inc.lib";
  Write(inc, "* included\nR2 b 0 2k\n");
  memspice::netlist::Diagnostics diag;
  std::string out;
  BOOST_REQUIRE(ExportNgspiceString("plain\nV1 b 0 1\n.include plain_inc.lib\n.op\n.end\n",
                                    (TempDir() / "plain.cir").string(), {}, &out, diag));
  BOOST_TEST(!Contains(out, "mss_dc"));
  BOOST_TEST(Contains(out, "R2 b 0 2k\n"));
  BOOST_TEST(!Contains(out, "\n.include"));
}

BOOST_AUTO_TEST_CASE(errors_are_reported_at_their_lines) {
  auto errors = [](const std::string& deck) {
    memspice::netlist::Diagnostics diag;
    std::string out;
    BOOST_TEST(!ExportNgspiceString(deck, (TempDir() / "bad.cir").string(), {kLib}, &out, diag));
    return diag;
  };
  {
    auto d = errors("t\n.include nosuch.lib\n.end\n");
    BOOST_REQUIRE(d.num_errors() == 1);
    BOOST_TEST(d.items()[0].loc.line == 2);
    BOOST_TEST(Contains(d.items()[0].message, "cannot find include file 'nosuch.lib'"));
  }
  {
    auto d = errors("t\nR1 a 0 1\nYMSS m1 a 0 nomodel x0=0.1\n.end\n");
    BOOST_REQUIRE(d.num_errors() == 1);
    BOOST_TEST(d.items()[0].loc.line == 3);
    BOOST_TEST(Contains(d.items()[0].message, "unknown model 'nomodel'"));
  }
  {
    auto d =
        errors("t\n.include mss.lib\nYMSS m1 a 0 mss_neuron x0=0.1 bogus=3\nYMSS m2 a\n.end\n");
    BOOST_TEST(d.num_errors() == 2);  // both lines reported
    BOOST_TEST(Contains(d.Format(), "'bogus'"));
    BOOST_TEST(Contains(d.Format(), "malformed memristor line"));
  }
  {
    Write(TempDir() / "cyc_a.lib", "* a\n.include cyc_b.lib\n");
    Write(TempDir() / "cyc_b.lib", "* b\n.include cyc_a.lib\n");
    auto d = errors("t\n.include cyc_a.lib\n.end\n");
    BOOST_TEST(Contains(d.Format(), "include cycle"));
  }
  {
    auto d = errors("t\nYALPHA a1 0 v tau=1m events=(0 1u 2m)\nYQQ z1 a b\n.end\n");
    BOOST_TEST(d.num_errors() == 2);
    BOOST_TEST(Contains(d.Format(), "pairs"));
    BOOST_TEST(Contains(d.Format(), "cannot export"));
  }
}

BOOST_AUTO_TEST_CASE(ngspice_dc_holds_x0_and_current_matches_model) {
  if (!HaveNgspice()) {
    return;
  }
  // Generalized form (phi < 1, diode branch) and Knowm's convention in one device.
  const std::string deck =
      "dc hold\n"
      ".model mk mss (ron=2k roff=50k von=0.2 voff=0.03 k=1 convention=knowm phi=0.7 af=1e-6 "
      "bf=5 ar=2e-6 br=4)\n"
      "V1 a 0 DC 0.15\n"
      "YMSS m1 a 0 mk x0=0.35\n"
      ".end\n";
  const auto v = RunExported("dc_hold", deck, "op\nprint i(v1) v(m1_x)");
  mss::MssParams p;
  p.ron = 2e3, p.roff = 50e3, p.von = 0.2, p.voff = 0.03, p.k = 1, p.knowm = true, p.phi = 0.7;
  p.af = 1e-6, p.bf = 5, p.ar = 2e-6, p.br = 4;
  BOOST_TEST(Get(v, "v(m1_x)") == 0.35, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(-Get(v, "i(v1)") == mss::Current(p, 0.35, 0.15), boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(ngspice_state_relaxes_as_closed_form) {
  if (!HaveNgspice()) {
    return;
  }
  // Constant u: dx/dt = P_on (1 - x) - P_off x is linear, x(t) = xe + (x0 - xe) e^{-t/T},
  // T = tau / (P_on + P_off). The transient starts from the DC point, where x = x0.
  const std::string deck =
      "relax\n"
      ".include mss.lib\n"
      "V1 a 0 DC 0.09\n"
      "YMSS m1 a 0 mss_neuron x0=0.8\n"
      ".end\n";
  const auto v = RunExported("relax", deck,
                             "option reltol=1e-6 abstol=1e-15 vntol=1e-10\ntran 1u 3m 0 1u\n"
                             "meas tran xa find v(m1_x) at=0.5m\nmeas tran xb find v(m1_x) at=2m\n"
                             "meas tran x0 find v(m1_x) at=0");
  const mss::MssParams p;
  const double u = 0.09, on = mss::ProbabilityOn(p, u), off = mss::ProbabilityOff(p, u);
  const double xe = on / (on + off), rate = (on + off) / p.tau;
  auto x = [&](double t) { return xe + (0.8 - xe) * std::exp(-rate * t); };
  BOOST_TEST(Get(v, "x0") == 0.8, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(Get(v, "xa") == x(0.5e-3), boost::test_tools::tolerance(1e-4));
  BOOST_TEST(Get(v, "xb") == x(2e-3), boost::test_tools::tolerance(1e-4));
}

BOOST_AUTO_TEST_CASE(ngspice_alpha_sources_match_the_device) {
  if (!HaveNgspice()) {
    return;
  }
  const std::string deck =
      "alpha\n"
      "YALPHA a1 0 o1 tau=0.5m w=3u period=0.8m delay=0.1m count=4\n"
      "R1 o1 0 1k\n"
      "YALPHA a2 0 o2 tau=0.64m w=1u period=0.3m\n"
      "R2 o2 0 1k\n"
      "YALPHA a3 0 o3 tau=0.2m events=(0.5m 2u 0.1m 1u 1.7m -3u)\n"
      "R3 o3 0 1k\n"
      ".end\n";
  const std::vector<double> times = {0.05e-3, 0.33e-3, 0.95e-3, 1.234e-3, 2.55e-3, 3.9e-3, 5.99e-3};
  std::string control = "tran 1u 6m 0 1u\n";
  for (size_t k = 0; k < times.size(); ++k) {
    for (int s = 1; s <= 3; ++s) {
      control += "meas tran s" + std::to_string(s) + "_" + std::to_string(k) + " find v(o" +
                 std::to_string(s) + ") at=" + std::to_string(times[k]) + "\n";
    }
  }
  const auto v = RunExported("alpha", deck, control);
  const memspice::devices::AlphaSource a1("a1", {}, "0", "o1", 0.5e-3, 3e-6, 0.8e-3, 0.1e-3, 4);
  const memspice::devices::AlphaSource a2("a2", {}, "0", "o2", 0.64e-3, 1e-6, 0.3e-3, 0.0,
                                          memspice::devices::AlphaSource::kUnlimited);
  const memspice::devices::AlphaSource a3("a3", {}, "0", "o3", 0.2e-3,
                                          {{0.5e-3, 2e-6}, {0.1e-3, 1e-6}, {1.7e-3, -3e-6}});
  for (size_t k = 0; k < times.size(); ++k) {
    const std::string i = std::to_string(k);
    // v = R I (the source pushes its current into o_s); ngspice interpolates between 1 us steps.
    BOOST_TEST(Get(v, "s1_" + i) == 1e3 * a1.Current(times[k]), boost::test_tools::tolerance(1e-4));
    BOOST_TEST(Get(v, "s2_" + i) == 1e3 * a2.Current(times[k]), boost::test_tools::tolerance(1e-4));
    BOOST_TEST(std::abs(Get(v, "s3_" + i) - 1e3 * a3.Current(times[k])) < 1e-8);
  }
}

BOOST_AUTO_TEST_CASE(ngspice_mif_example_gives_reference_numbers) {
  if (!HaveNgspice()) {
    return;
  }
  const std::string deck =
      Read(std::string(MEMSPICE_SOURCE_DIR) + "/circuits/examples/mif_neuron.cir");
  BOOST_REQUIRE(!deck.empty());
  // Written next to the other temp decks; .include mif.lib resolves through kLib.
  const auto v = RunExported(
      "mif", deck,
      "option reltol=1e-5 abstol=1e-14 vntol=1e-9\nop\nprint v(v) v(xn1.m1_x) v(xn1.m2_x)\n"
      "tran 1u 10m 0 1u\nmeas tran v012 find v(v) at=0.12m\nmeas tran pk max v(v)\n"
      "meas tran und min v(v) from=1m to=10m\nmeas tran vend find v(v) at=10m");
  // Operating point: the rest state of spec section 2.
  BOOST_TEST(Get(v, "v(v)") == 18.3144e-3, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(Get(v, "v(xn1.m1_x)") == 7.5232e-3, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(Get(v, "v(xn1.m2_x)") == 8.5863e-5, boost::test_tools::tolerance(1e-5));
  // ngspice 39 row of the reference table (v at 0.12 ms = 107.88 mV, undershoot 8.79 mV,
  // v(10 ms) = 16.18 mV); the continuous peak is 107.99 mV at 0.123 ms.
  BOOST_TEST(std::abs(Get(v, "v012") - 107.88e-3) < 0.01e-3);
  BOOST_TEST(std::abs(Get(v, "pk") - 107.99e-3) < 0.01e-3);
  BOOST_TEST(std::abs(Get(v, "und") - 8.79e-3) < 0.01e-3);
  BOOST_TEST(std::abs(Get(v, "vend") - 16.18e-3) < 0.01e-3);
}
