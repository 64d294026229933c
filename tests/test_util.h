// Helpers shared by the test executables: a scratch directory, file and command helpers and the
// ngspice check.
#ifndef MEMSPICE_TESTS_TEST_UTIL_H_
#define MEMSPICE_TESTS_TEST_UTIL_H_

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "ngspice/runner.h"

namespace memspice::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test") {
    static std::atomic<int> counter{0};
    path_ =
        std::filesystem::temp_directory_path() /
        ("memspice_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& file) const { return (path_ / file).string(); }
  // Writes `text` to `name` (creating parent folders) and returns the full path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

// The whole file as a string (empty if it cannot be read).
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; returns its exit status (-1 if it did not exit) and puts its
// stdout + stderr into *output.
inline int RunCommand(const std::string& cmd, std::string* output) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  output->clear();
  while (size_t n = fread(buf, 1, sizeof buf, p)) output->append(buf, n);
  const int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The mpirun prefix for `ranks` processes; mpirun refuses root unless told, and containers run
// tests as root.
inline std::string Mpirun(int ranks) {
  return std::string("mpirun --oversubscribe ") + (getuid() == 0 ? "--allow-run-as-root " : "") +
         "-np " + std::to_string(ranks) + " ";
}

// ngspice is a test dependency (scripts/install-deps.sh installs it), so a missing executable
// fails the calling test. MEMSPICE_SKIP_NGSPICE=1 turns that into a skip for machines without it:
// the test prints kNgspiceSkipped, which CTest reports as "Skipped" for every test labelled
// `ngspice` (tests/CMakeLists.txt labels each test file that calls HaveNgspice).
inline constexpr const char* kNgspiceSkipped =
    "SKIPPED: ngspice not found (MEMSPICE_SKIP_NGSPICE=1)";

inline bool HaveNgspice() {
  std::string path;
  if (ngspice::FindNgspice("ngspice", &path).ok()) return true;
  const char* skip = std::getenv("MEMSPICE_SKIP_NGSPICE");
  if (skip != nullptr && std::string(skip) == "1") {
    std::cout << kNgspiceSkipped << std::endl;
  } else {
    BOOST_ERROR(
        "ngspice not found on PATH; run scripts/install-deps.sh "
        "(or set MEMSPICE_SKIP_NGSPICE=1 to skip the comparisons)");
  }
  return false;
}

}  // namespace memspice::testing

#endif  // MEMSPICE_TESTS_TEST_UTIL_H_
