#include "ngspice/runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/strings.h"
#include "io/raw_file.h"
#include "netlist/netlist.h"

namespace memspice::ngspice {
namespace {

namespace fs = std::filesystem;

using base::Lower;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  if (f) ss << f.rdbuf();
  return ss.str();
}

// The lines of ngspice's output worth showing when it fails: errors and warnings first.
std::string ErrorLines(const std::string& out, const std::string& err) {
  std::vector<std::string> picked;
  auto scan = [&](const std::string& text, bool all) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      std::string l = Lower(line);
      bool blank = l.find_first_not_of(" \t\r") == std::string::npos;
      if (blank) continue;
      if (l.find("no resource usage") != std::string::npos) continue;
      if (l.find("or no active circuit") != std::string::npos) continue;
      if (all || l.find("error") != std::string::npos || l.find("abort") != std::string::npos ||
          l.find("too small") != std::string::npos || l.find("singular") != std::string::npos) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        picked.push_back(line);
      }
    }
  };
  scan(err, true);
  scan(out, false);
  if (picked.size() > 25) picked.resize(25);
  std::string s;
  for (const auto& l : picked) s += "\n  ngspice: " + l;
  return s;
}

}  // namespace

std::string NormalizeNgspiceName(const std::string& name) {
  return netlist::CanonicalSignalName(name);
}

void NormalizeNgspiceNames(io::WaveformTable* table) {
  for (auto& n : table->names) n = NormalizeNgspiceName(n);
}

Status FindNgspice(const std::string& executable, std::string* path) {
  auto runnable = [](const std::string& p) {
    return ::access(p.c_str(), X_OK) == 0 && !fs::is_directory(p);
  };
  if (executable.find('/') != std::string::npos) {
    if (runnable(executable)) {
      *path = executable;
      return Status::Ok();
    }
    return Status::Error(
        fmt::format("ngspice executable '{}' not found or not executable", executable),
        "install ngspice (e.g. apt-get install ngspice) or pass its path");
  }
  const char* env = std::getenv("PATH");
  std::string dirs = env ? env : "/usr/local/bin:/usr/bin:/bin";
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    std::string p = (fs::path(dir.empty() ? std::string(".") : dir) / executable).string();
    if (runnable(p)) {
      *path = p;
      return Status::Ok();
    }
  }
  return Status::Error(fmt::format("'{}' not found on PATH", executable),
                       "install ngspice 39 (apt-get install ngspice) or give the executable path");
}

namespace {

// How the ngspice process ended.
struct ChildExit {
  int exec_errno = 0;  // != 0: execv (or the redirections before it) failed with this errno
  int wstatus = 0;     // waitpid status
  bool timed_out = false;
};

// A fresh temporary directory for ngspice's files.
Status MakeWorkDir(std::string* work) {
  std::error_code ec;
  std::string tmpl = (fs::temp_directory_path(ec) / "memspice-ngspice-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return Status::Error(
        fmt::format("cannot create a temporary directory: {}", std::strerror(errno)));
  }
  *work = buf.data();
  return Status::Ok();
}

// In the child: stdin from /dev/null, stdout and stderr to files, the deck's folder as working
// directory, then ngspice. Reports a failure's errno through `report` (close-on-exec).
[[noreturn]] void ExecNgspice(const std::vector<std::string>& args, const std::string& dir,
                              const std::string& out_path, const std::string& err_path,
                              int report) {
  ::setpgid(0, 0);  // own process group so a timeout kills ngspice and anything it started
  int in = ::open("/dev/null", O_RDONLY);
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (in >= 0 && out >= 0 && err >= 0 && ::dup2(in, 0) >= 0 && ::dup2(out, 1) >= 0 &&
      ::dup2(err, 2) >= 0 && ::chdir(dir.c_str()) == 0) {
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
  }
  int e = errno;
  (void)!::write(report, &e, sizeof e);
  ::_exit(127);
}

// Runs `args` (args[0] the executable) in `dir` and waits for it, killing its process group after
// `timeout` seconds; `seconds` receives the wall time.
Status RunChild(const std::vector<std::string>& args, const std::string& dir,
                const std::string& out_path, const std::string& err_path, double timeout,
                ChildExit* exit, double* seconds) {
  // A close-on-exec pipe tells the parent whether exec itself failed.
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    return Status::Error(fmt::format("pipe failed: {}", std::strerror(errno)));
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(exec_pipe[0]);
    ::close(exec_pipe[1]);
    return Status::Error(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) ExecNgspice(args, dir, out_path, err_path, exec_pipe[1]);
  ::close(exec_pipe[1]);
  int child_errno = 0;
  ssize_t got = ::read(exec_pipe[0], &child_errno, sizeof child_errno);
  ::close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof child_errno)) exit->exec_errno = child_errno;
  while (true) {
    pid_t w = ::waitpid(pid, &exit->wstatus, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed > timeout) {
      exit->timed_out = true;
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &exit->wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(elapsed < 1.0 ? 2 : 20));
  }
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return Status::Ok();
}

}  // namespace

Status RunNgspice(const std::string& deck_path, const NgspiceOptions& options,
                  NgspiceResult* result) {
  *result = NgspiceResult();
  std::string exe;
  Status found = FindNgspice(options.executable, &exe);
  if (!found.ok()) return found;
  std::error_code ec;
  fs::path deck = fs::absolute(deck_path, ec);
  if (ec || !fs::is_regular_file(deck)) {
    return Status::Error(fmt::format("deck '{}' not found", deck_path));
  }
  if (!(options.timeout_seconds > 0)) {
    return Status::Error(
        fmt::format("ngspice timeout must be > 0 s, got {}", options.timeout_seconds));
  }
  std::string work;
  if (Status s = MakeWorkDir(&work); !s.ok()) return s;
  result->work_dir = work;
  const std::string raw = work + "/out.raw";
  const std::string out_path = work + "/stdout.txt";
  const std::string err_path = work + "/stderr.txt";
  auto cleanup = [&]() {
    if (!options.keep_files) fs::remove_all(work, ec);
  };

  ChildExit child;
  Status run = RunChild({exe, "-b", "-r", raw, deck.string()}, deck.parent_path().string(),
                        out_path, err_path, options.timeout_seconds, &child, &result->seconds);
  if (!run.ok()) {
    cleanup();
    return run;
  }
  result->stdout_text = ReadWholeFile(out_path);
  result->stderr_text = ReadWholeFile(err_path);

  if (child.exec_errno != 0) {
    cleanup();
    return Status::Error(
        fmt::format("cannot start ngspice '{}': {}", exe, std::strerror(child.exec_errno)));
  }
  if (child.timed_out) {
    cleanup();
    return Status::Error(
        fmt::format("ngspice timed out after {:.0f} s on '{}'", options.timeout_seconds, deck_path),
        "the deck may be too long for ngspice (reduce tstop or raise tmax) or ngspice hangs");
  }
  const int wstatus = child.wstatus;
  const bool exited_ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
  const bool have_raw = fs::exists(raw) && fs::file_size(raw, ec) > 0;
  if (!exited_ok || !have_raw) {
    std::string how = WIFSIGNALED(wstatus)
                          ? fmt::format("was killed by signal {}", WTERMSIG(wstatus))
                          : fmt::format("exited with status {}", WEXITSTATUS(wstatus));
    if (exited_ok) how = "wrote no results";
    std::string msg = fmt::format("ngspice {} on '{}'{}", how, deck_path,
                                  ErrorLines(result->stdout_text, result->stderr_text));
    cleanup();
    return Status::Error(msg,
                         "check that the deck is valid ngspice 39 input (run `ngspice -b` on it)");
  }
  Status s = io::ReadRaw(raw, &result->plots);
  cleanup();
  if (!s.ok()) return s;
  for (auto& p : result->plots) NormalizeNgspiceNames(&p);
  return Status::Ok();
}

Status RunNgspiceText(const std::string& deck_text, const std::string& directory,
                      const NgspiceOptions& options, NgspiceResult* result) {
  std::error_code ec;
  fs::path dir = directory.empty() ? fs::current_path(ec) : fs::path(directory);
  std::string tmpl = (dir / ".memspice-ngspice-deck-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    return Status::Error(fmt::format("cannot create a temporary deck in '{}': {}", dir.string(),
                                     std::strerror(errno)));
  }
  const std::string path = buf.data();
  size_t off = 0;
  while (off < deck_text.size()) {
    ssize_t n = ::write(fd, deck_text.data() + off, deck_text.size() - off);
    if (n <= 0) {
      ::close(fd);
      fs::remove(path, ec);
      return Status::Error(fmt::format("cannot write temporary deck '{}'", path));
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
  Status s = RunNgspice(path, options, result);
  if (options.keep_files && fs::is_directory(result->work_dir)) {
    fs::copy_file(path, fs::path(result->work_dir) / "deck.cir",
                  fs::copy_options::overwrite_existing, ec);
  }
  fs::remove(path, ec);
  return s;
}

}  // namespace memspice::ngspice
