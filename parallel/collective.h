// Processes that cooperate on one job (data-parallel training, sweeps): a rank, a size and the two
// collective operations the libraries need. Single-process runs use LocalCollective; runs started
// by `mpirun` use the MPI world (MpiWorld(), present when built with MPI).
//
// Every collective call must be made by all processes in the same order. Results never depend on
// the number of processes: data is gathered in rank order and reduced by the caller in a fixed
// order, never summed inside MPI (whose reduction order is unspecified).
#ifndef MEMSPICE_PARALLEL_COLLECTIVE_H_
#define MEMSPICE_PARALLEL_COLLECTIVE_H_

#include <string>
#include <utility>
#include <vector>

namespace memspice::parallel {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Concatenation, in rank order, of every process's `mine`.
  virtual std::vector<double> AllGather(const std::vector<double>& mine) const = 0;
  // Every process's text, indexed by rank.
  virtual std::vector<std::string> AllGatherText(const std::string& mine) const = 0;

  bool is_root() const { return rank() == 0; }
};

// One process: gathers return the caller's own data.
class LocalCollective : public Collective {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::vector<double> AllGather(const std::vector<double>& mine) const override { return mine; }
  std::vector<std::string> AllGatherText(const std::string& mine) const override { return {mine}; }
};

// The block of `n` items (chunks of a batch, runs of a sweep) that rank `rank` of `size` owns:
// [first, last). Blocks are contiguous and in rank order, so gathering in rank order restores the
// item order.
std::pair<int, int> BlockOf(int n, int rank, int size);

// Agreement on an error: every process passes its own message (empty if it succeeded) and gets
// back the first non-empty one in rank order, prefixed with "rank R: " when size() > 1, or an
// empty string if all succeeded. Lets one process's bad input stop all with the same message.
std::string FirstError(const Collective& c, const std::string& mine);

// True if this process was started by an MPI launcher (mpirun/mpiexec/srun set these variables).
bool LaunchedByMpi();

// Whether this build has MPI support.
bool HaveMpi();

// Initialises MPI when the process was launched by an MPI launcher and the build has MPI; returns
// the world (or a LocalCollective otherwise). Checks that every rank runs the same executable
// (a hash of /proc/self/exe); on a mismatch or a failed initialisation returns nullptr and sets
// *error (on every rank). Call once, from main; Finalize() before exiting.
const Collective* InitWorld(int* argc, char*** argv, std::string* error);
void Finalize();

// The world set up by InitWorld when it has more than one process (mpirun -np N, N > 1), else
// nullptr: callers then run alone exactly as without MPI.
const Collective* SharedWorld();

}  // namespace memspice::parallel

#endif  // MEMSPICE_PARALLEL_COLLECTIVE_H_
