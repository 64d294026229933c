// base/strings.h: case folding, trimming, and the deck number format reading back exactly.
#define BOOST_TEST_MODULE base_strings
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "base/strings.h"
#include "netlist/expression.h"

namespace base = memspice::base;

BOOST_AUTO_TEST_CASE(lower_upper_trim) {
  BOOST_TEST(base::Lower("YMSS M1 Gnd") == "ymss m1 gnd");
  BOOST_TEST(base::Upper("alpha_1") == "ALPHA_1");
  BOOST_TEST(base::Trim(" \t .param a=1 \r\n") == ".param a=1");
  BOOST_TEST(base::Trim(" \t\r\n").empty());
}

BOOST_AUTO_TEST_CASE(numbers_are_short_and_read_back_exactly) {
  BOOST_TEST(base::FormatNumber(0.1) == "0.1");
  BOOST_TEST(base::FormatNumber(1e-14) == "1e-14");
  BOOST_TEST(base::FormatNumber(100000.0) == "100000");
  BOOST_TEST(base::FormatNumber(-0.005) == "-0.005");
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> mantissa(-10.0, 10.0);
  std::uniform_int_distribution<int> exponent(-300, 300);
  for (int k = 0; k < 10000; ++k) {
    const double v = std::ldexp(mantissa(rng), exponent(rng));
    const std::string text = base::FormatNumber(v);
    // The netlist reader (engineering suffixes and all) gets the same double back.
    const std::optional<double> back = memspice::netlist::ParseSpiceNumber(text);
    BOOST_REQUIRE_MESSAGE(back.has_value(), text);
    BOOST_REQUIRE_MESSAGE(*back == v, text << " read back as " << *back);
  }
}
