// spool/posix_io.hpp — internal to spool/: the raw POSIX calls the durable path is made of.
//
// Contract: thin wrappers over open/write/fsync/rename/unlink/mkdir that retry EINTR and turn
// failures into temporary Errors worded "<call> <path>: <strerror>" (a full or failing disk may
// recover, so the client is told to retry). They are plain libc calls on purpose: the fault
// tests inject failures with libfiu's LD_PRELOAD wrappers (posix/io/sync/fsync, ...), and
// std::ofstream cannot fsync. No buffering, no hidden state; thread-safe as the syscalls are.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace referent::spool::posix {

util::Error sys_error(std::string_view call, std::string_view path, int err);

// Owns a file descriptor; closes it (ignoring errors) unless close() was called.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release();
    // close(2) can report a deferred write error (EIO, ENOSPC on some file systems).
    util::Status close(std::string_view path);

private:
    int fd_ = -1;
};

util::Result<Fd> open_fd(const std::string& path, int flags, mode_t mode = 0);
util::Result<Fd> open_dir(const std::string& path);
// Loops until every byte is written: short writes and EINTR are not errors.
util::Status write_all(int fd, std::string_view data, std::string_view path);
util::Status fsync_fd(int fd, std::string_view path);
util::Status truncate_fd(int fd, std::uint64_t size, std::string_view path);
// Flushes the whole file system holding `fd`. Since Linux 5.8 it reports any writeback error
// that happened on that file system since the descriptor was opened or last synced.
util::Status syncfs_fd(int fd, std::string_view path);
util::Status fsync_dir(const std::string& path);
// fdatasync(2) of a file written by someone else (another descriptor, another library): the
// bytes written through any descriptor of that inode are durable when it returns.
util::Status fdatasync_path(const std::string& path);
util::Status rename_file(const std::string& from, const std::string& to);
// ENOENT counts as success: the goal is "the file is gone".
util::Status unlink_file(const std::string& path);
// Creates `path` with `mode` if absent; an existing directory is fine. Sets `created`.
util::Status make_dir(const std::string& path, mode_t mode, bool& created);
// Reads at most `limit` bytes; a longer file is an error (bounded input).
util::Result<std::string> read_file(const std::string& path, std::size_t limit);
// Reads the first `n` bytes, or the whole file if it is shorter: a header ahead of a large body.
util::Result<std::string> read_prefix(const std::string& path, std::size_t n);

}  // namespace referent::spool::posix
