// Shared by the end-to-end CLI tests of training (conductances_cli_test, device_card_cli_test): a
// tiny IDX data set, a `memspice` invocation and the summary line of `eval`.
#ifndef MEMSPICE_TESTS_UNIT_TRAINING_TINY_CLI_DATA_H_
#define MEMSPICE_TESTS_UNIT_TRAINING_TINY_CLI_DATA_H_

#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>

#include "../../test_util.h"
#include "training/dataset.h"

namespace memspice::testing {

inline constexpr int kTinyFeatures = 4;  // 2x2 images
inline constexpr int kTinySamples = 16;

// train and t10k IDX files of kTinySamples 2x2 images, class 1 where the left column is bright.
inline void WriteTinyDataset(const std::string& dir) {
  training::IdxArray img{{kTinySamples, 2, 2}, {}}, lab{{kTinySamples}, {}};
  for (int s = 0; s < kTinySamples; ++s) {
    const int bright = s % 2;
    for (int k = 0; k < kTinyFeatures; ++k)
      img.data.push_back(
          static_cast<uint8_t>(k % 2 == 0 ? (bright ? 230 : 20) : 40 + 10 * (s % 5)));
    lab.data.push_back(static_cast<uint8_t>(bright));
  }
  for (const char* part : {"train", "t10k"}) {
    BOOST_REQUIRE(training::WriteIdx(dir + "/" + part + "-images-idx3-ubyte", img).ok());
    BOOST_REQUIRE(training::WriteIdx(dir + "/" + part + "-labels-idx1-ubyte", lab).ok());
  }
}

// Runs `memspice ARGS`, returning its output (stdout and stderr) and setting *rc.
inline std::string Memspice(const std::string& args, int* rc) {
  std::string out;
  *rc = RunCommand(std::string(MEMSPICE_BINARY) + " " + args, &out);
  return out;
}

// The "N test samples: accuracy ..., loss ..." line of `eval` (empty if there is none).
inline std::string EvalLine(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("[0-9]+ test samples: accuracy [^\n]*")) ? m.str()
                                                                                       : "";
}

}  // namespace memspice::testing

#endif  // MEMSPICE_TESTS_UNIT_TRAINING_TINY_CLI_DATA_H_
