// `memspice grad` end to end: JSON output, --check table, input errors.
#define BOOST_TEST_MODULE adjoint_cli
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

int Run(const std::string& args) {
  const std::string cmd = std::string(MEMSPICE_BINARY) + " " + args + " > /dev/null 2>&1";
  const int rc = std::system(cmd.c_str());
  return WEXITSTATUS(rc);
}

BOOST_AUTO_TEST_CASE(grad_writes_json_with_check) {
  const std::string deck = "adjoint_cli_test_rc.cir", json = "adjoint_cli_test_out.json";
  {
    std::ofstream out(deck);
    out << "rc\n.param rval=1k\nV1 in 0 PULSE(0 1 10u 5u 5u 1 1)\nR1 in out {rval}\n"
           "C1 out 0 1n\n.tran 1u 40u\n.end\n";
  }
  BOOST_REQUIRE_EQUAL(Run("grad " + deck +
                          " --objective 'integral(v(out)^2)' --wrt rval,c1 --fixed-step 0.2u "
                          "--check --json " +
                          json),
                      0);
  std::ifstream in(json);
  nlohmann::json j = nlohmann::json::parse(in);
  for (const char* key : {"objective", "gradient", "forward_s", "reverse_s", "tape_bytes"}) {
    BOOST_CHECK_MESSAGE(j.contains(key), key);
  }
  BOOST_CHECK_LT(j["gradient"]["rval"].get<double>(), 0.0);
  BOOST_CHECK_LT(j["check"]["rval"]["rel_error"].get<double>(), 1e-5);
  BOOST_CHECK_LT(j["check"]["c1"]["rel_error"].get<double>(), 1e-5);
  BOOST_CHECK_EQUAL(Run("grad " + deck + " --objective 'integral(v(out)' --wrt rval"), 1);
  BOOST_CHECK_EQUAL(Run("grad " + deck + " --objective 'final(v(out))' --wrt nosuch"), 1);
  std::remove(deck.c_str());
  std::remove(json.c_str());
}

}  // namespace
