// MSS memristor and alpha source as MNA devices, on a tiny hand-made harness that plays the
// circuit builder (Setup/Bind/Evaluate with dense G and C): KCL and state rows, Jacobians against
// finite differences, the DC hold of the state, CheckState, and factory error reporting.
#define BOOST_TEST_MODULE mss_device
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "devices/alpha_source.h"
#include "devices/mss.h"
#include "devices/mss_model.h"

namespace dev = memspice::devices;
namespace nl = memspice::netlist;

namespace {

// Dense harness: unknowns by name, matrix entries by (row, col), arrays with a slot at -1.
class Harness : public dev::SetupContext, public dev::BindContext {
 public:
  int Node(const std::string& name) override {
    if (name == "0") return dev::kGround;
    auto it = nodes_.find(name);
    if (it != nodes_.end()) return it->second;
    names_.push_back("v(" + name + ")");
    kinds_.push_back(dev::UnknownKind::kNode);
    return nodes_[name] = static_cast<int>(names_.size()) - 1;
  }
  int AddUnknown(const std::string& output_name, dev::UnknownKind kind) override {
    names_.push_back(output_name);
    kinds_.push_back(kind);
    return static_cast<int>(names_.size()) - 1;
  }
  int Branch(const std::string&) override { return -1; }
  int Entry(int row, int col) override {
    if (row == dev::kGround || col == dev::kGround) return -1;
    entries_.push_back({row, col});
    return static_cast<int>(entries_.size()) - 1;
  }
  nl::Diagnostics& diag() override { return diag_; }

  int size() const { return static_cast<int>(names_.size()); }
  int Find(const std::string& name) const {
    for (int i = 0; i < size(); ++i)
      if (names_[i] == name) return i;
    return -1;
  }
  const std::vector<dev::UnknownKind>& kinds() const { return kinds_; }

  // Evaluates one device at x (size()) and returns dense f, q, G, C.
  struct Result {
    std::vector<double> f, q;
    std::vector<std::vector<double>> G, C;
  };
  Result Eval(dev::Device& d, const std::vector<double>& x, bool dc, double time = 0.0,
              double source_scale = 1.0) {
    const int n = size();
    std::vector<double> xs(n + 1, 0.0), f(n + 1, 0.0), q(n + 1, 0.0);
    std::vector<double> g(entries_.size() + 1, 0.0), c(entries_.size() + 1, 0.0);
    for (int i = 0; i < n; ++i) xs[i + 1] = x[i];
    dev::EvalContext ctx;
    ctx.x = xs.data() + 1;
    ctx.f = f.data() + 1;
    ctx.q = q.data() + 1;
    ctx.G = g.data() + 1;
    ctx.C = c.data() + 1;
    ctx.dc = dc;
    ctx.time = time;
    ctx.source_scale = source_scale;
    d.Evaluate(ctx);
    Result r;
    r.f.assign(f.begin() + 1, f.end());
    r.q.assign(q.begin() + 1, q.end());
    r.G.assign(n, std::vector<double>(n, 0.0));
    r.C.assign(n, std::vector<double>(n, 0.0));
    for (size_t k = 0; k < entries_.size(); ++k) {
      r.G[entries_[k].first][entries_[k].second] += g[k + 1];
      r.C[entries_[k].first][entries_[k].second] += c[k + 1];
    }
    return r;
  }

 private:
  std::map<std::string, int> nodes_;
  std::vector<std::string> names_;
  std::vector<dev::UnknownKind> kinds_;
  std::vector<std::pair<int, int>> entries_;
  nl::Diagnostics diag_;
};

nl::Netlist DeckWithModel(const std::map<std::string, double>& params,
                          const std::map<std::string, std::string>& text = {},
                          const std::string& type = "mss") {
  nl::Netlist n;
  nl::Model m;
  m.name = "mm";
  m.type = type;
  m.params = params;
  m.text_params = text;
  m.loc = {"deck.cir", 2, 1};
  n.models["mm"] = m;
  return n;
}

nl::Element MssElement(const std::string& p, const std::string& n,
                       const std::map<std::string, double>& params = {{"x0", 0.3}}) {
  nl::Element e;
  e.name = "m1";
  e.letter = 'y';
  e.type = "mss";
  e.nodes = {p, n};
  e.model = "mm";
  e.params = params;
  e.loc = {"deck.cir", 5, 1};
  return e;
}

struct Built {
  Harness h;
  std::unique_ptr<dev::Device> device;
};

std::unique_ptr<Built> Build(const nl::Element& e, const nl::Netlist& deck) {
  auto b = std::make_unique<Built>();
  nl::Diagnostics diag;
  if (e.type == "mss") {
    b->device = dev::CreateMss(e, deck, diag);
  } else {
    b->device = dev::CreateAlphaSource(e, deck, diag);
  }
  BOOST_REQUIRE_MESSAGE(b->device != nullptr, diag.Format());
  b->device->Setup(b->h);
  b->device->Bind(b->h);
  return b;
}

std::string Errors(const nl::Element& e, const nl::Netlist& deck) {
  nl::Diagnostics diag;
  auto d = e.type == "mss" ? dev::CreateMss(e, deck, diag) : dev::CreateAlphaSource(e, deck, diag);
  BOOST_TEST(d == nullptr);
  BOOST_TEST(diag.has_errors());
  std::string all;
  for (const auto& item : diag.items()) {
    BOOST_TEST(item.loc.line == e.loc.line);  // reported at the instance
    all += item.message + " | " + item.hint + "\n";
  }
  return all;
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(unknowns_and_kcl_and_state_rows) {
  const nl::Netlist deck = DeckWithModel({{"k", 0.6}});
  auto b = Build(MssElement("a", "b"), deck);
  Harness& h = b->h;
  BOOST_TEST(h.size() == 3);
  const int a = h.Find("v(a)"), bb = h.Find("v(b)"), s = h.Find("x(m1)");
  BOOST_REQUIRE(s >= 0);
  BOOST_TEST((h.kinds()[s] == dev::UnknownKind::kState));

  const memspice::devices::mss::MssParams p;
  std::vector<double> x(3);
  x[a] = 0.12, x[bb] = 0.03, x[s] = 0.4;
  const auto r = h.Eval(*b->device, x, /*dc=*/false);
  const double u = 0.09;
  const auto e = memspice::devices::mss::Evaluate(p, 0.4, u);
  BOOST_TEST(r.f[a] == e.i, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(r.f[bb] == -e.i, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(r.f[s] == -e.rate, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(r.q[s] == 0.4);
  BOOST_TEST(r.q[a] == 0.0);
  BOOST_TEST(r.C[s][s] == 1.0);
  BOOST_TEST(r.C[a][a] == 0.0);

  // Full Jacobian against central differences of f.
  for (int j = 0; j < 3; ++j) {
    const double hstep = 1e-7;
    auto xp = x, xm = x;
    xp[j] += hstep;
    xm[j] -= hstep;
    const auto rp = h.Eval(*b->device, xp, false), rm = h.Eval(*b->device, xm, false);
    for (int i = 0; i < 3; ++i) {
      const double fd = (rp.f[i] - rm.f[i]) / (2 * hstep);
      const double scale = std::max({std::abs(fd), std::abs(r.G[i][j]), 1e-6});
      BOOST_TEST(std::abs(fd - r.G[i][j]) <= 1e-5 * scale,
                 "G[" << i << "][" << j << "] " << r.G[i][j] << " vs FD " << fd);
    }
  }
}

BOOST_AUTO_TEST_CASE(dc_holds_the_state_at_x0) {
  const nl::Netlist deck = DeckWithModel({});
  auto b = Build(MssElement("a", "0", {{"x0", 0.25}}), deck);
  Harness& h = b->h;
  BOOST_TEST(h.size() == 2);  // a and x(m1); ground is not an unknown
  const int a = h.Find("v(a)"), s = h.Find("x(m1)");
  std::vector<double> x0(2, 0.0);
  b->device->InitialState(x0.data());
  BOOST_TEST(x0[s] == 0.25);
  BOOST_TEST(x0[a] == 0.0);

  std::vector<double> x(2);
  x[a] = 0.5, x[s] = 0.7;
  const auto r = h.Eval(*b->device, x, /*dc=*/true);
  BOOST_TEST(r.f[s] == 0.7 - 0.25, boost::test_tools::tolerance(1e-15));
  BOOST_TEST(r.G[s][s] == 1.0);
  BOOST_TEST(r.G[s][a] == 0.0);  // the held state does not depend on the voltage
  // KCL still carries the memristor current at the held state.
  const memspice::devices::mss::MssParams p;
  BOOST_TEST(r.f[a] == memspice::devices::mss::Current(p, 0.7, 0.5),
             boost::test_tools::tolerance(1e-14));
  // A Newton step on the state row lands exactly on x0.
  BOOST_TEST(x[s] - r.f[s] / r.G[s][s] == 0.25, boost::test_tools::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(model_card_and_instance_overrides) {
  const nl::Netlist deck =
      DeckWithModel({{"ron", 2e3}, {"roff", 50e3}, {"voff", 0.02}, {"k", 1.0}, {"x0", 0.1}},
                    {{"convention", "knowm"}});
  nl::Diagnostics diag;
  dev::mss::MssParams p;
  double x0 = -1;
  BOOST_TEST(dev::ResolveMssParams(MssElement("a", "b", {{"ron", 5e3}}), deck, diag, &p, &x0));
  BOOST_TEST(p.ron == 5e3);  // instance wins
  BOOST_TEST(p.roff == 50e3);
  BOOST_TEST(p.voff == 0.02);
  BOOST_TEST(p.knowm);
  BOOST_TEST(p.tau == 1e-3);  // default kept
  BOOST_TEST(x0 == 0.1);      // model x0 used when the instance has none
}

BOOST_AUTO_TEST_CASE(check_state_names_the_state_and_the_remedy) {
  const nl::Netlist deck = DeckWithModel({});
  auto b = Build(MssElement("a", "b"), deck);
  const int s = b->h.Find("x(m1)");
  std::vector<double> x(3, 0.0);
  x[s] = 0.5;
  BOOST_TEST(b->device->CheckState(x.data()).empty());
  x[s] = 1.0 + 1e-7;  // round-off is tolerated
  BOOST_TEST(b->device->CheckState(x.data()).empty());
  x[s] = 1.7;
  std::string msg = b->device->CheckState(x.data());
  BOOST_TEST(Contains(msg, "x(m1)"), msg);
  BOOST_TEST(Contains(msg, "1.7"), msg);
  BOOST_TEST(Contains(msg, "unstable or too coarse"), msg);
  x[s] = -0.2;
  BOOST_TEST(Contains(b->device->CheckState(x.data()), "-0.2"));
  x[s] = std::nan("");
  msg = b->device->CheckState(x.data());
  BOOST_TEST(Contains(msg, "not finite"), msg);
  BOOST_TEST(Contains(msg, "unstable or too coarse"), msg);
}

BOOST_AUTO_TEST_CASE(bad_input_is_reported_at_the_instance) {
  const nl::Netlist good = DeckWithModel({});
  BOOST_TEST(Contains(Errors(MssElement("a", "b", {{"x0", 1.5}}), good), "x0 = 1.5"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b", {{"x0", -0.1}}), good), "[0, 1]"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b", {{"ron", 0}}), good), "ron"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b", {{"k", 1.5}}), good), "(0, 1]"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b", {{"k", 0}}), good), "k = 0"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b", {{"bogus", 1}}), good), "'bogus'"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b"), DeckWithModel({{"ronn", 1}})), "'ronn'"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b"), DeckWithModel({}, {{"convention", "xyz"}})),
                      "convention"));
  BOOST_TEST(Contains(Errors(MssElement("a", "b"), DeckWithModel({}, {}, "d")), "type 'd'"));
  nl::Element missing = MssElement("a", "b");
  missing.model = "nosuch";
  BOOST_TEST(Contains(Errors(missing, good), "unknown model 'nosuch'"));
  missing.model.clear();
  BOOST_TEST(Contains(Errors(missing, good), "no model"));
  // The parser hands an unknown model name over as a third node.
  missing.nodes = {"a", "b", "nosuch2"};
  BOOST_TEST(Contains(Errors(missing, good), "unknown model 'nosuch2'"));
  nl::Element three = MssElement("a", "b");
  three.nodes.push_back("c");
  BOOST_TEST(Contains(Errors(three, good), "2 nodes"));
  // All errors of the instance are collected, not just the first.
  nl::Diagnostics diag;
  dev::CreateMss(MssElement("a", "b", {{"x0", 3}, {"zz", 1}}), good, diag);
  BOOST_TEST(diag.num_errors() == 2);
}

BOOST_AUTO_TEST_CASE(generalized_form_has_consistent_jacobian) {
  const nl::Netlist deck = DeckWithModel({{"phi", 0.3}, {"af", 1e-6}, {"bf", 8}, {"ar", 2e-6}});
  auto b = Build(MssElement("a", "b"), deck);
  std::vector<double> x{0.2, -0.05, 0.6};
  const auto r = b->h.Eval(*b->device, x, false);
  for (int j = 0; j < 3; ++j) {
    const double hstep = 1e-7;
    auto xp = x, xm = x;
    xp[j] += hstep;
    xm[j] -= hstep;
    const auto rp = b->h.Eval(*b->device, xp, false), rm = b->h.Eval(*b->device, xm, false);
    for (int i = 0; i < 3; ++i) {
      const double fd = (rp.f[i] - rm.f[i]) / (2 * hstep);
      const double scale = std::max({std::abs(fd), std::abs(r.G[i][j]), 1e-6});
      BOOST_TEST(std::abs(fd - r.G[i][j]) <= 1e-5 * scale);
    }
  }
}

// ---- alpha source ----

namespace {

nl::Element AlphaElement(const std::map<std::string, double>& params,
                         const std::vector<double>& list = {}) {
  nl::Element e;
  e.name = "a1";
  e.letter = 'y';
  e.type = "alpha";
  e.nodes = {"0", "v"};
  e.params = params;
  e.list = list;
  e.loc = {"deck.cir", 7, 1};
  return e;
}

double Alpha(double t, double tau) { return t < 0 ? 0.0 : (t / tau) * std::exp(-t / tau); }

}  // namespace

BOOST_AUTO_TEST_CASE(alpha_injects_into_the_second_node) {
  const nl::Netlist deck;
  const double tau = 0.64e-3, w = 27.18281828e-6;
  auto b = Build(AlphaElement({{"tau", tau}}, {0.0, w}), deck);
  BOOST_TEST(b->device->IsLinear());
  const int v = b->h.Find("v(v)");
  std::vector<double> x(b->h.size(), 0.0);
  // Peak w/e at t = tau, injected into v: f[v] (currents leaving) is negative.
  const auto r = b->h.Eval(*b->device, x, false, tau);
  BOOST_TEST(r.f[v] == -w / std::exp(1.0), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(-r.f[v] == 10e-6, boost::test_tools::tolerance(1e-8));
  BOOST_TEST(b->h.Eval(*b->device, x, false, 0.0).f[v] == 0.0);
  BOOST_TEST(b->h.Eval(*b->device, x, false, -1e-3).f[v] == 0.0);
  // Source stepping scales the current.
  BOOST_TEST(b->h.Eval(*b->device, x, false, tau, 0.5).f[v] == 0.5 * r.f[v],
             boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(alpha_train_equals_its_event_list) {
  const nl::Netlist deck;
  const double tau = 0.5e-3, w = 3e-6, period = 0.8e-3, delay = 0.1e-3;
  auto train = Build(
      AlphaElement({{"tau", tau}, {"w", w}, {"period", period}, {"delay", delay}, {"count", 4}}),
      deck);
  std::vector<double> list;
  for (int k = 0; k < 4; ++k) {
    list.push_back(delay + k * period);
    list.push_back(w);
  }
  auto events = Build(AlphaElement({{"tau", tau}}, list), deck);
  auto* ta = dynamic_cast<dev::AlphaSource*>(train->device.get());
  auto* ev = dynamic_cast<dev::AlphaSource*>(events->device.get());
  BOOST_REQUIRE(ta && ev);
  for (double t = -1e-4; t < 8e-3; t += 37e-6) {
    double expected = 0;
    for (int k = 0; k < 4; ++k) expected += w * Alpha(t - delay - k * period, tau);
    BOOST_TEST(ta->Current(t) == expected, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(ev->Current(t) == expected, boost::test_tools::tolerance(1e-12));
  }
  std::vector<double> bp;
  ta->Breakpoints(1.0e-3, &bp);
  BOOST_TEST(bp == std::vector<double>({delay, delay + period}));
  bp.clear();
  ev->Breakpoints(1.0, &bp);
  BOOST_TEST(bp.size() == 4u);
}

BOOST_AUTO_TEST_CASE(alpha_unlimited_train_skips_old_events_without_error) {
  const nl::Netlist deck;
  const double tau = 0.64e-3, w = 1e-6, period = 1e-5;  // dense train: horizon matters
  auto b = Build(AlphaElement({{"tau", tau}, {"w", w}, {"period", period}}), deck);
  auto* a = dynamic_cast<dev::AlphaSource*>(b->device.get());
  // Far into the train the sum converges to the periodic steady state; compare with a direct
  // sum over all events (no horizon).
  const double t = 1.0 + 3e-6;
  double direct = 0;
  for (long k = 0; k * period <= t; ++k) direct += w * Alpha(t - k * period, tau);
  BOOST_TEST(a->Current(t) == direct, boost::test_tools::tolerance(1e-12));
  std::vector<double> bp;
  a->Breakpoints(1e-4, &bp);
  BOOST_TEST(bp.size() == 11u);  // 0, 10u, ..., 100u
}

BOOST_AUTO_TEST_CASE(alpha_bad_input_is_reported) {
  const nl::Netlist deck;
  BOOST_TEST(Contains(Errors(AlphaElement({{"tau", 0}}, {0, 1e-6}), deck), "tau = 0"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"tau", 1e-3}}, {0, 1e-6, 1e-3}), deck), "pairs"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"tau", 1e-3}}), deck), "no events"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"w", 1e-6}}, {0, 1e-6}), deck), "both"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"w", 1e-6}}), deck), "period"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"w", 1e-6}, {"period", -1}}), deck), "period = -1"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"w", 1e-6}, {"period", 1e-3}, {"count", 2.5}}), deck),
                      "count"));
  BOOST_TEST(
      Contains(Errors(AlphaElement({{"w", 1e-6}, {"period", 1e-3}, {"taux", 1}}), deck), "'taux'"));
  BOOST_TEST(Contains(Errors(AlphaElement({{"tau", 1}, {"w", 1e-6}, {"period", 1e-9}}), deck),
                      "too small"));
}
