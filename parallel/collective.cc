#include "parallel/collective.h"

#include <fmt/format.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>

#ifdef MEMSPICE_HAVE_MPI
#include <mpi.h>
#endif

namespace memspice::parallel {

std::pair<int, int> BlockOf(int n, int rank, int size) {
  const long long first = static_cast<long long>(n) * rank / size;
  const long long last = static_cast<long long>(n) * (rank + 1) / size;
  return {static_cast<int>(first), static_cast<int>(last)};
}

std::string FirstError(const Collective& c, const std::string& mine) {
  const std::vector<std::string> all = c.AllGatherText(mine);
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;
    return c.size() > 1 ? fmt::format("rank {}: {}", r, all[r]) : all[r];
  }
  return "";
}

bool LaunchedByMpi() {
  // Open MPI's mpirun, PMIx launchers (Open MPI 5, Slurm) and Hydra/PMI (MPICH, Intel MPI).
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

namespace {

// FNV-1a over the executable, so that ranks running different builds are caught before they
// exchange data laid out differently.
std::string ExecutableHash() {
  constexpr uint64_t kFnvOffset = 1469598103934665603ull;  // FNV-1a 64-bit offset basis
  constexpr uint64_t kFnvPrime = 1099511628211ull;         // FNV-1a 64-bit prime
  std::ifstream in("/proc/self/exe", std::ios::binary);
  if (!in) return "unknown";
  uint64_t h = kFnvOffset;
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h = (h ^ static_cast<unsigned char>(buf[i])) * kFnvPrime;
    }
  }
  return fmt::format("{:016x}", h);
}

#ifdef MEMSPICE_HAVE_MPI
class MpiCollective : public Collective {
 public:
  MpiCollective() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  std::vector<double> AllGather(const std::vector<double>& mine) const override {
    std::vector<int> counts(size_), displs(size_);
    const int n = static_cast<int>(mine.size());
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[r] = total;
      total += counts[r];
    }
    std::vector<double> all(total);
    MPI_Allgatherv(mine.data(), n, MPI_DOUBLE, all.data(), counts.data(), displs.data(), MPI_DOUBLE,
                   MPI_COMM_WORLD);
    return all;
  }

  std::vector<std::string> AllGatherText(const std::string& mine) const override {
    std::vector<int> counts(size_), displs(size_);
    const int n = static_cast<int>(mine.size());
    MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int total = 0;
    for (int r = 0; r < size_; ++r) {
      displs[r] = total;
      total += counts[r];
    }
    std::string all(total, '\0');
    MPI_Allgatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR,
                   MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(displs[r], counts[r]));
    return out;
  }

 private:
  int rank_ = 0, size_ = 1;
};
#endif

std::unique_ptr<Collective>& World() {
  static std::unique_ptr<Collective> world;
  return world;
}

}  // namespace

bool HaveMpi() {
#ifdef MEMSPICE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

const Collective* InitWorld(int* argc, char*** argv, std::string* error) {
  if (!LaunchedByMpi()) {
    World() = std::make_unique<LocalCollective>();
    return World().get();
  }
#ifdef MEMSPICE_HAVE_MPI
  if (MPI_Init(argc, argv) != MPI_SUCCESS) {
    *error = "MPI_Init failed";
    return nullptr;
  }
  World() = std::make_unique<MpiCollective>();
  const std::vector<std::string> hashes = World()->AllGatherText(ExecutableHash());
  for (size_t r = 1; r < hashes.size(); ++r) {
    if (hashes[r] != hashes[0]) {
      *error = fmt::format(
          "rank {} runs a different memspice executable (hash {}) than rank 0 (hash {}); every "
          "rank must run the same build",
          r, hashes[r], hashes[0]);
      return nullptr;
    }
  }
  return World().get();
#else
  *error =
      "this memspice was built without MPI but was started by an MPI launcher; rebuild with "
      "libopenmpi-dev installed (CMake option MEMSPICE_MPI) or run it without mpirun";
  return nullptr;
#endif
}

const Collective* SharedWorld() { return World() && World()->size() > 1 ? World().get() : nullptr; }

void Finalize() {
#ifdef MEMSPICE_HAVE_MPI
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Finalize();
#endif
  World().reset();
}

}  // namespace memspice::parallel
