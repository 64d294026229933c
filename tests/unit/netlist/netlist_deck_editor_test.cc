// netlist/deck_editor.h: values change by source location; comments, continuation lines,
// spacing and everything else stay as written.
#define BOOST_TEST_MODULE netlist_deck_editor
#include <boost/test/unit_test.hpp>
#include <string>

#include "netlist/deck_editor.h"

using memspice::netlist::DeckEditor;

namespace {

const char* kDeck =
    "title\n"                          // 1
    ".param a=1 b = {2*a}\n"           // 2
    "R1 x 0 1k ; load\n"               // 3
    "V1 x 0 DC 2 SIN(0 1 1k)\n"        // 4
    ".model mm mss (ron=1k\n"          // 5
    "* a comment between\n"            // 6
    "+ tau=1m)\n"                      // 7
    "YMSS m1 x 0 mm x0=0.1 $ state\n"  // 8
    ".ic v(x)=0.5\n"                   // 9
    ".end\n";                          // 10

}  // namespace

BOOST_AUTO_TEST_CASE(edits_keep_the_rest_of_the_deck) {
  DeckEditor d(kDeck);
  BOOST_TEST(d.num_lines() == 10);
  BOOST_TEST(d.SetDirectiveKey(".param", "B", "{3*a}"));
  BOOST_TEST(d.SetToken(3, 3, nullptr, "4.5"));
  BOOST_TEST(d.SetToken(4, 3, "dc", "2.5"));
  BOOST_TEST(d.ReplaceKey(5, "TAU", "0.002"));  // on a continuation line
  d.SetKey(8, "x0", "0.25");
  d.SetKey(8, "ron", "500");  // appended before the inline comment
  BOOST_TEST(d.SetDirectiveKey(".ic", "v(x)", "0.75"));
  BOOST_TEST(d.text() ==
             "title\n"
             ".param a=1 b = {3*a}\n"
             "R1 x 0 4.5 ; load\n"
             "V1 x 0 DC 2.5 SIN(0 1 1k)\n"
             ".model mm mss (ron=1k\n"
             "* a comment between\n"
             "+ tau=0.002)\n"
             "YMSS m1 x 0 mm x0=0.25 ron=500 $ state\n"
             ".ic v(x)=0.75\n"
             ".end\n");
}

BOOST_AUTO_TEST_CASE(missing_targets_are_reported_not_invented) {
  DeckEditor d(kDeck);
  BOOST_TEST(!d.ReplaceKey(3, "m", "2"));               // R1 writes no m=
  BOOST_TEST(!d.SetToken(8, 2, nullptr, "1"));          // a node name is not a value
  BOOST_TEST(!d.SetDirectiveKey(".param", "zz", "1"));  // no such .param
  BOOST_TEST(!d.ReplaceKey(42, "x0", "1"));             // no such line
  BOOST_TEST(!d.SetToken(0, 1, nullptr, "1"));
  BOOST_TEST(d.text() == kDeck);
}

BOOST_AUTO_TEST_CASE(cards_read_as_statements_and_are_replaced_whole) {
  DeckEditor d(kDeck);
  BOOST_TEST(d.StartsCard(5));
  BOOST_TEST(!d.StartsCard(6));  // comment
  BOOST_TEST(!d.StartsCard(7));  // continuation
  BOOST_TEST(!d.StartsCard(11));
  BOOST_TEST(d.CardLastLine(5) == 7);  // through the comment to the continuation
  BOOST_TEST(d.CardLastLine(3) == 3);
  BOOST_TEST(d.CardStatement(5) == ".model mm mss (ron=1k  tau=1m)");
  BOOST_TEST(d.CardStatement(3) == "R1 x 0 1k ");  // inline comment removed
  BOOST_TEST(d.CardStatement(8) == "YMSS m1 x 0 mm x0=0.1 ");
  d.ReplaceLines(5, 7, "* replaced\n.model mm mss (ron=2k)\n");
  BOOST_TEST(d.num_lines() == 9);
  BOOST_TEST(d.line(5) == "* replaced");
  BOOST_TEST(d.line(6) == ".model mm mss (ron=2k)");
  BOOST_TEST(d.line(7) == "YMSS m1 x 0 mm x0=0.1 $ state");
  d.ReplaceLines(9, 2, "ignored");  // last before first: no edit
  BOOST_TEST(d.num_lines() == 9);
}
