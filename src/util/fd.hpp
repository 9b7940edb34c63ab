// util/fd.hpp — a file descriptor that is closed on every path, and open(2) without EINTR.
//
// Contract: Fd owns one descriptor (or -1) and closes it when destroyed, ignoring errors (a
// file only read, or one whose write already failed). close() is for files written: it reports
// a deferred write error (errno, 0 when fine; on Linux the descriptor is gone even on EINTR).
// open_retrying() retries EINTR and always adds O_CLOEXEC; it returns -1 with errno set.
// spool/posix_io.hpp keeps its own wrappers, which turn errors into Results for the spool.
// Thread-safety: an Fd belongs to one thread at a time.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

namespace referent::util {

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    int close() {
        const int fd = std::exchange(fd_, -1);
        return ::close(fd) == 0 || errno == EINTR ? 0 : errno;
    }

private:
    int fd_;
};

inline int open_retrying(const std::string& path, int flags, mode_t mode = 0) {
    int fd;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

}  // namespace referent::util
