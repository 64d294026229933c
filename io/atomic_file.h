// Atomic output files: every result file (CSV, raw, JSON, metrics, exported decks) is written to a
// temporary file in the destination's folder and renamed over the destination only when complete.
// A reader, or a later run, sees either the previous complete file or the new complete one; an
// interruption (error, kill, full disk) never leaves an empty or half-written result.
//
//   AtomicFile out;
//   if (Status s = out.Open("run/params.json"); !s.ok()) return s;   // fails early if unwritable
//   out.Write(text);                                                 // buffered
//   return out.Commit();                                             // flush, fsync, rename
//
// The temporary file is ".NAME.tmp-XXXXXX" next to NAME. It is removed if the AtomicFile is
// destroyed without Commit(), and (after RemoveTempFilesOnSignal()) when the process is stopped
// by SIGINT, SIGTERM or SIGHUP. A new file gets the mode an ordinary create would give (0666 minus
// the umask); replacing a file keeps the old file's mode.
#ifndef MEMSPICE_IO_ATOMIC_FILE_H_
#define MEMSPICE_IO_ATOMIC_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace memspice::io {

class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Creates the temporary file next to `path`. Errors name the path and the reason (missing
  // folder, no permission, `path` is a folder).
  Status Open(const std::string& path);
  // Appends bytes (buffered). After the first error every call returns that error.
  Status Write(std::string_view data);
  // Overwrites bytes already written at `offset` (e.g. a count in a header written up front).
  Status WriteAt(uint64_t offset, std::string_view data);
  // Writes the buffered bytes to the temporary file (for another process to read it).
  Status Flush();
  // Bytes written so far.
  uint64_t size() const { return size_; }
  // Flushes, syncs and renames the temporary file over the destination.
  Status Commit();
  // Removes the temporary file; the destination is left as it was. Called by the destructor.
  void Abandon();

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  Status Fail(const std::string& what, int err);

  std::string path_, temp_;
  int fd_ = -1;
  int slot_ = -1;  // entry in the signal-cleanup table
  std::string buffer_;
  uint64_t size_ = 0;
  Status error_ = Status::Ok();
};

// Writes `contents` to `path` atomically (temporary file + rename).
Status WriteFileAtomic(const std::string& path, std::string_view contents);

// Installs SIGINT/SIGTERM/SIGHUP handlers that remove the temporary files of every open
// AtomicFile and then end the process by the same signal (exit status 128 + signal). Commands
// that handle these signals themselves (training checkpoints) do not call this.
void RemoveTempFilesOnSignal();

}  // namespace memspice::io

#endif  // MEMSPICE_IO_ATOMIC_FILE_H_
