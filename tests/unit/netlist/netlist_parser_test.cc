#define BOOST_TEST_MODULE netlist_parser
#include <sys/stat.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "netlist/netlist.h"
#include "tests/test_util.h"

namespace nl = memspice::netlist;
namespace fs = std::filesystem;

using memspice::testing::TempDir;

namespace {

nl::Netlist Parse(const std::string& text, const nl::ParseOptions& options = {},
                  const std::string& name = "test.cir") {
  nl::Diagnostics diag;
  std::optional<nl::Netlist> n = nl::ParseString(text, name, options, diag);
  BOOST_TEST_REQUIRE(n.has_value(), "parse failed:\n" << diag.Format());
  return *n;
}

// Parses a deck that must fail; returns all diagnostics formatted.
std::string Errors(const std::string& text, const nl::ParseOptions& options = {}) {
  nl::Diagnostics diag;
  std::optional<nl::Netlist> n = nl::ParseString(text, "bad.cir", options, diag);
  BOOST_TEST(!n.has_value());
  BOOST_TEST(diag.has_errors());
  return diag.Format();
}

const nl::Element& Find(const nl::Netlist& n, const std::string& name) {
  for (const nl::Element& e : n.elements) {
    if (e.name == name) return e;
  }
  BOOST_FAIL("no element " << name);
  return n.elements.front();
}

bool Has(const nl::Netlist& n, const std::string& name) {
  for (const nl::Element& e : n.elements) {
    if (e.name == name) return true;
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(title_comments_continuation_case) {
  nl::Netlist n = Parse(
      "R1 looks like a card but is the title\n"
      "* a comment line\n"
      "R1 A B 1K ; semicolon comment\n"
      "R2 b c $ dollar comment\n"
      "+ 2k\n"
      "  * indented comment between continuations\n"
      "C1 c 0 10uF\n"
      "R$3 c 0 1meg\n");
  BOOST_TEST(n.title == "R1 looks like a card but is the title");
  BOOST_TEST_REQUIRE(n.elements.size() == 4u);
  const nl::Element& r1 = Find(n, "r1");
  BOOST_TEST(r1.letter == 'r');
  BOOST_TEST((r1.nodes == std::vector<std::string>{"a", "b"}));
  BOOST_TEST(*r1.value == 1000.0);
  BOOST_TEST(*Find(n, "r2").value == 2000.0);
  BOOST_TEST(*Find(n, "c1").value == 10e-6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(*Find(n, "r$3").value == 1e6);  // '$' not after whitespace is not a comment
  BOOST_TEST(r1.loc.line == 3);
  BOOST_TEST(r1.loc.col == 1);
}

BOOST_AUTO_TEST_CASE(params_any_order_and_expressions) {
  nl::Netlist n = Parse(
      "params\n"
      ".param total = {a + b} a=1k\n"
      ".param b='a*2' c = 3 d=c**2 e=-c\n"
      "R1 1 0 {total}\n"
      "R2 1 0 'd + e'\n");
  BOOST_TEST(n.params.at("total") == 3000.0);
  BOOST_TEST(n.params.at("b") == 2000.0);
  BOOST_TEST(n.params.at("d") == 9.0);
  BOOST_TEST(n.params.at("e") == -3.0);
  BOOST_TEST(*Find(n, "r1").value == 3000.0);
  BOOST_TEST(*Find(n, "r2").value == 6.0);
}

BOOST_AUTO_TEST_CASE(param_cycle_is_an_error) {
  std::string err = Errors("t\n.param a={b+1}\n.param b={c} c={a}\nR1 1 0 {a}\n");
  BOOST_TEST(err.find("depends on itself") != std::string::npos, err);
  BOOST_TEST(err.find("a -> b -> c -> a") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(overrides_replace_params_before_dependents) {
  nl::ParseOptions opt;
  opt.overrides["R0"] = 5;
  nl::Netlist n = Parse("t\n.param r0=1 r1={r0*2}\nR1 1 0 {r1}\n", opt);
  BOOST_TEST(n.params.at("r0") == 5.0);
  BOOST_TEST(*Find(n, "r1").value == 10.0);
  nl::ParseOptions bad;
  bad.overrides["nope"] = 1;
  std::string err = Errors("t\n.param r0=1\nR1 1 0 1\n", bad);
  BOOST_TEST(err.find("unknown parameter 'nope'") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(parsed_deck_flattens_again_under_other_overrides) {
  const std::string text =
      "t\n.param g=1\n.subckt line a b params: k=1\nE1 a 0 b 0 {k*g}\nR1 a 0 1k\n.ends\n"
      "X1 o i line k=2\nR2 i 0 {g}\nV1 i 0 1\n.save i(v1)\n.tran 1u 1m\nR3 o 0 bad\n";
  std::unique_ptr<nl::ParsedDeck> deck = nl::ParsedDeck::Read(text, "test.cir", {});
  BOOST_TEST(deck->text() == text);
  nl::Diagnostics diag;
  BOOST_TEST(!deck->Flatten({}, diag).has_value());  // R3's value: the read's deck is flattened
  BOOST_TEST(diag.Format().find("'bad' is not a number") != std::string::npos, diag.Format());
  const std::string good = text.substr(0, text.find("R3 "));
  deck = nl::ParsedDeck::Read(good, "test.cir", {});
  nl::ParseOptions twice;
  twice.overrides["g"] = 3;
  nl::Diagnostics d1, d2;
  std::optional<nl::Netlist> n1 = deck->Flatten({}, d1);
  std::optional<nl::Netlist> n2 = deck->Flatten(twice, d2);
  BOOST_TEST_REQUIRE(n1.has_value());
  BOOST_TEST_REQUIRE(n2.has_value());
  BOOST_TEST(*Find(*n1, "x1.e1").value == 2.0);
  BOOST_TEST(*Find(*n2, "x1.e1").value == 6.0);
  BOOST_TEST(*Find(*n2, "r2").value == 3.0);
  BOOST_TEST(n2->outputs == n1->outputs);
  // Only the VCVS (X instances expanded, dot cards skipped).
  twice.only_letters = "e";
  nl::Diagnostics d3;
  std::optional<nl::Netlist> e_only = deck->Flatten(twice, d3);
  BOOST_TEST_REQUIRE(e_only.has_value(), d3.Format());
  BOOST_TEST(e_only->elements.size() == 1u);
  BOOST_TEST(*Find(*e_only, "x1.e1").value == 6.0);
  BOOST_TEST(e_only->outputs.empty());
  BOOST_TEST(e_only->analyses.empty());
}

BOOST_AUTO_TEST_CASE(func_definitions) {
  nl::Netlist n = Parse(
      "t\n"
      ".func sq(x) {x*x}\n"
      ".func hyp(a, b) = sqrt(sq(a) + sq(b))\n"
      ".param k=2\n"
      ".func scaled(x) {k*x}\n"
      "R1 1 0 {hyp(3, 4)}\n"
      "R2 1 0 {scaled(5)}\n"
      "B1 2 0 V=sq(V(1)) + scaled(time)\n");
  BOOST_TEST(*Find(n, "r1").value == 5.0);
  BOOST_TEST(*Find(n, "r2").value == 10.0);
  const nl::Element& b = Find(n, "b1");
  BOOST_TEST_REQUIRE(b.expr != nullptr);
  double v1 = 3.0, d = 0.0;
  BOOST_TEST(b.expr->Evaluate(&v1, 0.5, 27, &d) == 9.0 + 1.0);
  BOOST_TEST(d == 6.0);
}

BOOST_AUTO_TEST_CASE(subckt_flattening_and_naming) {
  nl::Netlist n = Parse(
      "t\n"
      ".param rtop=100\n"
      ".subckt leaf a b params: w=1 l={w*2}\n"
      "R1 a mid {w*rtop}\n"
      "R2 mid b {l}\n"
      "C1 mid 0 1p\n"
      ".ends leaf\n"
      ".subckt mid p q params: s=1\n"
      "X2 p n3 leaf w={s*3}\n"
      "X3 n3 q leaf\n"
      "R9 n3 gnd 1\n"
      ".ends\n"
      "X1 in out mid s=2\n"
      "XL out 0 leaf params: w=5 l=7\n");
  BOOST_TEST(n.elements.size() == 10u);
  const nl::Element& r = Find(n, "x1.x2.r1");
  BOOST_TEST((r.nodes == std::vector<std::string>{"in", "x1.x2.mid"}));
  BOOST_TEST(*r.value == 600.0);  // w = s*3 = 6 from the caller's scope, times rtop
  BOOST_TEST(*Find(n, "x1.x2.r2").value == 12.0);  // l defaults to w*2 inside the instance
  BOOST_TEST((Find(n, "x1.x2.r2").nodes == std::vector<std::string>{"x1.x2.mid", "x1.n3"}));
  BOOST_TEST((Find(n, "x1.x3.r2").nodes == std::vector<std::string>{"x1.x3.mid", "out"}));
  BOOST_TEST(*Find(n, "x1.x3.r1").value == 100.0);
  BOOST_TEST((Find(n, "x1.x3.c1").nodes == std::vector<std::string>{"x1.x3.mid", "0"}));
  BOOST_TEST((Find(n, "x1.r9").nodes == std::vector<std::string>{"x1.n3", "0"}));
  BOOST_TEST(*Find(n, "xl.r1").value == 500.0);
  BOOST_TEST(*Find(n, "xl.r2").value == 7.0);
}

BOOST_AUTO_TEST_CASE(nested_definitions_globals_and_local_models) {
  nl::Netlist n = Parse(
      "t\n"
      ".global vdd\n"
      ".subckt outer a\n"
      ".subckt inner x\n"
      "R1 x vdd 1k\n"
      ".ends inner\n"
      ".model dl d(is={1e-15*2})\n"
      "Xi a inner\n"
      "D1 a vdd dl\n"
      "Vs a s 0\n"
      "F1 s 0 vs 2\n"
      "B1 s 0 I=I(vs)*V(a)\n"
      ".ends outer\n"
      "Xo n1 outer\n"
      "Xp n2 outer\n");
  BOOST_TEST((Find(n, "xo.xi.r1").nodes == std::vector<std::string>{"n1", "vdd"}));
  BOOST_TEST(Find(n, "xp.d1").model == "xp.dl");
  BOOST_TEST(n.models.count("xo.dl") == 1u);
  BOOST_TEST(n.models.at("xo.dl").params.at("is") == 2e-15, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(Find(n, "xo.f1").control == "xo.vs");
  const nl::Element& b = Find(n, "xp.b1");
  BOOST_TEST(b.expr_is_current);
  BOOST_TEST_REQUIRE(b.expr->probes().size() == 2u);
  BOOST_TEST(b.expr->probes()[0].a == "xp.vs");
  BOOST_TEST(b.expr->probes()[1].a == "n2");
}

BOOST_AUTO_TEST_CASE(subckt_errors) {
  std::string err = Errors(
      "t\n"
      ".subckt s a b\n"
      "R1 a b 1\n"
      ".ends\n"
      "X1 1 s\n"
      "X2 1 2 nosuch\n"
      "X3 1 2 s w=1\n"
      ".subckt r a\n"
      "Xr a r\n"
      ".ends\n"
      "X4 1 r\n"
      "R1 1 0 1\n"
      "R1 2 0 1\n");
  BOOST_TEST(
      err.find(
          "bad.cir:5:6: error: instance 'X1' connects 1 node but subcircuit 's' has 2 ports") !=
          std::string::npos,
      err);
  BOOST_TEST(err.find("bad.cir:6:8: error: unknown subcircuit 'nosuch'") != std::string::npos, err);
  BOOST_TEST(
      err.find("bad.cir:7:10: error: subcircuit 's' has no parameter 'w'") != std::string::npos,
      err);
  BOOST_TEST(err.find("bad.cir:9:6: error: recursive instantiation of subcircuit 'r'") !=
                 std::string::npos,
             err);
  BOOST_TEST(err.find("bad.cir:13:1: error: duplicate element name 'r1'") != std::string::npos,
             err);
}

BOOST_AUTO_TEST_CASE(include_and_lib) {
  TempDir dir;
  dir.Write("sub/models.inc", "* included\n.model dm d(is=2e-14)\n.include deeper.inc\n");
  dir.Write("sub/deeper.inc", "R9 9 0 {rlib}\n");
  dir.Write("other/lib.lib",
            "* library\n"
            ".lib fast\n.param rlib=1\nR7 7 0 1\n.endl fast\n"
            ".lib slow\n.param rlib=2\nR8 8 0 1\n.endl slow\n");
  std::string main = dir.Write(
      "main.cir", "main deck\n.include sub/models.inc\n.lib 'lib.lib' slow\nD1 1 0 dm\n.end\n");
  nl::ParseOptions opt;
  opt.include_paths.push_back((dir.path() / "other").string());
  nl::Diagnostics diag;
  std::optional<nl::Netlist> n = nl::ParseFile(main, opt, diag);
  BOOST_TEST_REQUIRE(n.has_value(), diag.Format());
  BOOST_TEST(n->params.at("rlib") == 2.0);
  BOOST_TEST(Has(*n, "r8"));
  BOOST_TEST(!Has(*n, "r7"));
  BOOST_TEST(*Find(*n, "r9").value == 2.0);
  BOOST_TEST(n->models.at("dm").params.at("is") == 2e-14);
  BOOST_TEST(n->files.size() == 4u);
  BOOST_TEST(Find(*n, "r9").loc.file.find("deeper.inc") != std::string::npos);

  // Missing file and unknown section are reported at the file name / section token.
  std::string bad = dir.Write("bad.cir", "bad\n.include nothere.inc\n.lib other/lib.lib turbo\n");
  nl::Diagnostics d2;
  BOOST_TEST(!nl::ParseFile(bad, {}, d2).has_value());
  std::string err = d2.Format();
  BOOST_TEST(err.find("bad.cir:2:10: error: cannot open file 'nothere.inc'") != std::string::npos,
             err);
  BOOST_TEST(err.find("bad.cir:3:20: error: unknown .lib section 'turbo'") != std::string::npos,
             err);
}

BOOST_AUTO_TEST_CASE(every_element_kind) {
  nl::Netlist n = Parse(
      "elements\n"
      ".param g=3\n"
      "R1 a b r=2k tc1=0.1\n"
      "R2 a b {V(a,b)*1k + 10}\n"
      "C1 a 0 1p ic=0.5\n"
      "L1 a b 1u ic=1m\n"
      "V1 a 0 DC 1.5 AC 1 90\n"
      "V2 b 0 PULSE(0 1 1n 2n)\n"
      "V3 c 0 sin 0 1 1k\n"
      "V4 d 0 EXP(0 1 1u 2u 3u 4u)\n"
      "V5 e 0 PWL(0 0, 1u 1, 2u 0)\n"
      "V6 f 0 {g*2}\n"
      "I1 0 a 1m\n"
      "E1 o1 0 a b {g}\n"
      "E2 o2 0 VALUE = {V(a)*2}\n"
      "E3 o3 0 vol='V(b)+1'\n"
      "G1 o4 0 a 0 1m\n"
      "G2 o5 0 cur={V(a)/1k}\n"
      "F1 o6 0 v1 2\n"
      "H1 o7 0 v1 50\n"
      "B1 o8 0 V = V(a) * (time > 1u ? 2 : 1) tc1=0\n"
      "B2 o9 0 I={I(v1)*2}\n"
      ".model dd d(is=1e-14)\n"
      "D1 a o10 dd 2 off ic=0.6\n"
      ".model mm mss (ron=1k roff=100k convention=knowm)\n"
      "YMSS m1 a 0 mm x0=0.1\n"
      "YALPHA a1 0 a tau=0.64m events=(0 27u, 1m 27u)\n");
  const nl::Element& r1 = Find(n, "r1");
  BOOST_TEST(*r1.value == 2000.0);
  BOOST_TEST(r1.params.at("tc1") == 0.1);
  const nl::Element& r2 = Find(n, "r2");
  BOOST_TEST(!r2.value.has_value());
  BOOST_TEST_REQUIRE(r2.expr != nullptr);
  BOOST_TEST(r2.expr->probes().size() == 1u);
  BOOST_TEST(Find(n, "c1").params.at("ic") == 0.5);
  BOOST_TEST(Find(n, "l1").params.at("ic") == 1e-3);
  const nl::Element& v1 = Find(n, "v1");
  BOOST_TEST(*v1.value == 1.5);
  BOOST_TEST(v1.ac_mag == 1.0);
  const nl::Element& v2 = Find(n, "v2");
  BOOST_TEST((v2.waveform.kind == nl::Waveform::Kind::kPulse));
  BOOST_TEST_REQUIRE(v2.waveform.args.size() == 7u);
  BOOST_TEST(v2.waveform.args[3] == 2e-9);
  BOOST_TEST(std::isnan(v2.waveform.args[4]));  // tf defaults to tstep: left to the device
  BOOST_TEST(std::isnan(v2.waveform.args[6]));
  BOOST_TEST(!v2.value.has_value());
  const nl::Element& v3 = Find(n, "v3");
  BOOST_TEST((v3.waveform.kind == nl::Waveform::Kind::kSin));
  BOOST_TEST((v3.waveform.args == std::vector<double>{0, 1, 1000, 0, 0, 0}));
  BOOST_TEST((Find(n, "v4").waveform.args == std::vector<double>{0, 1, 1e-6, 2e-6, 3e-6, 4e-6}));
  BOOST_TEST((Find(n, "v5").waveform.args == std::vector<double>{0, 0, 1e-6, 1, 2e-6, 0}));
  BOOST_TEST(*Find(n, "v6").value == 6.0);
  BOOST_TEST(*Find(n, "i1").value == 1e-3);
  const nl::Element& e1 = Find(n, "e1");
  BOOST_TEST((e1.nodes == std::vector<std::string>{"o1", "0", "a", "b"}));
  BOOST_TEST(*e1.value == 3.0);
  BOOST_TEST(Find(n, "e2").expr != nullptr);
  BOOST_TEST(Find(n, "e2").nodes.size() == 2u);
  BOOST_TEST(Find(n, "e3").expr->probes()[0].a == "b");
  BOOST_TEST(*Find(n, "g1").value == 1e-3);
  BOOST_TEST(Find(n, "g2").expr != nullptr);
  BOOST_TEST(Find(n, "f1").control == "v1");
  BOOST_TEST(*Find(n, "h1").value == 50.0);
  const nl::Element& b1 = Find(n, "b1");
  BOOST_TEST(!b1.expr_is_current);
  BOOST_TEST(b1.expr->uses_time());
  BOOST_TEST(b1.params.count("tc1") == 0u);  // folded into the expression
  double va = 2.0;
  BOOST_TEST(b1.expr->Evaluate(&va, 2e-6, 27) == 4.0);
  BOOST_TEST(Find(n, "b2").expr_is_current);
  const nl::Element& d1 = Find(n, "d1");
  BOOST_TEST(d1.model == "dd");
  BOOST_TEST(d1.params.at("area") == 2.0);
  BOOST_TEST(d1.params.at("off") == 1.0);
  BOOST_TEST(d1.params.at("ic") == 0.6);
  const nl::Element& m1 = Find(n, "m1");
  BOOST_TEST(m1.letter == 'y');
  BOOST_TEST(m1.type == "mss");
  BOOST_TEST(m1.model == "mm");
  BOOST_TEST((m1.nodes == std::vector<std::string>{"a", "0"}));
  BOOST_TEST(m1.params.at("x0") == 0.1);
  const nl::Element& a1 = Find(n, "a1");
  BOOST_TEST(a1.type == "alpha");
  BOOST_TEST(a1.model.empty());
  BOOST_TEST((a1.nodes == std::vector<std::string>{"0", "a"}));
  BOOST_TEST((a1.list == std::vector<double>{0, 27e-6, 1e-3, 27e-6}));
  BOOST_TEST(n.models.at("mm").text_params.at("convention") == "knowm");
  BOOST_TEST(n.models.at("mm").params.at("roff") == 1e5);
}

BOOST_AUTO_TEST_CASE(every_dot_card) {
  nl::Netlist n = Parse(
      "cards\n"
      "V1 in 0 1\n"
      "V2 in2 0 1\n"
      "R1 in out 1k\n"
      "C1 out 0 1n\n"
      ".op\n"
      ".dc V1 0 5 0.5 v2 0 1 0.25\n"
      ".tran 1u 1m 0.1m 2u uic\n"
      ".ic v(out)=0.5 V(in)=1\n"
      ".nodeset v(out)=0.25\n"
      ".options reltol=1e-4 abstol=1p method=gear noacct\n"
      ".opt gmin=1e-13\n"
      ".temp 50\n"
      ".print tran v(out) v(in,out) i(v1)\n"
      ".plot dc v(out)\n"
      ".save all out @r1[i]\n"
      ".meas tran t1 find v(out) at=1u\n"
      ".control\nrun\nplot v(out)\n.endc\n"
      ".end\n"
      "R99 this is never read\n");
  BOOST_TEST_REQUIRE(n.analyses.size() == 3u);
  BOOST_TEST((n.analyses[0].kind == nl::Analysis::Kind::kOp));
  const nl::Analysis& dc = n.analyses[1];
  BOOST_TEST_REQUIRE(dc.sweeps.size() == 2u);
  BOOST_TEST(dc.sweeps[0].source == "v1");
  BOOST_TEST(dc.sweeps[0].step == 0.5);
  BOOST_TEST(dc.sweeps[1].source == "v2");
  const nl::Analysis& tr = n.analyses[2];
  BOOST_TEST(tr.tstep == 1e-6);
  BOOST_TEST(tr.tstop == 1e-3);
  BOOST_TEST(tr.tstart == 1e-4);
  BOOST_TEST(tr.tmax == 2e-6);
  BOOST_TEST(tr.uic);
  BOOST_TEST_REQUIRE(n.ics.size() == 2u);
  BOOST_TEST(n.ics[0].node == "out");
  BOOST_TEST(n.ics[1].value == 1.0);
  BOOST_TEST(n.nodesets.size() == 1u);
  BOOST_TEST(n.options.at("reltol") == 1e-4);
  BOOST_TEST(n.options.at("abstol") == 1e-12);
  BOOST_TEST(n.options.at("gmin") == 1e-13);
  BOOST_TEST(n.options.count("noacct") == 1u);
  BOOST_TEST(n.method == "gear");
  BOOST_TEST(n.temp == 50.0);
  BOOST_TEST((n.outputs == std::vector<std::string>{"v(out)", "v(in,out)", "i(v1)"}));
  BOOST_TEST(!Has(n, "r99"));
}

BOOST_AUTO_TEST_CASE(analysis_errors_and_collection) {
  std::string err = Errors(
      "t\n"
      "V1 1 0 1\n"
      ".tran 1u 0\n"
      ".dc v1 0 1 0\n"
      ".dc vx 0 1 0.1\n"
      "R1 1 0 1x5\n"
      "R2 1 0\n");
  BOOST_TEST(err.find("bad.cir:3:10: error: .tran tstop must be > 0") != std::string::npos, err);
  BOOST_TEST(err.find("bad.cir:4:12: error: .dc step must not be 0") != std::string::npos, err);
  BOOST_TEST(err.find("bad.cir:5:5: error: .dc sweeps unknown source 'vx'") != std::string::npos,
             err);
  BOOST_TEST(err.find("bad.cir:6:8: error: '1x5' is not a number; expected e.g. 1k, 2.5u, 1e-3") !=
                 std::string::npos,
             err);
  BOOST_TEST(err.find("bad.cir:7:8: error: missing value for resistor 'R2'") != std::string::npos,
             err);
}

BOOST_AUTO_TEST_CASE(continuation_keeps_physical_columns) {
  std::string err = Errors("t\nR1 a b\n+ {1 +\n+   nosuch}\n");
  BOOST_TEST(err.find("bad.cir:4:5: error: unknown parameter 'nosuch'") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(element_count_limit) {
  nl::ParseOptions opt;
  opt.max_elements = 50;
  std::string err = Errors(
      "t\n.subckt a n\nR1 n 0 1\nR2 n 0 1\nR3 n 0 1\nR4 n 0 1\n.ends\n"
      ".subckt b n\nX1 n a\nX2 n a\nX3 n a\nX4 n a\n.ends\n"
      ".subckt c n\nX1 n b\nX2 n b\nX3 n b\nX4 n b\n.ends\nX1 1 c\n",
      opt);
  BOOST_TEST(err.find("more than 50 elements") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(exponential_func_expansion_is_bounded) {
  std::string deck = "t\n.func f0(x) {x+1}\n";
  for (int i = 1; i <= 40; ++i) {
    deck += ".func f" + std::to_string(i) + "(x) {f" + std::to_string(i - 1) + "(x)*f" +
            std::to_string(i - 1) + "(x)}\n";
  }
  deck += "B1 a 0 V=f40(V(a))\n";
  std::string err = Errors(deck);
  BOOST_TEST(err.find("expression too large after .func expansion") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(long_parameter_chains) {
  // A chain of 150 dependent parameters evaluates; 3000 is reported, not a stack overflow.
  auto chain = [](int n) {
    std::string deck = "t\n.param q" + std::to_string(n) + "=1\n";
    for (int i = n - 1; i >= 0; --i) {
      deck += ".param q" + std::to_string(i) + "={q" + std::to_string(i + 1) + "+1}\n";
    }
    return deck + "R1 a 0 {q0}\n";
  };
  nl::Netlist n = Parse(chain(150));
  BOOST_TEST(*Find(n, "r1").value == 151.0);
  std::string err = Errors(chain(3000));
  BOOST_TEST(err.find("dependency chain longer than") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(warnings_do_not_fail_the_parse) {
  nl::Diagnostics diag;
  std::optional<nl::Netlist> n = nl::ParseString(
      "t\nV1 a 0\nR1 a 0 1\n.meas tran x find v(a) at=1\n.control\nset x = {y\n.endc\n"
      ".control\nrun\n.endc\n.four 1k v(a)\n",
      "w.cir", {}, diag);
  BOOST_TEST_REQUIRE(n.has_value(), diag.Format());
  BOOST_TEST(!diag.has_errors());
  int control = 0, ignored = 0, novalue = 0;
  for (const nl::Diagnostic& d : diag.items()) {
    BOOST_TEST((d.severity == nl::Severity::kWarning));
    control += d.message.find(".control") != std::string::npos;
    ignored += d.message.find("ignored") != std::string::npos;
    novalue += d.message.find("has no value") != std::string::npos;
  }
  BOOST_TEST(control == 1);  // one warning for all .control blocks
  BOOST_TEST(ignored == 2);  // .control, .four (.meas is kept for `memspice sim` and `sweep`)
  BOOST_TEST(novalue == 1);
  BOOST_TEST(*Find(*n, "v1").value == 0.0);
}

BOOST_AUTO_TEST_CASE(flat_100000_term_expression_is_refused_not_a_crash) {
  std::string sum = "1";
  for (int i = 1; i < 100000; ++i) sum += "+1";
  std::string err = Errors("t\nV1 a 0 1\nR1 a 0 {" + sum + "}\n");
  BOOST_TEST(err.find("more than 1000 levels of operators") != std::string::npos);
  // The echoed source line is a window, not the whole 200 kB line.
  BOOST_TEST(err.size() < 2000u, "diagnostic of " << err.size() << " characters");
  nl::Netlist n = Parse("t\nV1 a 0 1\nR1 a 0 {" + sum.substr(0, 2 * 900 - 1) + "}\n");
  BOOST_TEST(*Find(n, "r1").value == 900.0);
}

BOOST_AUTO_TEST_CASE(huge_token_and_binary_are_not_echoed_whole) {
  const std::string big(2 << 20, 'x');
  std::string err = Errors("t\nV1 a 0 1\nR1 a 0 1" + big + "5\n");
  BOOST_TEST(err.find("more characters") != std::string::npos);
  BOOST_TEST(err.size() < 4000u, "diagnostic of " << err.size() << " characters");
  std::string bin = Errors(std::string("t\nR1 a 0 1k\n\x1b[2J\x01\x02garbage\n"));
  BOOST_TEST(bin.find("binary data in the deck: byte 0x1b") != std::string::npos);
  BOOST_TEST(bin.find('\x1b') == std::string::npos);  // no terminal escape echoed
  BOOST_TEST(bin.find("bad.cir:3:1:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(fifo_and_directory_are_refused_without_blocking) {
  TempDir dir;
  const std::string fifo = dir / "deck.fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& path : {fifo, dir.path().string()}) {
    nl::Diagnostics diag;
    BOOST_TEST(!nl::ParseFile(path, {}, diag).has_value());  // returns: no open() on a FIFO
    BOOST_TEST(diag.Format().find("is not a regular file") != std::string::npos, diag.Format());
  }
}

BOOST_AUTO_TEST_CASE(missing_include_folder_is_warned) {
  nl::ParseOptions opt;
  opt.include_paths = {"/nonexistent/memspice/include"};
  nl::Diagnostics diag;
  BOOST_TEST_REQUIRE(nl::ParseString("t\nV1 a 0 1\nR1 a 0 1k\n", "w.cir", opt, diag).has_value());
  BOOST_TEST(diag.Format().find("include folder '/nonexistent/memspice/include' does not exist") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(zero_resistance_is_one_milliohm_as_ngspice) {
  nl::Diagnostics diag;
  std::optional<nl::Netlist> n =
      nl::ParseString("t\nV1 a 0 1\nR1 a 0 0\nR2 a 0 -0\nR3 a 0 -5\n", "r.cir", {}, diag);
  BOOST_TEST_REQUIRE(n.has_value(), diag.Format());
  BOOST_TEST(*Find(*n, "r1").value == 1e-3);
  BOOST_TEST(*Find(*n, "r2").value == 1e-3);  // -0 is 0, not a negative resistor
  BOOST_TEST(*Find(*n, "r3").value == -5.0);
  BOOST_TEST(diag.Format().find("set to 1 mOhm as ngspice does") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(monte_carlo_draws_follow_the_seed) {
  auto draw = [](const std::string& seed) {
    nl::Netlist n = Parse("t\n" + seed +
                          ".param a=agauss(1, 0.1, 1) b=unif(10, 0.5)\n"
                          "V1 x 0 {a}\nV2 y 0 {b}\n");
    return std::make_pair(*Find(n, "v1").value, *Find(n, "v2").value);
  };
  auto [a1, b1] = draw(".options seed=7\n");
  auto [a2, b2] = draw(".options seed=7\n");
  auto [a3, b3] = draw(".options seed=8\n");
  BOOST_TEST(a1 == a2);
  BOOST_TEST(b1 == b2);
  BOOST_TEST((a1 != a3 || b1 != b3));
  BOOST_TEST(b1 >= 5.0);  // unif(10, 0.5): 10 +- 5
  BOOST_TEST(b1 <= 15.0);
  BOOST_TEST(
      Errors("t\nV1 a 0 1\n.param p=agauss(V(a), 0, 1)\nR1 a 0 {p}\n").find("must be constants") !=
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(ngspice_signal_names) {
  BOOST_TEST(nl::CanonicalSignalName("v.xmem.vx#branch") == "i(xmem.vx)");
  BOOST_TEST(nl::CanonicalSignalName("I(V.XMEM.VX)") == "i(xmem.vx)");
  BOOST_TEST(nl::CanonicalSignalName("v1#branch") == "i(v1)");
  BOOST_TEST(nl::CanonicalSignalName("v(x1.n2)") == "v(x1.n2)");
  nl::Netlist n = Parse(
      "t\n.subckt m p\nVx p q 0\nR1 q 0 1k\n.ends\nV1 a 0 1\nXm a m\n"
      ".save i(v.xm.vx) v.xm.vx#branch v1#branch a\n.probe alli\n.print pz all\n");
  BOOST_TEST(n.outputs == (std::vector<std::string>{"i(xm.vx)", "i(v1)", "v(a)"}),
             boost::test_tools::per_element());
  nl::Netlist b = Parse(
      "t\n.subckt m p\nVx p q 0\nR1 q 0 1k\n.ends\nV1 a 0 1\nXm a m\n"
      "B1 b 0 V=I(v.xm.vx)*1k\n");
  BOOST_TEST(Find(b, "b1").expr->probes()[0].a == "xm.vx");
}

BOOST_AUTO_TEST_CASE(unclosed_lib_and_control_are_errors_at_the_opening_card) {
  std::string lib = Errors("t\nV1 a 0 1\n.lib fast\nR1 a 0 1k\n.op\n");
  BOOST_TEST(lib.find("bad.cir:3:1: error: library section 'fast' has no .endl") !=
             std::string::npos);
  std::string ctl = Errors("t\nV1 a 0 1\n.control\nrun\nR1 a 0 1k\n.op\n.end\n");
  BOOST_TEST(ctl.find("bad.cir:3:1: error: .control without .endc") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dialect_forms) {
  nl::Netlist n = Parse(
      "t\nV1 a 0 DC=0.5\nI1 a 0 dc = -1mA\nV2 b 0 dc=0 sine(0 1 1k)\n"
      "V3 c 0 0v (PULSE 0 1 0 1n 1n 5n 10n 3)\nV4 d 0 PWL (0 5) (1n 0) r=0 td=2n\n"
      "E1 e 0 VALUE {2*V(a)}\nR1 a 0 2\xc2\xb5\nR\xc3\xa9 a 0 1k // comment\n\x1a\n");
  BOOST_TEST(*Find(n, "v1").value == 0.5);
  BOOST_TEST(*Find(n, "i1").value == -1e-3);
  BOOST_TEST((Find(n, "v2").waveform.kind == nl::Waveform::Kind::kSin));
  BOOST_TEST(Find(n, "v3").waveform.args.size() == 8u);
  BOOST_TEST(Find(n, "v3").waveform.args[7] == 3.0);
  const nl::Waveform& pwl = Find(n, "v4").waveform;
  const std::vector<double> shifted = {2e-9, 5, 3e-9, 0};  // td=2n added to the times
  BOOST_TEST_REQUIRE(pwl.args.size() == shifted.size());
  for (size_t k = 0; k < shifted.size(); ++k) {
    BOOST_TEST(pwl.args[k] == shifted[k], boost::test_tools::tolerance(1e-12));
  }
  BOOST_TEST(pwl.repeat == 2e-9);
  BOOST_TEST(Find(n, "e1").expr != nullptr);
  BOOST_TEST(*Find(n, "r1").value == 2e-6);
  BOOST_TEST(Has(n, "r\xc3\xa9"));
}
