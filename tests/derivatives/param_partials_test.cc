// Exact parameter partials of the devices (Device::ParamPartial, InitialStatePartial, used by
// autodiff::ParamPartials) against central differences of circuits rebuilt at p +- d, for every
// parameter a device differentiates exactly: at random points, in transient and DC mode.
#define BOOST_TEST_MODULE param_partials
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "autodiff/params.h"
#include "netlist/netlist.h"
#include "solver/assembler.h"
#include "solver/circuit.h"

namespace autodiff = memspice::autodiff;
namespace solver = memspice::solver;
using memspice::Status;
using memspice::netlist::Diagnostics;
using memspice::netlist::Netlist;

namespace {

struct Case {
  const char* deck;
  std::vector<std::string> wrt;
};

// Every node has a resistive path to ground so that the circuits build.
const Case kCases[] = {
    {"R1 a b 1k m=2 tc1=1m\nR2 b 0 2k\nR3 a 0 3k\nR4 b 0 r=4k\n.temp 40", {"r1", "r2", "r4"}},
    {"C1 a b 1u m=2 ic=0.3\nC2 b 0 2n\nR1 a 0 1k\nR2 b 0 1k", {"c1", "c2", "c1:ic"}},
    {"L1 a b 1m m=2 ic=1m\nR1 a 0 1k\nR2 b 0 1k", {"l1", "l1:ic"}},
    {"V1 a 0 DC 1.5\nR1 a b 1k\nV2 b c DC 0.5 PULSE(0 1 1n 1n 1n 10n 40n)\nR2 c 0 1k\nI1 c 0 2m\n"
     "I2 a c 1m SIN(0 1m 10meg)",
     {"v1", "v2", "i1", "i2"}},
    {"VC c 0 0.1\nRC c 0 1k\nE1 a 0 c 0 2\nRA a 0 1k\nG1 b 0 c 0 1m m=2\nRB b 0 1k\n"
     "F1 d 0 vc 3 m=2\nRD d 0 1k\nH1 e 0 vc 1k\nRE e 0 1k",
     {"e1", "g1", "f1", "h1"}},
    {"D1 a k dmod 2 m=3\nR1 a 0 1k\nR2 k 0 1k\n"
     ".model dmod d (is=1e-14 n=1.2 rs=10 cjo=2p vj=0.7 m=0.4 fc=0.5 tt=1n bv=5 ibv=1u nbv=1.5)",
     {"dmod:*", "d1:*"}},
    // Breakdown reached by the random voltages; cjo = 0 and tt = 0 still have partials.
    {"D1 a k dbv\nR1 a 0 1k\nR2 k 0 1k\n.model dbv d (is=1e-12 n=1 cjo=0 tt=0 m=1 bv=0.6 ibv=1u)",
     {"dbv:*"}},
    {".model mssn mss (ron=1k roff=100k von=0.11 voff=0.005 tau=1m vt=25m k=0.6 phi=0.7 af=1e-7 "
     "bf=10 ar=2e-7 br=8 x0=0.2)\nYMSS m1 a b mssn x0=0.3\nYMSS m2 b 0 mssn tau=2m\nR1 a 0 1k",
     {"mssn:*", "m1:*", "m2:tau", "m2:x0"}},
    {".model mk mss (ron=2k roff=50k von=0.2 voff=0.1 tau=1u vt=26m k=0.8 convention=knowm)\n"
     "YMSS m1 a 0 mk x0=0.6\nR1 a 0 1k",
     {"mk:*", "m1:x0"}},
    {"M1 a b c d nch W=10u L=2u AD=20p AS=20p\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model nch nmos (vto=0.5 kp=100u gamma=0.4 phi=0.7 lambda=0.05 cgso=2e-10 cgdo=2e-10 "
     "tox=20n cj=1e-4)",
     {"nch:vto", "nch:kp", "nch:gamma", "nch:phi", "nch:lambda", "nch:cgso", "nch:cgdo", "m1:w",
      "m1:l"}},
    // MOSFET levels 2 and 3 (low thresholds, so that the random voltages turn them on).
    {"M1 a b c d n2 W=10u L=2u AD=20p AS=20p\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model n2 nmos (level=2 vto=0.1 kp=100u gamma=0.4 phi=0.7 ucrit=1e4 uexp=0.2 vmax=5e4 "
     "neff=2 nsub=3e16 xj=0.2u nfs=1e11 tox=20n cgso=2e-10 cgdo=2e-10 cj=1e-4)",
     {"n2:vto", "n2:kp", "n2:gamma", "n2:phi", "n2:ucrit", "n2:uexp", "n2:vmax", "n2:neff",
      "n2:cgso", "m1:w", "m1:l"}},
    {"M1 a b c d n3 W=10u L=2u AD=20p AS=20p temp=80\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\n"
     "R4 d 0 1k\n.model n3 nmos (level=3 vto=0.1 kp=100u gamma=0.4 phi=0.7 theta=0.1 eta=0.3 "
     "kappa=0.4 vmax=1e5 nsub=3e16 xj=0.2u nfs=1e11 xl=0.1u wd=0.2u xw=0.1u delvto=0.02 "
     "tox=20n cgso=2e-10 cgdo=2e-10)",
     {"n3:vto", "n3:kp", "n3:gamma", "n3:phi", "n3:theta", "n3:eta", "n3:kappa", "n3:vmax",
      "n3:cgdo", "m1:w", "m1:l"}},
    {"M1 a b c d n3 W=4u L=0.5u AD=4p AS=4p PD=10u PS=10u delvto=0 mulu0=1\nR1 a 0 1k\nR2 b 0 "
     "1k\nR3 c 0 1k\n"
     "R4 d 0 1k\n.model n3 nmos (level=8 vth0=0.5 k1=0.55 k2=-0.02 u0=400 rdsw=300 "
     "ua=1e-9 "
     "ub=1e-18 uc=2e-11 dvt0=2 cjsw=3e-10 vsat=1e5 cgso=2e-10 cgdo=2e-10 cj=8e-4 pclm=1.2 "
     "eta0=0.06 "
     "voff=-0.08 nfactor=1.2 lvth0=0.02 wu0=20 pvsat=1e3)",
     {"n3:vth0", "n3:u0",   "n3:k1",   "n3:k2",   "n3:ua",     "n3:ub",      "n3:uc",   "n3:vsat",
      "n3:rdsw", "n3:pclm", "n3:eta0", "n3:dvt0", "n3:voff",   "n3:nfactor", "n3:cgso", "n3:cgdo",
      "n3:cj",   "n3:cjsw", "m1:w",    "m1:l",    "m1:delvto", "m1:mulu0"}},
    {"Q1 a b c d qn 2\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model qn npn (is=1e-15 bf=80 br=2 vaf=40 ikf=10m tf=1n cje=1p cjc=1p rb=50 re=2 rc=5)",
     {"qn:bf", "qn:br", "qn:is", "qn:vaf", "qn:ikf", "qn:tf", "qn:cje", "qn:cjc"}},
    {"S1 a b c d sm\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model sm sw (vt=0.2 ron=10 roff=10k)",
     {"sm:vt", "sm:ron", "sm:roff"}},
    {"S1 a b c d sh\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model sh sw (vt=0.2 vh=0.3 ron=10 roff=10k)",
     {"sh:vt", "sh:vh", "sh:ron", "sh:roff"}},
    {"J1 a b c jn 2\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\n"
     ".model jn njf (vto=-1.5 beta=1m lambda=0.03 b=0.8 is=1e-12 pb=0.9 cgs=2p cgd=1p rd=5 "
     "rs=5)",
     {"jn:vto", "jn:beta", "jn:lambda", "jn:b", "jn:is", "jn:pb", "jn:cgs", "jn:cgd"}},
    // Devices away from TNOM: the partials go through the temperature scaling.
    {"D1 a k dt temp=90\nR1 a 0 1k\nR2 k 0 1k\n"
     ".model dt d (is=1e-14 n=1.2 rs=10 cjo=2p vj=0.7 m=0.4 eg=1.2 xti=2.5)",
     {"dt:is", "dt:n", "dt:cjo", "dt:vj", "dt:m", "dt:eg", "dt:xti"}},
    {"Q1 a b c qt temp=-20\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\n"
     ".model qt npn (is=1e-15 bf=80 br=2 vaf=40 ikf=10m ise=1e-14 xtb=1.5 cje=1p cjc=1p)",
     {"qt:bf", "qt:br", "qt:is", "qt:vaf", "qt:ikf", "qt:cje", "qt:cjc"}},
    {"M1 a b c d nt W=10u L=2u temp=110\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model nt pmos (vto=-0.5 kp=100u gamma=0.4 phi=0.7 lambda=0.05 tox=20n tnom=40)",
     {"nt:vto", "nt:kp", "nt:gamma", "nt:phi", "nt:lambda", "m1:w", "m1:l"}},
    // VTO from the process (NSUB, NSS, TPG without VTO) follows PHI and GAMMA.
    {"M1 a b c d np W=10u L=2u\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model np nmos (kp=100u gamma=0.4 phi=0.7 lambda=0.05 tox=20n nsub=1e16 nss=1e10)",
     {"np:gamma", "np:phi", "np:kp", "np:lambda"}},
    {"M1 a b c d p3 W=10u L=2u\nR1 a 0 1k\nR2 b 0 1k\nR3 c 0 1k\nR4 d 0 1k\n"
     ".model p3 pmos (level=3 kp=100u gamma=0.4 phi=0.7 theta=0.1 tox=20n nsub=3e16 tpg=0 "
     "nss=2e10 tnom=40)",
     {"p3:gamma", "p3:phi", "p3:theta"}},
    {"K1 L1 L2 0.8\nL1 a 0 1m\nL2 b 0 2m\nR1 a 0 1k\nR2 b 0 1k", {"k1"}},
};

struct Built {
  Netlist netlist;
  std::unique_ptr<solver::Circuit> circuit;
  std::unique_ptr<solver::Assembler> assembler;
};

const memspice::devices::AnalysisInfo kInfo{1e-9, 1e-6, 27};

// False if the netlist does not build (a parameter moved outside its valid range).
bool TryBuild(const Netlist& nl, Built* b) {
  b->netlist = nl;
  Diagnostics diag;
  b->circuit = solver::Circuit::Build(b->netlist, diag);
  if (!b->circuit) return false;
  for (auto& d : b->circuit->devices()) d->SetAnalysis(kInfo);
  b->assembler = std::make_unique<solver::Assembler>(*b->circuit);
  return true;
}

Built Build(const Netlist& nl) {
  Built b;
  BOOST_REQUIRE_MESSAGE(TryBuild(nl, &b), "circuit does not build");
  return b;
}

void CheckCase(const Case& c, unsigned seed) {
  Diagnostics diag;
  const std::string text = "* partials\n" + std::string(c.deck) + "\n.end\n";
  auto nl = memspice::netlist::ParseString(text, "partials.cir", {}, diag);
  BOOST_REQUIRE_MESSAGE(nl, diag.Format());
  std::vector<autodiff::ParamSpec> specs;
  Status resolved = autodiff::ResolveParams(*nl, c.wrt, false, &specs);
  BOOST_REQUIRE_MESSAGE(resolved.ok(), c.deck << ": " << resolved.message());
  Built base = Build(*nl);
  const int n = base.circuit->size();
  std::unique_ptr<autodiff::ParamPartials> pp;
  Status s =
      autodiff::ParamPartials::Create(*nl, specs, nullptr, kInfo, n, &pp, base.circuit.get());
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> volt(-0.9, 0.8), amp(-2e-3, 2e-3), unit(0.05, 0.95);
  for (size_t j = 0; j < specs.size(); ++j) {
    const autodiff::ParamSpec& p = specs[j];
    BOOST_TEST_CONTEXT(c.deck << "\nparameter " << p.name) {
      BOOST_TEST(pp->exact(static_cast<int>(j)), "no exact partial (finite-difference fallback)");
      const double d = p.value != 0.0 ? 1e-6 * std::abs(p.value) : 1e-6;
      Netlist np, nm;
      BOOST_REQUIRE(autodiff::WithParam(*nl, p, p.value + d, nullptr, &np).ok());
      BOOST_REQUIRE(autodiff::WithParam(*nl, p, p.value - d, nullptr, &nm).ok());
      // At the edge of the valid range (cjo = 0): one-sided, exact for parameters entering
      // linearly.
      Built plus = Build(np), minus;
      double span = 2 * d;
      if (!TryBuild(nm, &minus)) {
        minus = Build(*nl);
        span = d;
      }
      // Initial state (uic start) and .ic clamp.
      std::vector<double> up, um;
      BOOST_REQUIRE(autodiff::UicStart(*plus.circuit, plus.netlist, &up).ok());
      BOOST_REQUIRE(autodiff::UicStart(*minus.circuit, minus.netlist, &um).ok());
      const std::vector<double> duic = pp->uic_derivative(static_cast<int>(j));
      for (int i = 0; i < n; ++i) {
        const double fd = (up[i] - um[i]) / span;
        BOOST_TEST(std::abs(duic[i] - fd) <= 1e-6 * std::max(std::abs(fd), 1.0),
                   "d(uic start)/dp at " << base.circuit->unknowns()[i].name << " = " << duic[i]
                                         << ", finite difference " << fd);
      }
      for (int trial = 0; trial < 4; ++trial) {
        std::vector<double> x(n);
        for (int i = 0; i < n; ++i) {
          const auto& u = base.circuit->unknowns()[i];
          x[i] = u.kind == memspice::devices::UnknownKind::kNode     ? volt(rng)
                 : u.kind == memspice::devices::UnknownKind::kBranch ? amp(rng)
                                                                     : unit(rng);
        }
        for (bool dc : {false, true}) {
          solver::EvalRequest req;
          req.dc = dc;
          req.time = dc ? 0.0 : 3.7e-9 * (trial + 1);
          req.matrices = false;
          std::vector<double> df(n), dq(n);
          pp->Jvp(static_cast<int>(j), x.data(), req, df.data(), dq.data());
          autodiff::SettledEvaluate(*plus.assembler, x.data(), req);
          autodiff::SettledEvaluate(*minus.assembler, x.data(), req);
          autodiff::SettledEvaluate(*base.assembler, x.data(), req);
          for (int i = 0; i < n; ++i) {
            for (bool charge : {false, true}) {
              if (charge && dc) continue;
              const double* fp = charge ? plus.assembler->q() : plus.assembler->f();
              const double* fm = charge ? minus.assembler->q() : minus.assembler->f();
              const double f0 = charge ? base.assembler->q()[i] : base.assembler->f()[i];
              const double fd = (fp[i] - fm[i]) / span;
              const double exact = charge ? dq[i] : df[i];
              // Truncation ~1e-12 relative; round-off ~2e-16 |f| / d.
              const double tol =
                  1e-6 * std::max(std::abs(exact), std::abs(fd)) + 1e-13 * std::abs(f0) / d + 1e-20;
              BOOST_TEST(std::abs(exact - fd) <= tol,
                         (charge ? "dq/dp" : "df/dp") << " row " << base.circuit->unknowns()[i].name
                                                      << (dc ? " dc" : " tran") << ": exact "
                                                      << exact << ", finite difference " << fd);
            }
          }
        }
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(exact_partials_match_rebuilt_circuits) {
  unsigned seed = 7;
  for (const Case& c : kCases) CheckCase(c, ++seed);
}

BOOST_AUTO_TEST_CASE(ic_values_and_params_are_classified) {
  Diagnostics diag;
  const std::string text =
      "* ic\n.param rv=1k\nR1 a 0 {rv}\nC1 a 0 1n\n.ic v(a)=0.25\n.tran 1n 10n\n.end\n";
  auto nl = memspice::netlist::ParseString(text, "ic.cir", {}, diag);
  BOOST_REQUIRE(nl);
  std::vector<autodiff::ParamSpec> specs;
  BOOST_REQUIRE(autodiff::ResolveParams(*nl, {"ic:a", "r1", "rv"}, true, &specs).ok());
  Built base = Build(*nl);
  autodiff::Reparser reparse = [&](const std::map<std::string, double>& overrides,
                                   std::string* error) -> std::optional<Netlist> {
    memspice::netlist::ParseOptions po;
    po.overrides = overrides;
    Diagnostics d;
    return memspice::netlist::ParseString(text, "ic.cir", po, d);
  };
  std::unique_ptr<autodiff::ParamPartials> pp;
  BOOST_REQUIRE(autodiff::ParamPartials::Create(*nl, specs, reparse, kInfo, base.circuit->size(),
                                                &pp, base.circuit.get())
                    .ok());
  const int a = base.circuit->FindNode("a");
  // ic:a moves the clamp and the uic start of node a by 1, r1 is exact, .param rv re-parses.
  BOOST_TEST(pp->exact(0));
  BOOST_TEST(pp->clamp_derivative(0)[a] == 1.0);
  BOOST_TEST(pp->uic_derivative(0)[a] == 1.0);
  BOOST_TEST(pp->exact(1));
  BOOST_TEST(!pp->exact(2));
  BOOST_TEST(pp->num_exact() == 2);
  // The .param and the element value are the same resistor: equal partials.
  std::vector<double> x(base.circuit->size(), 0.3), df1(x.size()), dq1(x.size()), df2(x.size()),
      dq2(x.size());
  solver::EvalRequest req;
  pp->Jvp(1, x.data(), req, df1.data(), dq1.data());
  pp->Jvp(2, x.data(), req, df2.data(), dq2.data());
  BOOST_TEST(df1[a] == -0.3 / 1e6, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(df2[a] == df1[a], boost::test_tools::tolerance(1e-8));
}
