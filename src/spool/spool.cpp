#include "spool/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include "spool/posix_io.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::spool {

namespace fs = std::filesystem;

namespace {

constexpr mode_t dir_mode = 0750;
constexpr mode_t file_mode = 0640;
// An envelope with the maximum recipients is a few KiB; anything this big is damage.
constexpr std::size_t max_envelope_size = 1 << 20;

void warn(const std::string& message) {
    util::log_warning("spool", message);
}

// mkdir -p with our mode; fsyncs the parent of each directory it creates so the layout itself
// survives a crash.
util::Status make_dirs(const fs::path& path) {
    fs::path prefix;
    for (const auto& part : path) {
        prefix /= part;
        bool created = false;
        if (auto st = posix::make_dir(prefix.string(), dir_mode, created); !st) return st;
        if (!created) continue;
        const fs::path parent = prefix.has_parent_path() ? prefix.parent_path() : fs::path(".");
        if (auto st = posix::fsync_dir(parent.string()); !st) return st;
    }
    return {};
}

util::Status probe_writable(const fs::path& tmp) {
    const std::string probe = (tmp / ".probe").string();
    auto fd = posix::open_fd(probe, O_WRONLY | O_CREAT | O_TRUNC, file_mode);
    if (!fd) return fd.error();
    auto st = posix::write_all(fd->get(), "probe\n", probe);
    if (st) st = fd->close(probe);
    if (auto un = posix::unlink_file(probe); st && !un) st = un;
    return st;
}

// What recover() found under one name in incoming/.
struct Entry {
    bool msg = false;
    bool env = false;
};

// Splits "<id>.msg" / "<id>.env"; anything else is not ours.
bool split_name(const std::string& name, std::string& id, std::string& ext) {
    const auto dot = name.rfind('.');
    if (dot == std::string::npos) return false;
    id = name.substr(0, dot);
    ext = name.substr(dot + 1);
    return is_valid_id(id) && (ext == "msg" || ext == "env");
}

// Empty when the committed pair is good, else why it is not.
std::string check_committed(const fs::path& env_path, const std::string& id) {
    auto text = posix::read_file(env_path.string(), max_envelope_size);
    if (!text) return text.error().message;
    auto envelope = parse_envelope(*text);
    if (!envelope) return envelope.error().message;
    if (envelope->id != id) return "envelope id " + envelope->id + " does not match file name";
    return {};
}

}  // namespace

struct Spool::FlushClock {
    mutable std::mutex mu;
    mutable std::condition_variable cv;
    std::uint64_t begun = 0;  // covering flushes begun, numbered from 1
    std::uint64_t ended = 0;  // the highest number of those that ended well
    std::chrono::steady_clock::time_point last_begun{};
};

struct Spool::Pool {
    std::mutex mu;
    std::vector<std::string> files;  // paths under tmp/
    std::uint64_t next = 0;
};

Spool::Spool(fs::path root, util::Clock& clock, util::Random& random)
    : root_(std::move(root)),
      clock_(&clock),
      random_(&random),
      flushes_(std::make_unique<FlushClock>()),
      pool_(std::make_unique<Pool>()) {}

Spool::Spool(Spool&& other) noexcept
    : root_(std::move(other.root_)),
      clock_(other.clock_),
      random_(other.random_),
      last_micros_(other.last_micros_.load()),
      flushes_(std::move(other.flushes_)),
      pool_(std::move(other.pool_)) {}

Spool::~Spool() = default;

util::Result<posix::Fd> Spool::create_file(std::string& path, mode_t mode, bool& recycled,
                                           bool exclusive) {
    recycled = false;
    for (;;) {
        std::string pooled;
        {
            std::lock_guard lock(pool_->mu);
            if (pool_->files.empty()) break;
            pooled = std::move(pool_->files.back());
            pool_->files.pop_back();
        }
        // Any failure here only costs the pooled file: a new one is made instead.
        auto fd = posix::open_fd(pooled, O_WRONLY);
        if (fd && ::fchmod(fd->get(), mode) == 0) {
            recycled = true;
            path = std::move(pooled);
            return fd;
        }
        (void)posix::unlink_file(pooled);
    }
    return posix::open_fd(path, O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), mode);
}

util::Status Spool::retire_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return posix::sys_error("stat", path, errno);
    }
    std::string pooled;
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) <= max_pooled_size) {
        std::lock_guard lock(pool_->mu);
        if (pool_->files.size() < max_pooled)
            pooled = util::cat(tmp_dir().string(), "/pool-", std::to_string(::getpid()), "-",
                               std::to_string(pool_->next++));
    }
    if (!pooled.empty() && ::rename(path.c_str(), pooled.c_str()) == 0) {
        std::lock_guard lock(pool_->mu);
        pool_->files.push_back(std::move(pooled));
        return {};
    }
    return posix::unlink_file(path);
}

std::uint64_t Spool::flush_ticket() const {
    std::lock_guard lock(flushes_->mu);
    return flushes_->begun;
}

bool Spool::wait_flushed(std::uint64_t ticket, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(flushes_->mu);
    if (flushes_->ended > ticket) return true;
    if (std::chrono::steady_clock::now() - flushes_->last_begun > timeout) return false;
    // Flush number ticket + 1 and later began after the ticket was taken.
    return flushes_->cv.wait_for(lock, timeout, [&] { return flushes_->ended > ticket; });
}

bool Spool::flushed_lately(std::chrono::milliseconds within) const {
    std::lock_guard lock(flushes_->mu);
    return flushes_->begun > 0 && std::chrono::steady_clock::now() - flushes_->last_begun <= within;
}

std::uint64_t Spool::begin_flush() {
    std::lock_guard lock(flushes_->mu);
    flushes_->last_begun = std::chrono::steady_clock::now();
    return ++flushes_->begun;
}

void Spool::end_flush(std::uint64_t flush) {
    {
        std::lock_guard lock(flushes_->mu);
        flushes_->ended = std::max(flushes_->ended, flush);
    }
    flushes_->cv.notify_all();
}

util::Status Spool::flush() {
    auto dir = posix::open_dir(outgoing_dir().string());
    if (!dir) return dir.error();
    const std::uint64_t n = begin_flush();
    if (auto st = posix::syncfs_fd(dir->get(), outgoing_dir().string()); !st) return st;
    if (auto st = posix::fsync_fd(dir->get(), outgoing_dir().string()); !st) return st;
    end_flush(n);
    return {};
}

util::Result<Spool> Spool::open(fs::path root, util::Clock& clock, util::Random& random) {
    Spool spool(std::move(root), clock, random);
    util::Status st = make_dirs(spool.root_);
    for (const auto& dir :
         {spool.tmp_dir(), spool.incoming_dir(), spool.corrupt_dir(), spool.outgoing_dir()}) {
        if (st) st = make_dirs(dir);
    }
    if (st) st = probe_writable(spool.tmp_dir());
    if (!st) {
        return util::Error::temporary("spool " + spool.root_.string() +
                                      " is not writable: " + st.error().message);
    }
    return spool;
}

std::string Spool::new_id() {
    using namespace std::chrono;
    const auto now = duration_cast<microseconds>(clock_->now().time_since_epoch()).count();
    const std::uint64_t wanted = now > 0 ? static_cast<std::uint64_t>(now) : 0;
    std::uint64_t last = last_micros_.load();
    std::uint64_t mine = 0;
    do {
        mine = std::max(wanted, last + 1);
    } while (!last_micros_.compare_exchange_weak(last, mine));
    std::uint8_t r[3];
    random_->bytes(r);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%014" PRIx64 "%02x%02x%02x", mine, unsigned{r[0]},
                  unsigned{r[1]}, unsigned{r[2]});
    return buf;
}

util::Result<std::uint64_t> Spool::free_space() const {
    struct statvfs st {};
    if (::statvfs(root_.c_str(), &st) != 0)
        return posix::sys_error("statvfs", root_.string(), errno);
    return static_cast<std::uint64_t>(st.f_bavail) * static_cast<std::uint64_t>(st.f_frsize);
}

std::vector<std::string> Spool::incoming_ids() const {
    std::vector<std::string> ids;
    std::error_code ec;
    for (fs::directory_iterator it(incoming_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        std::string id, ext;
        if (split_name(it->path().filename().string(), id, ext) && ext == "env") {
            ids.push_back(std::move(id));
        }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

util::Result<RecoveryReport> Spool::recover() {
    RecoveryReport report;
    if (auto st = clear_tmp(report); !st) return st.error();
    if (auto st = scan_incoming(report); !st) return st.error();
    util::log_info("spool", "recovered " + root_.string() + ": " +
                                std::to_string(report.committed) + " committed, " +
                                std::to_string(report.removed_partial) + " partial removed, " +
                                std::to_string(report.moved_corrupt) + " moved to corrupt/");
    return report;
}

// Nothing in tmp/ was ever acknowledged: a writer only answers after the rename into incoming/.
util::Status Spool::clear_tmp(RecoveryReport& report) {
    std::error_code ec;
    std::vector<fs::path> leftovers;
    for (fs::directory_iterator it(tmp_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        leftovers.push_back(it->path());
    }
    if (ec) return posix::sys_error("readdir", tmp_dir().string(), ec.value());
    for (const auto& path : leftovers) {
        fs::remove_all(path, ec);
        if (ec) return posix::sys_error("remove", path.string(), ec.value());
        // Pooled files (create_file) were never anything: not counted as partial.
        if (!path.filename().string().starts_with("pool-")) ++report.removed_partial;
    }
    if (leftovers.empty()) return {};
    return posix::fsync_dir(tmp_dir().string());
}

util::Status Spool::scan_incoming(RecoveryReport& report) {
    std::map<std::string, Entry> entries;
    std::error_code ec;
    for (fs::directory_iterator it(incoming_dir(), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        std::string id, ext;
        std::error_code type_ec;
        if (!split_name(name, id, ext) || !it->is_regular_file(type_ec)) {
            warn("unexpected file left alone: " + it->path().string());
            continue;
        }
        (ext == "msg" ? entries[id].msg : entries[id].env) = true;
    }
    if (ec) return posix::sys_error("readdir", incoming_dir().string(), ec.value());

    std::size_t changed = 0;
    for (const auto& [id, entry] : entries) {
        const fs::path base = incoming_dir() / id;
        if (!entry.env) {  // the writer crashed between the two renames: never acknowledged
            if (auto st = posix::unlink_file(base.string() + ".msg"); !st) return st;
            ++report.removed_partial;
            ++changed;
            continue;
        }
        const std::string reason =
            entry.msg ? check_committed(base.string() + ".env", id) : "envelope without message";
        if (reason.empty()) {
            ++report.committed;
            continue;
        }
        if (auto st = move_to_corrupt(id, reason, entry.msg); !st) return st;
        ++report.moved_corrupt;
        ++changed;
    }
    if (changed == 0) return {};
    // The new names in corrupt/ are made durable before the old ones are known to be gone.
    if (report.moved_corrupt > 0) {
        if (auto st = posix::fsync_dir(corrupt_dir().string()); !st) return st;
    }
    return posix::fsync_dir(incoming_dir().string());
}

// Reason first, then .msg, then .env: if we crash half-way, the next recover() sees an .env
// without .msg (moved again, reason appended) rather than a .msg without .env (deleted).
util::Status Spool::move_to_corrupt(const std::string& id, const std::string& reason,
                                    bool has_msg) {
    const std::string from = (incoming_dir() / id).string();
    const std::string to = (corrupt_dir() / id).string();
    auto fd = posix::open_fd(to + ".reason", O_WRONLY | O_CREAT | O_APPEND, file_mode);
    if (!fd) return fd.error();
    if (auto st = posix::write_all(fd->get(), reason + "\n", to + ".reason"); !st) return st;
    if (auto st = posix::fsync_fd(fd->get(), to + ".reason"); !st) return st;
    if (auto st = fd->close(to + ".reason"); !st) return st;
    if (has_msg) {
        if (auto st = posix::rename_file(from + ".msg", to + ".msg"); !st) return st;
    }
    if (auto st = posix::rename_file(from + ".env", to + ".env"); !st) return st;
    warn(id + ": moved to corrupt/: " + reason);
    return {};
}

std::vector<std::string> Spool::corrupt_ids() const {
    std::set<std::string> ids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(corrupt_dir(), ec)) {
        const fs::path& p = e.path();
        if ((p.extension() == ".msg" || p.extension() == ".env" || p.extension() == ".reason") &&
            is_valid_id(p.stem().string()))
            ids.insert(p.stem().string());
    }
    return {ids.begin(), ids.end()};
}

util::Status Spool::requeue(const std::string& id) {
    if (!is_valid_id(id)) return util::Error::permanent("invalid spool id");
    const std::string from = (corrupt_dir() / id).string();
    const std::string to = (incoming_dir() / id).string();
    std::error_code ec;
    if (!fs::exists(from + ".msg", ec))
        return util::Error::permanent(id + ": no message in corrupt/");
    auto text = posix::read_file(from + ".env", 64 << 10);
    if (!text) return util::Error::permanent(id + ": envelope: " + text.error().message);
    if (auto env = parse_envelope(*text); !env)
        return util::Error::permanent(id + ": envelope: " + env.error().message);
    if (auto st = posix::rename_file(from + ".msg", to + ".msg"); !st) return st;
    if (auto st = posix::rename_file(from + ".env", to + ".env"); !st) return st;
    if (auto st = posix::fsync_dir(incoming_dir().string()); !st) return st;
    if (auto st = posix::unlink_file(from + ".reason"); !st) return st;
    return posix::fsync_dir(corrupt_dir().string());
}

util::Result<Envelope> Spool::read_envelope(const std::string& id) const {
    if (!is_valid_id(id)) return util::Error::permanent("invalid spool id");
    auto text = posix::read_file((incoming_dir() / (id + ".env")).string(), 64 << 10);
    if (!text) return text.error();
    return parse_envelope(*text);
}

util::Result<std::string> Spool::read_message(const std::string& id, std::size_t limit) const {
    if (!is_valid_id(id)) return util::Error::permanent("invalid spool id");
    auto text = posix::read_file((incoming_dir() / (id + ".msg")).string(), limit);
    std::error_code ec;
    if (!text && !fs::exists(incoming_dir() / (id + ".msg"), ec) && !ec &&
        fs::exists(corrupt_dir() / (id + ".msg"), ec))
        return util::Error::permanent(
            "its message is in corrupt/ already: a quarantine was "
            "interrupted after moving it");
    return text;
}

util::Status Spool::remove_incoming(const std::vector<std::string>& ids, bool sync_dir) {
    util::Status first_error;  // one stuck message does not keep the others
    for (const std::string& id : ids) {
        const std::string base = (incoming_dir() / id).string();
        util::Status st = retire_file(base + ".env");
        if (st) st = retire_file(base + ".msg");
        if (!st && first_error) first_error = st;
    }
    if (ids.empty() || !sync_dir) return first_error;
    if (auto st = posix::fsync_dir(incoming_dir().string()); !st) return st;
    return first_error;
}

util::Status Spool::quarantine(const std::string& id, const std::string& reason) {
    // After an interrupted quarantine (see read_message) only the .env is left to move.
    std::error_code ec;
    const bool has_msg = fs::exists(incoming_dir() / (id + ".msg"), ec) || ec;
    if (auto st = move_to_corrupt(id, reason, has_msg); !st) return st;
    if (auto st = posix::fsync_dir(corrupt_dir().string()); !st) return st;
    return posix::fsync_dir(incoming_dir().string());
}

}  // namespace referent::spool
