// Outbound items on disk: see outgoing.hpp.
#include "spool/outgoing.hpp"

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "spool/posix_io.hpp"
#include "util/cat.hpp"

namespace referent::spool {

namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

constexpr std::string_view magic = "referent-outgoing 1";
constexpr mode_t file_mode = 0600;

std::int64_t seconds(system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool clean(std::string_view v) {
    return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool number(std::string_view v, std::int64_t& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size();
}

// Writes `data` to tmp/<name> and closes it; `sync`: fsynced first (a single file), else the
// caller flushes the whole batch at once with one syncfs. The caller renames it.
util::Status write_tmp(const std::string& path, std::string_view data, bool sync = true) {
    auto fd = posix::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, file_mode);
    if (!fd) return fd.error();
    if (auto st = posix::write_all(fd->get(), data, path); !st) return st;
    if (sync)
        if (auto st = posix::fsync_fd(fd->get(), path); !st) return st;
    return fd->close(path);
}

}  // namespace

std::string format_outgoing(const OutgoingItem& i) {
    std::string s(magic);
    s += '\n';
    auto line = [&s](std::string_view k, std::string_view v) {
        s.append(k).append(": ").append(v).append("\n");
    };
    line("id", i.id);
    line("source", i.source);
    line("kind", i.kind);
    line("case", i.case_number);
    line("delivery", std::to_string(i.delivery));
    line("mail-from", i.mail_from);
    line("rcpt", i.rcpt);
    line("created", std::to_string(seconds(i.created)));
    line("attempts", std::to_string(i.attempts));
    line("next-attempt", std::to_string(seconds(i.next_attempt)));
    line("last-error", i.last_error);
    return s;
}

util::Result<OutgoingItem> parse_outgoing(std::string_view text) {
    auto bad = [](std::string_view why) {
        return util::Error::permanent(util::cat("outgoing item: ", why));
    };
    if (!text.starts_with(magic) || text.size() <= magic.size() || text[magic.size()] != '\n')
        return bad("not a referent-outgoing 1 file");
    text.remove_prefix(magic.size() + 1);
    OutgoingItem i;
    std::int64_t n = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        if (nl == std::string_view::npos) return bad("last line not terminated");
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        std::size_t colon = line.find(": ");
        if (colon == std::string_view::npos) return bad("line without \": \"");
        std::string_view k = line.substr(0, colon), v = line.substr(colon + 2);
        if (k == "id")
            i.id = v;
        else if (k == "source")
            i.source = v;
        else if (k == "kind")
            i.kind = v;
        else if (k == "case")
            i.case_number = v;
        else if (k == "mail-from")
            i.mail_from = v;
        else if (k == "rcpt")
            i.rcpt = v;
        else if (k == "last-error")
            i.last_error = v;
        else if (!number(v, n))
            return bad(util::cat("bad number for ", k));
        else if (k == "delivery")
            i.delivery = n;
        else if (k == "created")
            i.created = system_clock::time_point(std::chrono::seconds(n));
        else if (k == "attempts")
            i.attempts = static_cast<std::uint32_t>(std::max<std::int64_t>(0, n));
        else if (k == "next-attempt")
            i.next_attempt = system_clock::time_point(std::chrono::seconds(n));
        else
            return bad(util::cat("unknown key ", k));
    }
    if (!is_valid_id(i.id) || i.rcpt.empty()) return bad("missing id or rcpt");
    return i;
}

util::Status Outgoing::commit(const std::vector<OutgoingMessage>& messages) {
    const std::string tmp = spool_.tmp_dir().string(), out = spool_.outgoing_dir().string();
    std::vector<const OutgoingMessage*> fresh;
    for (const OutgoingMessage& m : messages) {
        if (!is_valid_id(m.item.id) || !clean(m.item.mail_from) || !clean(m.item.rcpt) ||
            !clean(m.item.last_error) || !clean(m.item.kind) || !clean(m.item.case_number))
            return util::Error::permanent(util::cat("outgoing item ", m.item.id, ": bad value"));
        if (!fs::exists(fs::path(out) / (m.item.id + ".out"))) fresh.push_back(&m);
    }
    if (fresh.empty()) return {};
    // Every file of the batch is written, then made durable by one syncfs of the spool's file
    // system (as SpoolWriter does for incoming/): two flushes per batch, not two per item.
    for (const OutgoingMessage* m : fresh) {
        if (auto st = write_tmp(tmp + "/" + m->item.id + ".omsg", m->bytes, false); !st) return st;
        if (auto st = write_tmp(tmp + "/" + m->item.id + ".out", format_outgoing(m->item), false);
            !st)
            return st;
    }
    {
        auto dir = posix::open_dir(tmp);
        if (!dir) return dir.error();
        if (auto st = posix::syncfs_fd(dir->get(), tmp); !st) return st;
    }
    for (const OutgoingMessage* m : fresh) {
        const std::string id = m->item.id;
        if (auto st = posix::rename_file(tmp + "/" + id + ".omsg", out + "/" + id + ".msg"); !st)
            return st;
    }
    for (const OutgoingMessage* m : fresh) {
        const std::string id = m->item.id;
        if (auto st = posix::rename_file(tmp + "/" + id + ".out", out + "/" + id + ".out"); !st)
            return st;
    }
    return posix::fsync_dir(out);
}

std::vector<std::string> Outgoing::ids() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spool_.outgoing_dir(), ec)) {
        const fs::path& p = e.path();
        if (p.extension() == ".out" && is_valid_id(p.stem().string()))
            out.push_back(p.stem().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

util::Result<OutgoingItem> Outgoing::item(const std::string& id) const {
    auto text = posix::read_file((spool_.outgoing_dir() / (id + ".out")).string(), 64 << 10);
    if (!text) return text.error();
    return parse_outgoing(*text);
}

util::Result<std::string> Outgoing::bytes(const std::string& id, std::size_t limit) const {
    return posix::read_file((spool_.outgoing_dir() / (id + ".msg")).string(), limit);
}

util::Status Outgoing::update(const OutgoingItem& i) {
    const std::string tmp = (spool_.tmp_dir() / (i.id + ".out")).string();
    if (!clean(i.last_error)) return util::Error::permanent("outgoing item: bad last error");
    if (auto st = write_tmp(tmp, format_outgoing(i)); !st) return st;
    const std::string out = spool_.outgoing_dir().string();
    if (auto st = posix::rename_file(tmp, out + "/" + i.id + ".out"); !st) return st;
    return posix::fsync_dir(out);
}

util::Status Outgoing::remove(const std::vector<std::string>& ids) {
    util::Status first_error;  // one stuck item does not keep the others
    for (const std::string& id : ids) {
        const std::string base = (spool_.outgoing_dir() / id).string();
        util::Status st = posix::unlink_file(base + ".out");
        if (st) st = posix::unlink_file(base + ".msg");
        if (!st && first_error) first_error = st;
    }
    if (ids.empty()) return first_error;
    if (auto st = posix::fsync_dir(spool_.outgoing_dir().string()); !st) return st;
    return first_error;
}

util::Result<std::size_t> Outgoing::recover() {
    std::size_t waiting = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spool_.outgoing_dir(), ec)) {
        const fs::path& p = e.path();
        if (p.extension() == ".out") ++waiting;
        if (p.extension() != ".msg") continue;
        fs::path marker = p;
        marker.replace_extension(".out");
        if (!fs::exists(marker))
            if (auto st = posix::unlink_file(p.string()); !st) return st.error();
    }
    if (ec) return util::Error::temporary(util::cat("outgoing/: ", ec.message()));
    return waiting;
}

}  // namespace referent::spool
