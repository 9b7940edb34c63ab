#include "relay/maildir_transport.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>

#include "relay/outbound_check.hpp"
#include "util/cat.hpp"
#include "util/fd.hpp"

namespace referent::relay {

namespace {

constexpr std::size_t kMaxName = 255;  // NAME_MAX of the usual file systems
constexpr int kNameTries = 16;  // O_EXCL collisions tolerated (a clock set back, a pid reused)

std::atomic<std::uint64_t> g_delivery_counter{0};

util::Error sys_error(std::string_view call, std::string_view shown, int err) {
    return util::Error::temporary(
        util::cat("maildir: ", call, " ", shown, ": ", std::strerror(err)));
}

using util::Fd;
using util::open_retrying;

// An existing directory is fine; `created` tells whether its parent must be made durable.
util::Status make_dir(const std::string& path, std::string_view shown, bool& created) {
    if (::mkdir(path.c_str(), 0700) == 0) {
        created = true;
        return {};
    }
    if (errno == EEXIST) return {};
    return sys_error("mkdir", shown, errno);
}

util::Status fsync_dir(const std::string& path, std::string_view shown) {
    Fd fd(open_retrying(path, O_RDONLY | O_DIRECTORY));
    if (fd.get() < 0) return sys_error("open", shown, errno);
    int rc;
    do {
        rc = ::fsync(fd.get());
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return sys_error("fsync", shown, errno);
    return {};
}

util::Status write_all(int fd, std::string_view data, std::string_view shown) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return sys_error("write", shown, errno);
        if (n == 0) return sys_error("write", shown, EIO);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Why `address` cannot name a directory, or nullopt. refusal() has already excluded control
// octets (NUL among them) and the empty address.
std::optional<std::string_view> unsafe_directory_name(std::string_view address) {
    if (address.find('/') != std::string_view::npos) return "contains '/'";
    if (address.find('\0') != std::string_view::npos) return "contains NUL";
    if (address.starts_with('.')) return "starts with '.'";
    if (address.size() > kMaxName) return "is longer than 255 octets";
    return std::nullopt;
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// The Maildir convention escapes '/' and ':' in the host part of a name.
std::string escaped_hostname(std::string_view hostname) {
    if (hostname.empty()) return "localhost";
    std::string out;
    for (char c : hostname) {
        if (c == '/')
            out += "\\057";
        else if (c == ':')
            out += "\\072";
        else
            out += c;
    }
    return out;
}

util::Status make_dirs(const std::string& path) {
    std::size_t at = path.find_first_not_of('/');
    while (at != std::string::npos) {
        const std::size_t end = path.find('/', at);
        const std::string prefix = path.substr(0, end);
        if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
            return util::Error::permanent(util::cat("mkdir ", prefix, ": ", std::strerror(errno)));
        at = end == std::string::npos ? end : path.find_first_not_of('/', end);
    }
    return {};
}

}  // namespace

MaildirTransport::MaildirTransport(std::string root, std::string hostname, const util::Clock& clock)
    : root_(std::move(root)), hostname_(escaped_hostname(hostname)), clock_(clock) {}

DeliveryResult MaildirTransport::deliver(const OutboundMessage& m) {
    if (auto refused = refusal(m)) return *refused;
    if (auto why = unsafe_directory_name(m.rcpt))
        return {Outcome::permanent, util::cat("refused before writing: the recipient address ",
                                              *why, ", so it cannot name a Maildir")};
    const std::string box = util::cat(root_, "/", ascii_lower(m.rcpt));
    // Final delivery records the envelope sender, as a local delivery agent does (RFC 5321
    // §4.4): a reader of the Maildir sees where a bounce would go (the VERP address).
    const std::string stored = util::cat("Return-Path: <", m.mail_from, ">\r\n", m.bytes);
    if (auto s = write_into(box, stored); !s) return {Outcome::temporary, s.error().message};
    return {Outcome::delivered, "written into the recipient's Maildir new/"};
}

// Error texts show the recipient's directory as <recipient>: addresses stay out of the logs.
util::Status MaildirTransport::write_into(const std::string& box, const std::string& bytes) {
    const std::string shown = util::cat(root_, "/<recipient>");
    bool box_created = false;
    if (auto s = make_dir(box, shown, box_created); !s) return s;
    if (box_created)
        if (auto s = fsync_dir(root_, root_); !s) return s;
    bool sub_created = false;
    for (const char* sub : {"/tmp", "/new", "/cur"})
        if (auto s = make_dir(box + sub, shown + sub, sub_created); !s) return s;
    if (sub_created)
        if (auto s = fsync_dir(box, shown); !s) return s;

    std::string name;
    int fd = -1;
    for (int tries = 0; fd < 0; ++tries) {
        name = unique_name();
        fd = open_retrying(util::cat(box, "/tmp/", name), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && (errno != EEXIST || tries + 1 == kNameTries))
            return sys_error("open", util::cat(shown, "/tmp/", name), errno);
    }
    Fd file(fd);
    const std::string tmp = util::cat(box, "/tmp/", name);
    const std::string shown_tmp = util::cat(shown, "/tmp/", name);
    util::Status status = write_all(file.get(), bytes, shown_tmp);
    if (status.ok() && ::fsync(file.get()) != 0) status = sys_error("fsync", shown_tmp, errno);
    if (const int err = file.close(); status.ok() && err != 0)
        status = sys_error("close", shown_tmp, err);
    if (status.ok() && ::rename(tmp.c_str(), util::cat(box, "/new/", name).c_str()) != 0)
        status = sys_error("rename", shown_tmp, errno);
    if (!status.ok()) {
        ::unlink(tmp.c_str());
        return status;
    }
    // A failure here leaves the file in new/ and asks for a retry: a possible duplicate rather
    // than a message reported delivered that a crash could still take back.
    return fsync_dir(box + "/new", shown + "/new");
}

std::string MaildirTransport::unique_name() const {
    using std::chrono::microseconds;
    const auto us =
        std::chrono::duration_cast<microseconds>(clock_.now().time_since_epoch()).count();
    const std::uint64_t q = ++g_delivery_counter;
    return util::cat(std::to_string(us / 1'000'000), ".M", std::to_string(us % 1'000'000), "P",
                     std::to_string(::getpid()), "Q", std::to_string(q), ".", hostname_);
}

util::Result<std::unique_ptr<Transport>> make_maildir_transport(const std::string& root,
                                                                const std::string& hostname,
                                                                const util::Clock& clock) {
    if (root.empty()) return util::Error::permanent("relay.maildir: empty path");
    if (auto s = make_dirs(root); !s)
        return util::Error::permanent(util::cat("relay.maildir: ", s.error().message));
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return util::Error::permanent(util::cat("relay.maildir: ", root, ": not a directory"));
    return std::unique_ptr<Transport>(std::make_unique<MaildirTransport>(root, hostname, clock));
}

}  // namespace referent::relay
