#include "spool/message_file.hpp"

#include <utility>

#include "spool/spool.hpp"
#include "util/log.hpp"

namespace referent::spool {

namespace {

constexpr mode_t file_mode = 0640;  // as the writer's own files

}  // namespace

util::Result<MessageFile> MessageFile::create(Spool& spool, const std::string& id,
                                              std::string_view prefix) {
    MessageFile file;
    file.id_ = id;
    file.path_ = (spool.tmp_dir() / (id + ".msg")).string();
    auto fd = spool.create_file(file.path_, file_mode, file.recycled_);  // may set a pool name
    if (!fd) return fd.error();
    file.fd_ = std::move(*fd);
    file.owned_ = true;
    if (auto st = file.append(prefix); !st) return st.error();  // the destructor removes it
    return file;
}

util::Status MessageFile::append(std::string_view octets) {
    if (failed_ || !fd_.valid())
        return util::Error::temporary("write " + path_ + ": an earlier write failed");
    if (auto st = posix::write_all(fd_.get(), octets, path_); !st) {
        failed_ = true;
        return st;
    }
    size_ += octets.size();
    return {};
}

util::Result<posix::Fd> MessageFile::hand_off() {
    if (failed_ || !fd_.valid())
        return util::Error::temporary("write " + path_ + ": an earlier write failed");
    if (recycled_)
        if (auto st = posix::truncate_fd(fd_.get(), size_, path_); !st) return st.error();
    owned_ = false;
    return std::move(fd_);
}

MessageFile::MessageFile(MessageFile&& other) noexcept
    : id_(std::move(other.id_)),
      path_(std::move(other.path_)),
      fd_(std::move(other.fd_)),
      size_(other.size_),
      recycled_(other.recycled_),
      owned_(std::exchange(other.owned_, false)),
      failed_(other.failed_) {}

MessageFile& MessageFile::operator=(MessageFile&& other) noexcept {
    if (this != &other) {
        remove();
        id_ = std::move(other.id_);
        path_ = std::move(other.path_);
        fd_ = std::move(other.fd_);
        size_ = other.size_;
        recycled_ = other.recycled_;
        owned_ = std::exchange(other.owned_, false);
        failed_ = other.failed_;
    }
    return *this;
}

MessageFile::~MessageFile() {
    remove();
}

void MessageFile::remove() {
    fd_ = posix::Fd();
    if (!std::exchange(owned_, false)) return;
    if (auto st = posix::unlink_file(path_); !st)
        util::log_error("spool", id_ + ": cannot remove unfinished message: " + st.error().message);
}

}  // namespace referent::spool
