#include "io/atomic_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

namespace memspice::io {
namespace {

namespace fs = std::filesystem;

// Buffered bytes are written out once the buffer holds this much.
constexpr size_t kFlushBytes = 1 << 20;
// Open AtomicFiles tracked for removal on a signal; more concurrent files are still atomic, they
// are just not cleaned up by a signal.
constexpr int kMaxTracked = 64;
// Longest temporary path kept for the signal handler (PATH_MAX on Linux).
constexpr size_t kMaxTrackedPath = 4096;
// A destination name longer than this gets a short fixed temporary name (NAME_MAX is 255).
constexpr size_t kMaxNameForTemp = 200;

struct TrackedTemp {
  std::atomic<bool> claimed{false};  // slot owned by an AtomicFile
  std::atomic<bool> ready{false};    // path filled in: the signal handler may use it
  char path[kMaxTrackedPath];
};
TrackedTemp g_tracked[kMaxTracked];

int Track(const std::string& temp) {
  if (temp.size() >= kMaxTrackedPath) return -1;
  for (int i = 0; i < kMaxTracked; ++i) {
    if (!g_tracked[i].claimed.exchange(true)) {
      std::memcpy(g_tracked[i].path, temp.c_str(), temp.size() + 1);
      g_tracked[i].ready.store(true);
      return i;
    }
  }
  return -1;
}

void Untrack(int slot) {
  if (slot < 0) return;
  g_tracked[slot].ready.store(false);
  g_tracked[slot].claimed.store(false);
}

extern "C" void RemoveTempsAndReraise(int sig) {
  for (auto& t : g_tracked) {
    if (t.ready.load()) ::unlink(t.path);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

// Mode for a new file: what open(..., 0666) would give under the current umask.
mode_t NewFileMode() {
  static const mode_t mode = [] {
    const mode_t mask = ::umask(022);
    ::umask(mask);
    return static_cast<mode_t>(0666 & ~mask);
  }();
  return mode;
}

std::string Describe(int err) { return std::strerror(err); }

}  // namespace

AtomicFile::~AtomicFile() { Abandon(); }

Status AtomicFile::Fail(const std::string& what, int err) {
  error_ = Status::Error(fmt::format("cannot {} '{}': {}", what, path_, Describe(err)),
                         err == ENOSPC ? "the disk is full; the previous file (if any) is kept"
                                       : "the previous file (if any) is kept");
  Abandon();
  return error_;
}

Status AtomicFile::Open(const std::string& path) {
  Abandon();
  path_ = path;
  error_ = Status::Ok();
  size_ = 0;
  buffer_.clear();
  if (path.empty()) return error_ = Status::Error("empty output file name");
  const fs::path p(path);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    return error_ = Status::Error(fmt::format("cannot write '{}': it is a folder", path),
                                  "give a file name, e.g. " + (p / "out.csv").string());
  }
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    return error_ = Status::Error(
               fmt::format("cannot write '{}': folder '{}' does not exist", path, dir.string()),
               "create it first (mkdir -p)");
  }
  const std::string name = p.filename().string();
  const std::string stem = name.size() > kMaxNameForTemp ? "memspice" : name;
  std::string templ = (dir / ("." + stem + ".tmp-XXXXXX")).string();
  fd_ = ::mkstemp(templ.data());
  if (fd_ < 0) {
    const int err = errno;
    return error_ = Status::Error(fmt::format("cannot write '{}': {} (creating a file in '{}')",
                                              path, Describe(err), dir.string()),
                                  err == EACCES || err == EROFS ? "choose a writable folder" : "");
  }
  temp_ = templ;
  slot_ = Track(temp_);
  struct stat st;
  const mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : NewFileMode();
  ::fchmod(fd_, mode);
  return Status::Ok();
}

Status AtomicFile::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status::Ok();
}

Status AtomicFile::Write(std::string_view data) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return error_ = Status::Error("internal: AtomicFile::Write before Open");
  buffer_.append(data);
  size_ += data.size();
  if (buffer_.size() >= kFlushBytes) return Flush();
  return Status::Ok();
}

Status AtomicFile::WriteAt(uint64_t offset, std::string_view data) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return error_ = Status::Error("internal: AtomicFile::WriteAt before Open");
  if (offset + data.size() > size_) {
    return error_ = Status::Error("internal: AtomicFile::WriteAt past the end of the data");
  }
  if (Status s = Flush(); !s.ok()) return s;
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("write", errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status AtomicFile::Commit() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return error_ = Status::Error("internal: AtomicFile::Commit before Open");
  if (Status s = Flush(); !s.ok()) return s;
  if (::fsync(fd_) != 0) return Fail("sync", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return Fail("close", errno);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) return Fail("replace", errno);
  Untrack(slot_);
  slot_ = -1;
  temp_.clear();
  // Make the rename itself durable; a failure here does not lose data, so it is not reported.
  const fs::path dir = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path() : ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

void AtomicFile::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
  Untrack(slot_);
  slot_ = -1;
  buffer_.clear();
}

Status WriteFileAtomic(const std::string& path, std::string_view contents) {
  AtomicFile f;
  if (Status s = f.Open(path); !s.ok()) return s;
  if (Status s = f.Write(contents); !s.ok()) return s;
  return f.Commit();
}

void RemoveTempFilesOnSignal() {
  struct sigaction sa {};
  sa.sa_handler = RemoveTempsAndReraise;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

}  // namespace memspice::io
