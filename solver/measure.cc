#include "solver/measure.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "netlist/expression.h"

namespace memspice::solver {
namespace {

using Word = netlist::DirectiveCard::Word;
using Kind = Measurement::Kind;

const std::map<std::string, Kind> kKinds = {{"find", Kind::kFind},     {"when", Kind::kWhen},
                                            {"trig", Kind::kTrigTarg}, {"avg", Kind::kAvg},
                                            {"rms", Kind::kRms},       {"min", Kind::kMin},
                                            {"max", Kind::kMax},       {"pp", Kind::kPp},
                                            {"integ", Kind::kInteg},   {"integral", Kind::kInteg}};

// Reads the words of one card; each Take* reports its own error and returns nullopt.
class CardReader {
 public:
  CardReader(const netlist::DirectiveCard& card, netlist::Diagnostics& diag)
      : card_(card), diag_(diag) {}

  bool done() const { return i_ >= card_.words.size(); }
  const Word* Peek(size_t ahead = 0) const {
    return i_ + ahead < card_.words.size() ? &card_.words[i_ + ahead] : nullptr;
  }
  const Word* Next() { return done() ? nullptr : &card_.words[i_++]; }
  netlist::SourceLoc Here() const { return done() ? card_.end : card_.words[i_].loc; }

  void Error(const netlist::SourceLoc& loc, std::string message, std::string hint = "") {
    diag_.Error(loc, std::move(message), std::move(hint));
    failed_ = true;
  }
  bool failed() const { return failed_; }

  std::optional<std::string> Signal(const char* what) {
    const Word* w = Next();
    if (w == nullptr || w->text == "=") {
      Error(w ? w->loc : card_.end,
            fmt::format("expected {} (v(node), v(a,b), i(vsource), x(m))", what));
      return std::nullopt;
    }
    return w->text;
  }
  std::optional<double> Number(const Word* w, const char* what) {
    std::optional<double> v = w ? netlist::ParseSpiceNumber(w->text) : std::nullopt;
    if (!v)
      Error(w ? w->loc : card_.end, fmt::format("expected a number for {}", what),
            "e.g. 1m, 0.5, 2.5e-3");
    return v;
  }
  // "key = value" at the cursor: returns the value word, or nullptr (with an error) if malformed.
  const Word* KeyValue(const std::string& key) {
    Next();
    const Word* eq = Next();
    if (eq == nullptr || eq->text != "=") {
      Error(eq ? eq->loc : card_.end, fmt::format("expected '=' after '{}'", key),
            fmt::format("write {}=VALUE", key));
      return nullptr;
    }
    const Word* v = Next();
    if (v == nullptr) Error(card_.end, fmt::format("missing value after '{}='", key));
    return v;
  }
  bool AtKey(const char* key) const {
    const Word* w = Peek();
    const Word* eq = Peek(1);
    return w && w->text == key && eq && eq->text == "=";
  }

 private:
  const netlist::DirectiveCard& card_;
  netlist::Diagnostics& diag_;
  size_t i_ = 0;
  bool failed_ = false;
};

// Reads the conditions that may follow an event: rise/fall/cross=N|last, td=T.
void ReadConditions(CardReader& r, Measurement::Event* e) {
  while (!r.done()) {
    const Word* key = r.Peek();
    const std::string k = key->text;
    if (!(k == "rise" || k == "fall" || k == "cross" || k == "td") || !r.AtKey(k.c_str())) return;
    const Word* v = r.KeyValue(k);
    if (v == nullptr) return;
    if (k == "td") {
      if (auto t = r.Number(v, "td")) e->td = *t;
      continue;
    }
    e->dir = k == "rise"   ? Measurement::Event::Dir::kRise
             : k == "fall" ? Measurement::Event::Dir::kFall
                           : Measurement::Event::Dir::kCross;
    if (v->text == "last") {
      e->count = 0;
    } else if (auto n = r.Number(v, k.c_str()); n && *n >= 1 && *n == std::floor(*n)) {
      e->count = static_cast<int>(*n);
    } else if (n) {
      r.Error(v->loc, fmt::format("{}={} must be a count >= 1 or 'last'", k, v->text));
    }
  }
}

// SIG=VAL [conditions], or at=T (when `allow_at`), or SIG val=VAL [conditions] (trig/targ).
void ReadEvent(CardReader& r, bool val_keyword, Measurement::Event* e) {
  if (r.AtKey("at")) {
    if (auto t = r.Number(r.KeyValue("at"), "at")) {
      e->has_at = true;
      e->at = *t;
    }
    return;
  }
  auto sig = r.Signal("a signal");
  if (!sig) return;
  e->signal = *sig;
  if (val_keyword) {
    if (!r.AtKey("val")) {
      r.Error(r.Here(), "expected val=VALUE after the signal", "e.g. trig v(in) val=0.5 rise=1");
      return;
    }
    if (auto v = r.Number(r.KeyValue("val"), "val")) e->value = *v;
  } else {
    const Word* eq = r.Next();
    if (eq == nullptr || eq->text != "=") {
      r.Error(eq ? eq->loc : r.Here(), "expected '=' and a value after the signal",
              "e.g. when v(out)=0.5 rise=1");
      return;
    }
    if (auto v = r.Number(r.Next(), "the crossing value")) e->value = *v;
  }
  ReadConditions(r, e);
}

void ReadWindow(CardReader& r, Measurement* m) {
  while (!r.done()) {
    const std::string k = r.Peek()->text;
    if (!(k == "from" || k == "to") || !r.AtKey(k.c_str())) return;
    if (auto t = r.Number(r.KeyValue(k), k.c_str())) (k == "from" ? m->from : m->to) = *t;
  }
}

bool ParseOne(const netlist::DirectiveCard& card, netlist::Diagnostics& diag, Measurement* m) {
  CardReader r(card, diag);
  r.Next();  // .meas
  m->loc = card.loc;
  const Word* analysis = r.Next();
  if (analysis == nullptr || analysis->text != "tran") {
    r.Error(analysis ? analysis->loc : card.end,
            analysis
                ? fmt::format("only 'tran' measurements are supported, not '{}'", analysis->text)
                : "expected the analysis and a name",
            "write .meas tran NAME ...");
    return false;
  }
  const Word* name = r.Next();
  const Word* kind = r.Next();
  if (name == nullptr || kind == nullptr || !kKinds.count(kind->text)) {
    r.Error(kind ? kind->loc : card.end, "expected a measurement kind",
            "find, when, trig, avg, rms, min, max, pp or integ");
    return false;
  }
  m->name = name->text;
  m->kind = kKinds.at(kind->text);
  switch (m->kind) {
    case Kind::kFind:
      if (auto sig = r.Signal("the signal to find")) m->signal = *sig;
      if (r.AtKey("at")) {
        ReadEvent(r, false, &m->when);
      } else if (r.Peek() && r.Peek()->text == "when") {
        r.Next();
        ReadEvent(r, false, &m->when);
      } else if (!r.failed()) {
        r.Error(r.Here(), "expected 'at=T' or 'when SIG=VALUE' after the signal");
      }
      break;
    case Kind::kWhen:
      ReadEvent(r, false, &m->when);
      break;
    case Kind::kTrigTarg:
      ReadEvent(r, true, &m->when);
      if (!r.failed() && !(r.Peek() && r.Peek()->text == "targ")) {
        r.Error(r.Here(), "expected 'targ SIG val=VALUE' after the trigger");
      } else if (!r.failed()) {
        r.Next();
        ReadEvent(r, true, &m->targ);
      }
      break;
    default:
      if (auto sig = r.Signal("the signal")) m->signal = *sig;
      ReadWindow(r, m);
  }
  if (!r.failed() && !r.done()) {
    r.Error(r.Peek()->loc, fmt::format("unexpected '{}' in this measurement", r.Peek()->text));
  }
  return !r.failed();
}

// A signal of the table as a column: v(a,b) is v(a) - v(b).
Status Column(const io::WaveformTable& t, const std::string& name, std::vector<double>* out) {
  if (int j = t.Find(name); j >= 0) {
    *out = t.Column(j);
    return Status::Ok();
  }
  const size_t comma = name.find(',');
  if (name.rfind("v(", 0) == 0 && comma != std::string::npos && name.back() == ')') {
    std::vector<double> a, b;
    const std::string na = "v(" + name.substr(2, comma - 2) + ")";
    const std::string nb = "v(" + name.substr(comma + 1, name.size() - comma - 2) + ")";
    Status sa = nb == "v(0)" ? Status::Ok() : Column(t, nb, &b);
    if (Status s = Column(t, na, &a); !s.ok()) return s;
    if (!sa.ok()) return sa;
    if (b.empty()) b.assign(a.size(), 0.0);
    for (size_t k = 0; k < a.size(); ++k) a[k] -= b[k];
    *out = std::move(a);
    return Status::Ok();
  }
  std::string names;
  for (const auto& n : t.names) names += (names.empty() ? "" : " ") + n;
  return Status::Error(fmt::format("signal '{}' is not in the results", name), "signals: " + names);
}

double At(const std::vector<double>& t, const std::vector<double>& y, double x) {
  if (x <= t.front()) return y.front();
  if (x >= t.back()) return y.back();
  const size_t k = std::upper_bound(t.begin(), t.end(), x) - t.begin();
  const double w = (x - t[k - 1]) / (t[k] - t[k - 1]);
  return y[k - 1] + w * (y[k] - y[k - 1]);
}

Status EventTime(const Measurement& m, const Measurement::Event& e, const io::WaveformTable& table,
                 double* time) {
  if (e.has_at) {
    *time = e.at;
    return Status::Ok();
  }
  std::vector<double> y;
  if (Status s = Column(table, e.signal, &y); !s.ok()) return s;
  const std::vector<double>& t = table.scale;
  int seen = 0;
  bool found = false;
  for (size_t k = 1; k < t.size(); ++k) {
    if (t[k] < e.td) continue;
    const double a = y[k - 1] - e.value, b = y[k] - e.value;
    const bool rise = a < 0 && b >= 0, fall = a > 0 && b <= 0;
    const bool hit = e.dir == Measurement::Event::Dir::kRise   ? rise
                     : e.dir == Measurement::Event::Dir::kFall ? fall
                                                               : rise || fall;
    if (!hit) continue;
    const double tc = t[k - 1] + (t[k] - t[k - 1]) * (a / (a - b));
    if (tc < e.td) continue;
    *time = tc;
    found = true;
    if (++seen == e.count) return Status::Ok();
  }
  if (e.count == 0 && found) return Status::Ok();
  const char* how = e.dir == Measurement::Event::Dir::kRise   ? "rises through"
                    : e.dir == Measurement::Event::Dir::kFall ? "falls through"
                                                              : "crosses";
  const std::string after = e.td > 0 ? fmt::format(" after td={}", e.td) : "";
  if (seen == 0) {
    return Status::Error(fmt::format("measurement '{}' failed: {} never {} {}{}", m.name, e.signal,
                                     how, e.value, after),
                         fmt::format("its range is [{}, {}]", *std::min_element(y.begin(), y.end()),
                                     *std::max_element(y.begin(), y.end())));
  }
  return Status::Error(fmt::format("measurement '{}' failed: {} {} {} only {} time{}{}, not {}",
                                   m.name, e.signal, how, e.value, seen, seen == 1 ? "" : "s",
                                   after, e.count));
}

}  // namespace

bool ParseMeasurements(const std::vector<netlist::DirectiveCard>& cards, netlist::Diagnostics& diag,
                       std::vector<Measurement>* out) {
  bool ok = true;
  for (const auto& card : cards) {
    Measurement m;
    if (ParseOne(card, diag, &m)) {
      out->push_back(std::move(m));
    } else {
      ok = false;
    }
  }
  return ok;
}

Status EvaluateMeasurement(const Measurement& m, const io::WaveformTable& table, double* value) {
  const std::vector<double>& t = table.scale;
  if (table.scale_name != "time" || t.size() < 2) {
    return Status::Error(fmt::format("measurement '{}' needs a transient analysis", m.name));
  }
  if (m.kind == Kind::kWhen) return EventTime(m, m.when, table, value);
  if (m.kind == Kind::kTrigTarg) {
    double t1 = 0, t2 = 0;
    if (Status s = EventTime(m, m.when, table, &t1); !s.ok()) return s;
    if (Status s = EventTime(m, m.targ, table, &t2); !s.ok()) return s;
    *value = t2 - t1;
    return Status::Ok();
  }
  std::vector<double> y;
  if (Status s = Column(table, m.signal, &y); !s.ok()) return s;
  if (m.kind == Kind::kFind) {
    double tf = 0;
    if (Status s = EventTime(m, m.when, table, &tf); !s.ok()) return s;
    if (tf < t.front() || tf > t.back()) {
      return Status::Error(fmt::format("measurement '{}' failed: at={} is outside the run [{}, {}]",
                                       m.name, tf, t.front(), t.back()));
    }
    *value = At(t, y, tf);
    return Status::Ok();
  }
  const double from = std::max(m.from, t.front()), to = std::min(m.to, t.back());
  if (!(from < to) && m.kind != Kind::kMin && m.kind != Kind::kMax && m.kind != Kind::kPp) {
    return Status::Error(fmt::format("measurement '{}' failed: the window [{}, {}] holds no time",
                                     m.name, from, to));
  }
  // The window's points: interpolated ends and every time point strictly inside.
  std::vector<double> wt = {from}, wy = {At(t, y, from)};
  for (size_t k = 0; k < t.size(); ++k) {
    if (t[k] > from && t[k] < to) {
      wt.push_back(t[k]);
      wy.push_back(y[k]);
    }
  }
  wt.push_back(to);
  wy.push_back(At(t, y, to));
  double integ = 0, integ2 = 0;
  for (size_t k = 1; k < wt.size(); ++k) {
    const double h = wt[k] - wt[k - 1];
    integ += 0.5 * h * (wy[k] + wy[k - 1]);
    integ2 += 0.5 * h * (wy[k] * wy[k] + wy[k - 1] * wy[k - 1]);
  }
  const auto [lo, hi] = std::minmax_element(wy.begin(), wy.end());
  switch (m.kind) {
    case Kind::kAvg:
      *value = integ / (to - from);
      break;
    case Kind::kRms:
      *value = std::sqrt(integ2 / (to - from));
      break;
    case Kind::kInteg:
      *value = integ;
      break;
    case Kind::kMin:
      *value = *lo;
      break;
    case Kind::kMax:
      *value = *hi;
      break;
    default:
      *value = *hi - *lo;
  }
  return Status::Ok();
}

}  // namespace memspice::solver
