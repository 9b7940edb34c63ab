#include "spool/posix_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace referent::spool::posix {

util::Error sys_error(std::string_view call, std::string_view path, int err) {
    std::string msg(call);
    msg.append(" ").append(path).append(": ").append(std::strerror(err));
    return util::Error::temporary(std::move(msg));
}

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
}

util::Status Fd::close(std::string_view path) {
    const int fd = release();
    // On Linux the descriptor is gone even when close() reports EINTR: never retry it.
    if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) return sys_error("close", path, errno);
    return {};
}

util::Result<Fd> open_fd(const std::string& path, int flags, mode_t mode) {
    int fd;
    do {
        fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return sys_error("open", path, errno);
    return Fd(fd);
}

util::Result<Fd> open_dir(const std::string& path) {
    return open_fd(path, O_RDONLY | O_DIRECTORY);
}

util::Status write_all(int fd, std::string_view data, std::string_view path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("write", path, errno);
        if (n == 0) return sys_error("write", path, EIO);  // cannot progress: never loop forever
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

util::Status fsync_fd(int fd, std::string_view path) {
    int rc;
    do {
        rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_error("fsync", path, errno);
    return {};
}

util::Status fdatasync_path(const std::string& path) {
    auto fd = open_fd(path, O_RDONLY | O_CLOEXEC);
    if (!fd) return fd.error();
    int rc;
    do {
        rc = ::fdatasync(fd->get());
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_error("fdatasync", path, errno);
    return fd->close(path);
}

util::Status syncfs_fd(int fd, std::string_view path) {
    int rc;
    do {
        rc = ::syncfs(fd);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_error("syncfs", path, errno);
    return {};
}

util::Status truncate_fd(int fd, std::uint64_t size, std::string_view path) {
    int rc = 0;
    do {
        rc = ::ftruncate(fd, static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_error("ftruncate", path, errno);
    return {};
}

util::Status fsync_dir(const std::string& path) {
    auto dir = open_dir(path);
    if (!dir) return dir.error();
    if (auto st = fsync_fd(dir->get(), path); !st) return st;
    return dir->close(path);
}

util::Status rename_file(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) return sys_error("rename", from, errno);
    return {};
}

util::Status unlink_file(const std::string& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error("unlink", path, errno);
    return {};
}

util::Status make_dir(const std::string& path, mode_t mode, bool& created) {
    created = false;
    if (::mkdir(path.c_str(), mode) == 0) {
        created = true;
        return {};
    }
    const int err = errno;
    struct stat st {};
    if (err == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return sys_error("mkdir", path, err == EEXIST ? ENOTDIR : err);
}

util::Result<std::string> read_file(const std::string& path, std::size_t limit) {
    auto fd = open_fd(path, O_RDONLY | O_CLOEXEC);
    if (!fd) return fd.error();
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return sys_error("fstat", path, errno);
    const auto expected = static_cast<std::uint64_t>(st.st_size > 0 ? st.st_size : 0);
    if (expected > limit) return sys_error("read", path, EFBIG);
    // Sized once from fstat and read straight into place (a 10 MB message is not grown and
    // copied step by step), with one octet more to see the end; a file that grew meanwhile is
    // read on, within the limit.
    const std::size_t cap = limit == SIZE_MAX ? limit : limit + 1;
    std::string out(static_cast<std::size_t>(expected) + (expected < cap ? 1 : 0), '\0');
    std::size_t got = 0;
    for (;;) {
        if (got == out.size())
            out.resize(std::min(cap, std::max<std::size_t>(out.size() * 2, 8192)));
        const ssize_t n = ::read(fd->get(), out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("read", path, errno);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
        if (got > limit) return sys_error("read", path, EFBIG);
    }
    out.resize(got);
    return out;
}

util::Result<std::string> read_prefix(const std::string& path, std::size_t n) {
    auto fd = open_fd(path, O_RDONLY);
    if (!fd) return fd.error();
    std::string out(n, '\0');
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::read(fd->get(), out.data() + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return sys_error("read", path, errno);
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

}  // namespace referent::spool::posix
