// Every registry row is a complete device descriptor (devices/descriptor.h): parameter table,
// topology class, ngspice export, value syntax and docs page; and the table agrees with what the
// device accepts and with what the ngspice export writes.
#define BOOST_TEST_MODULE registry
#include "devices/registry.h"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/strings.h"
#include "netlist/netlist.h"
#include "ngspice/export.h"
#include "tests/test_util.h"
#include "tests/unit/devices/device_harness.h"

using memspice::devices::DeviceDescriptor;
using memspice::devices::kNoValueToken;
using memspice::devices::ParamInfo;
using memspice::devices::ParamKind;
using memspice::devices::ParamScope;
using memspice::devices::Registry;
using memspice::netlist::Diagnostics;
using memspice::testing::ReadFile;

namespace {

std::string Label(const DeviceDescriptor& d) {
  return std::string(1, d.letter) + (d.type[0] != '\0' ? std::string(" ") + d.type : "");
}

// Builds the device of `deck` (its first element) with the dense harness; returns the
// diagnostics' text, empty on success.
std::string Build(const std::string& deck) {
  Diagnostics diag;
  auto nl = memspice::netlist::ParseString("* t\n" + deck + "\n.end\n", "t.cir", {}, diag);
  if (!nl) return diag.Format();
  memspice::devices::testing::DenseHarness h;
  if (!h.Create(*nl)) return h.diagnostics().Format();
  return {};
}

// The example with `key=value` appended to its first line (instance) or to its .model card.
std::string WithParam(const std::string& example, const std::string& key, double value,
                      bool model_card) {
  std::string deck = example;
  std::ostringstream kv;
  kv << " " << key << "=" << value;
  if (!model_card)
    return deck.insert(deck.find('\n') == std::string::npos ? deck.size() : deck.find('\n'),
                       kv.str());
  const size_t close = deck.rfind(')');
  return close == std::string::npos ? deck : deck.insert(close, kv.str());
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_descriptor_is_complete) {
  BOOST_REQUIRE(!Registry().empty());
  for (const DeviceDescriptor& d : Registry()) {
    BOOST_TEST_CONTEXT("device " << Label(d)) {
      BOOST_TEST(d.create != nullptr);
      BOOST_TEST(d.topology != nullptr);
      BOOST_TEST((d.ngspice.native || d.ngspice.write != nullptr), "no ngspice export");
      BOOST_TEST(d.ngspice.helpers != nullptr);
      BOOST_TEST(!d.params.empty(), "no parameter table");
      int values = 0;
      bool model_rows = false;
      for (const ParamInfo& p : d.params) {
        BOOST_TEST_CONTEXT("parameter " << p.name) {
          BOOST_TEST(std::string(p.name).size() > 0u);
          BOOST_TEST(p.unit != nullptr);
          BOOST_TEST(p.lo <= p.hi);
          BOOST_TEST((!p.log_scale || p.lo >= 0.0), "log scale needs a non-negative range");
          if (!std::isnan(p.default_value)) {
            BOOST_TEST((p.default_value >= p.lo && p.default_value <= p.hi),
                       "default outside the valid range");
          }
        }
        values += p.scope == ParamScope::kValue;
        model_rows |= p.scope == ParamScope::kModel || p.scope == ParamScope::kBoth;
      }
      BOOST_TEST(values <= 1 + (d.letter == 'b'), "more than one value row");
      BOOST_TEST((d.value.token == kNoValueToken || values == 1),
                 "a value token needs a value row");
      BOOST_TEST((d.model_type == nullptr || model_rows), "model type without model parameters");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_device_has_its_docs_page) {
  for (const DeviceDescriptor& d : Registry()) {
    BOOST_TEST_CONTEXT("device " << Label(d)) {
      BOOST_REQUIRE(d.docs != nullptr);
      const std::filesystem::path page = std::filesystem::path(MEMSPICE_SOURCE_DIR) / d.docs;
      BOOST_REQUIRE_MESSAGE(std::filesystem::is_regular_file(page), page << " is missing");
      const std::string text = ReadFile(page);
      const std::string heading =
          d.letter == 'y' ? "Y" + memspice::base::Upper(d.type)
                          : "## " + memspice::base::Upper(std::string(1, d.letter)) + " ";
      BOOST_TEST(text.find(heading) != std::string::npos, page << " does not mention " << heading);
      for (const ParamInfo& p : d.params) {
        if (p.scope == ParamScope::kValue) continue;
        BOOST_TEST(text.find(p.name) != std::string::npos,
                   page << " does not document parameter '" << p.name << "'");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(the_device_accepts_exactly_its_table) {
  for (const DeviceDescriptor& d : Registry()) {
    BOOST_TEST_CONTEXT("device " << Label(d)) {
      BOOST_TEST(Build(d.example).empty(), Build(d.example));
      for (const ParamInfo& p : d.params) {
        if (p.kind != ParamKind::kNumber || !std::isfinite(p.default_value)) continue;
        if (p.scope == ParamScope::kInstance || p.scope == ParamScope::kBoth) {
          const std::string deck = WithParam(d.example, p.name, p.default_value, false);
          BOOST_TEST(Build(deck).empty(), deck << "\n" << Build(deck));
        }
        if (p.scope == ParamScope::kModel || p.scope == ParamScope::kBoth) {
          const std::string deck = WithParam(d.example, p.name, p.default_value, true);
          BOOST_TEST(Build(deck).find("error") == std::string::npos, deck << "\n" << Build(deck));
        }
      }
      const std::string bogus = WithParam(d.example, "bogus", 1.0, false);
      BOOST_TEST(Build(bogus).find("bogus") != std::string::npos, bogus);
    }
  }
}

BOOST_AUTO_TEST_CASE(exported_devices_are_rewritten_from_their_example) {
  for (const DeviceDescriptor& d : Registry()) {
    if (d.ngspice.native) continue;
    BOOST_TEST_CONTEXT("device " << Label(d)) {
      Diagnostics diag;
      std::string out;
      BOOST_TEST(memspice::ngspice::ExportNgspiceString(
                     std::string("* t\n") + d.example + "\n.end\n", "t.cir", {}, &out, diag),
                 diag.Format());
      // The element line survives only as a comment; the rewrite adds B sources.
      const std::string line = d.example;
      const std::string first = line.substr(0, line.find('\n'));
      BOOST_TEST(out.find("\n" + first + "\n") == std::string::npos, out);
      BOOST_TEST(out.find("* [memspice] " + first) != std::string::npos, out);
      BOOST_TEST(out.find("\nB") != std::string::npos, out);
    }
  }
}
