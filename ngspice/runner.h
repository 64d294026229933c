// Running ngspice (batch mode) as the reference simulator and bringing its results into
// memspice's naming.
//
// RunNgspice executes `ngspice -b -r <tmp>/out.raw <deck>` in the deck's directory (so relative
// .include paths resolve as in memspice), with stdin from /dev/null and a wall-clock timeout,
// then reads the raw file. Every plot's signal names are normalised to memspice's:
//   v(out), v(x1.n2)             unchanged (lower case)
//   i(v1), v1#branch             -> i(v1)
//   i(v.x1.vs), v.x1.vs#branch   -> i(x1.vs)      (ngspice prefixes subcircuit elements with
//                                                  their letter; memspice does not)
//   time, v(v-sweep)             scale names are kept as written
#ifndef MEMSPICE_NGSPICE_RUNNER_H_
#define MEMSPICE_NGSPICE_RUNNER_H_

#include <string>
#include <vector>

#include "base/status.h"
#include "io/waveform.h"

namespace memspice::ngspice {

struct NgspiceOptions {
  std::string executable = "ngspice";  // name looked up on PATH, or a path
  double timeout_seconds = 120.0;      // wall clock; the process group is killed after it
  bool keep_files = false;  // keep the temporary directory (raw, stdout, stderr; deck.cir for
                            // RunNgspiceText)
};

struct NgspiceResult {
  std::vector<io::WaveformTable> plots;  // in the order ngspice wrote them, names normalised
  std::string stdout_text, stderr_text;
  std::string work_dir;  // temporary directory used (deleted unless keep_files)
  double seconds = 0.0;  // wall clock of the ngspice run
};

// Runs ngspice on a deck file. Errors: ngspice not found (hint: install ngspice or set the
// executable), timeout, non-zero exit or no raw output (the message quotes ngspice's error
// lines), unreadable raw file.
Status RunNgspice(const std::string& deck_path, const NgspiceOptions& options,
                  NgspiceResult* result);

// Same for deck text: written to a temporary file in `directory` (the deck's logical location,
// so relative includes resolve) and removed afterwards.
Status RunNgspiceText(const std::string& deck_text, const std::string& directory,
                      const NgspiceOptions& options, NgspiceResult* result);

// ngspice vector name -> memspice signal name (see the table above).
std::string NormalizeNgspiceName(const std::string& name);
// Applies NormalizeNgspiceName to every signal of the table.
void NormalizeNgspiceNames(io::WaveformTable* table);

// The full path of the ngspice executable, or an error if it is not on PATH / not executable.
Status FindNgspice(const std::string& executable, std::string* path);

}  // namespace memspice::ngspice

#endif  // MEMSPICE_NGSPICE_RUNNER_H_
