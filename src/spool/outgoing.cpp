// Outbound items on disk: see outgoing.hpp.
#include "spool/outgoing.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <limits>
#include <map>

#include "spool/posix_io.hpp"
#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::spool {

namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

constexpr std::string_view magic = "referent-outgoing 2";
constexpr std::string_view magic_v1 = "referent-outgoing 1";  // <id>.out beside <id>.msg
constexpr std::size_t header_limit = 64 << 10;                // blank line included
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

util::Error bad(std::string_view why) {
    return util::Error::permanent(util::cat("outgoing item: ", why));
}

std::string path_of(const fs::path& dir, const std::string& id, std::string_view ext) {
    return util::cat(dir.string(), "/", id, ext);
}

// The length of the header text (its last "\n" included) in the first 64 KiB of `file`, or npos
// without a blank line there. The body starts one byte further. Header lines are never empty.
std::size_t header_length(std::string_view file) {
    const std::size_t blank = file.substr(0, header_limit).find("\n\n");
    return blank == std::string_view::npos ? blank : blank + 1;
}

// Writes `head` then `body` to tmp/<name> and closes it; `sync`: fsynced first (a single file),
// else the caller flushes the whole batch at once with one syncfs. The caller renames it.
util::Status write_tmp(const std::string& path, std::string_view head, std::string_view body,
                       bool sync) {
    auto fd = posix::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, file_mode);
    if (!fd) return fd.error();
    if (auto st = posix::write_all(fd->get(), head, path); !st) return st;
    if (auto st = posix::write_all(fd->get(), body, path); !st) return st;
    if (sync)
        if (auto st = posix::fsync_fd(fd->get(), path); !st) return st;
    return fd->close(path);
}

// A new item under tmp/, in a recycled file when there is one (Spool::create_file: `path` then
// names the pooled file), closed unsynced: the caller flushes the whole batch at once.
util::Status write_item(Spool& spool, std::string& path, std::string_view head,
                        std::string_view body, bool sync) {
    bool recycled = false;
    auto fd = spool.create_file(path, file_mode, recycled, false);
    if (!fd) return fd.error();
    if (auto st = posix::write_all(fd->get(), head, path); !st) return st;
    if (auto st = posix::write_all(fd->get(), body, path); !st) return st;
    if (recycled)
        if (auto st = posix::truncate_fd(fd->get(), head.size() + body.size(), path); !st)
            return st;
    if (sync)
        if (auto st = posix::fsync_fd(fd->get(), path); !st) return st;
    return fd->close(path);
}

// Applies the "key: value" lines of `text` to `i`, up to its end or an empty line. `retry_only`:
// the keys of the retry state and nothing else (a .retry cannot change where an item goes).
util::Status apply_lines(std::string_view text, OutgoingItem& i, bool retry_only) {
    std::int64_t n = 0;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        if (nl == std::string_view::npos) return bad("last line not terminated");
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        if (line.empty()) break;
        std::size_t colon = line.find(": ");
        if (colon == std::string_view::npos) return bad("line without \": \"");
        std::string_view k = line.substr(0, colon), v = line.substr(colon + 2);
        const bool retry_key = k == "attempts" || k == "next-attempt" || k == "last-error";
        if (retry_only && !retry_key)
            return bad(util::cat("unknown key ", k));
        else if (k == "id")
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
    return {};
}

util::Result<OutgoingItem> parse_header(std::string_view text, std::string_view version) {
    if (!text.starts_with(version) || text.size() <= version.size() || text[version.size()] != '\n')
        return bad(util::cat("not a ", version, " file"));
    text.remove_prefix(version.size() + 1);
    OutgoingItem i;
    if (auto st = apply_lines(text, i, false); !st) return st.error();
    if (!is_valid_id(i.id) || i.rcpt.empty()) return bad("missing id or rcpt");
    return i;
}

std::string format_retry(const OutgoingItem& i) {
    return util::cat("attempts: ", std::to_string(i.attempts),
                     "\nnext-attempt: ", std::to_string(seconds(i.next_attempt)),
                     "\nlast-error: ", i.last_error, "\n");
}

// The retry state of <id>.retry over `i`; no .retry is the state of the header.
util::Status apply_retry(const std::string& path, OutgoingItem& i) {
    auto text = posix::read_file(path, header_limit);
    if (!text) {
        std::error_code ec;
        if (!fs::exists(path, ec) && !ec) return {};  // the common case: never deferred
        return text.error();
    }
    return apply_lines(*text, i, true);
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
    return parse_header(text, magic);
}

util::Status Outgoing::commit(const std::vector<OutgoingMessage>& messages, CommitOptions options) {
    const fs::path tmp = spool_.tmp_dir(), out = spool_.outgoing_dir();
    struct Fresh {
        const OutgoingMessage* m;
        std::string head;  // the item's header
        std::string tmp;   // where it is written under tmp/
    };
    std::vector<Fresh> fresh;
    for (const OutgoingMessage& m : messages) {
        const OutgoingItem& i = m.item;
        std::string head = format_outgoing(i) + "\n";
        if (!is_valid_id(i.id) || !clean(i.mail_from) || !clean(i.rcpt) || !clean(i.last_error) ||
            !clean(i.kind) || !clean(i.case_number) || head.size() > header_limit)
            return util::Error::permanent(util::cat("outgoing item ", i.id, ": bad value"));
        if (!fs::exists(path_of(out, i.id, ".item")))
            fresh.push_back({&m, std::move(head), path_of(tmp, i.id, ".item")});
    }
    // Another stage's covering flush begun after this point makes what we wrote before durable.
    auto shared = [&] {
        const std::uint64_t ticket = spool_.flush_ticket();
        return options.share_wait.count() > 0 && spool_.wait_flushed(ticket, options.share_wait);
    };
    if (fresh.empty()) {
        if (messages.empty() && !options.flush_always) return {};
        if (shared()) return {};
        // Items there already may come from a call whose fsync of outgoing/ failed after their
        // renames (the processor commits a failed batch again one message at a time): their
        // names are made durable before this returns ok.
        return options.flush_always ? spool_.flush() : sync();
    }
    // Every file of the batch is written, then made durable by one syncfs of the spool's file
    // system (as SpoolWriter does for incoming/), or by another stage's covering flush: two
    // flushes per batch at most, not two per item. The syncfs and the fsync of outgoing/ after
    // the renames are a covering flush (spool.hpp).
    // A store that relies on covering flushes allows the per-file route only when it can make
    // its commits durable by itself (its log is not among our files).
    bool each = fresh.size() <= options.fsync_each_up_to &&
                (!options.flush_always || options.sync_store) &&
                !spool_.flushed_lately(options.share_wait);
    // A failure before the renames leaves the files written under tmp/: they are removed (a
    // pooled one would stay there, out of the pool, until the next start).
    std::size_t renamed = 0;
    auto drop_tmp = [&](util::Status st) {
        for (std::size_t k = renamed; k < fresh.size(); ++k) (void)::unlink(fresh[k].tmp.c_str());
        return st;
    };
    for (Fresh& f : fresh)
        if (auto st = write_item(spool_, f.tmp, f.head, f.m->bytes, each); !st)
            return drop_tmp(st);
    std::uint64_t own = 0;
    // The store's commits before the items they stand behind; if its log cannot be synced by
    // itself, the covering flush below (syncfs) makes it durable, or reports the error.
    if (each && options.flush_always && !options.sync_store()) each = false;
    if (!each && !shared()) {
        own = spool_.begin_flush();
        auto dir = posix::open_dir(tmp.string());
        if (!dir) return drop_tmp(dir.error());
        if (auto st = posix::syncfs_fd(dir->get(), tmp.string()); !st) return drop_tmp(st);
    }
    for (const Fresh& f : fresh) {
        if (auto st = posix::rename_file(f.tmp, path_of(out, f.m->item.id, ".item")); !st)
            return drop_tmp(st);
        ++renamed;
    }
    // The renames: an fsync of outgoing/ (directory blocks and a cache flush after them).
    if (auto st = posix::fsync_dir(out.string()); !st) return st;
    if (own != 0) spool_.end_flush(own);
    return {};
}

std::vector<std::string> Outgoing::ids() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spool_.outgoing_dir(), ec)) {
        const fs::path& p = e.path();
        if (p.extension() == ".item" && is_valid_id(p.stem().string()))
            out.push_back(p.stem().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

util::Result<OutgoingItem> Outgoing::item(const std::string& id) const {
    const std::string path = path_of(spool_.outgoing_dir(), id, ".item");
    auto head = posix::read_prefix(path, header_limit);
    if (!head) return head.error();
    const std::size_t length = header_length(*head);
    if (length == std::string::npos) return bad(util::cat(id, ": no blank line within 64 KiB"));
    auto i = parse_outgoing(std::string_view(*head).substr(0, length));
    if (!i) return i;
    if (auto st = apply_retry(path_of(spool_.outgoing_dir(), id, ".retry"), *i); !st)
        return st.error();
    return i;
}

util::Result<std::string> Outgoing::bytes(const std::string& id, std::size_t limit) const {
    const std::string path = path_of(spool_.outgoing_dir(), id, ".item");
    const std::size_t most = std::numeric_limits<std::size_t>::max() - header_limit;
    auto file = posix::read_file(path, std::min(limit, most) + header_limit);
    if (!file) return file;
    const std::size_t length = header_length(*file);
    if (length == std::string::npos) return bad(util::cat(id, ": no blank line within 64 KiB"));
    if (file->size() - length - 1 > limit) return posix::sys_error("read", path, EFBIG);
    file->erase(0, length + 1);
    return file;
}

util::Status Outgoing::update(const OutgoingItem& i) {
    const std::string text = format_retry(i);
    if (!is_valid_id(i.id) || !clean(i.last_error) || text.size() > header_limit)
        return util::Error::permanent("outgoing item: bad retry state");
    const std::string tmp = path_of(spool_.tmp_dir(), i.id, ".retry");
    if (auto st = write_tmp(tmp, text, {}, true); !st) return st;
    const fs::path out = spool_.outgoing_dir();
    if (auto st = posix::rename_file(tmp, path_of(out, i.id, ".retry")); !st) return st;
    return posix::fsync_dir(out.string());
}

util::Status Outgoing::sync() {
    return posix::fsync_dir(spool_.outgoing_dir().string());
}

util::Status Outgoing::remove(const std::vector<std::string>& ids, bool sync_dir) {
    util::Status first_error;  // one stuck item does not keep the others
    for (const std::string& id : ids) {
        // The .item first: a crash between the two leaves a stray .retry, which recover() drops,
        // never an item whose retry state went back to the header's.
        util::Status st = spool_.retire_file(path_of(spool_.outgoing_dir(), id, ".item"));
        if (st) st = posix::unlink_file(path_of(spool_.outgoing_dir(), id, ".retry"));
        if (!st && first_error) first_error = st;
    }
    if (ids.empty() || !sync_dir) return first_error;
    if (auto st = posix::fsync_dir(spool_.outgoing_dir().string()); !st) return st;
    return first_error;
}

namespace {

// What recover() finds in outgoing/ for one id.
struct Found {
    bool item = false, retry = false, msg = false, out = false;
};

util::Result<std::map<std::string, Found>> scan(const fs::path& dir) {
    std::map<std::string, Found> found;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string id = it->path().stem().string(), ext = it->path().extension().string();
        if (!is_valid_id(id)) continue;
        if (ext == ".item") found[id].item = true;
        if (ext == ".retry") found[id].retry = true;
        if (ext == ".msg") found[id].msg = true;
        if (ext == ".out") found[id].out = true;
    }
    if (ec) return posix::sys_error("readdir", dir.string(), ec.value());
    return found;
}

// A pair <id>.msg + <id>.out of the previous layout, written as tmp/<id>.item (fsynced) and
// renamed into outgoing/; the caller fsyncs outgoing/ before it unlinks the pair. Returns false,
// leaving the pair for an operator, when the .out cannot be read.
util::Result<bool> upgrade(const Spool& spool, const std::string& id) {
    const fs::path dir = spool.outgoing_dir();
    auto text = posix::read_file(path_of(dir, id, ".out"), header_limit);
    if (!text) return text.error();
    auto i = parse_header(*text, magic_v1);
    if (!i) {
        util::log_warning("spool", util::cat("outgoing/", id, ".out: ", i.error().message,
                                             ": left for an operator"));
        return false;
    }
    auto bytes = posix::read_file(path_of(dir, id, ".msg"), std::size_t{1} << 31);
    if (!bytes) return bytes.error();
    const std::string tmp = path_of(spool.tmp_dir(), id, ".item");
    if (auto st = write_tmp(tmp, format_outgoing(*i) + "\n", *bytes, true); !st) return st.error();
    if (auto st = posix::rename_file(tmp, path_of(dir, id, ".item")); !st) return st.error();
    return true;
}

// Unlinks what an item no longer needs, or what has no item: a superseded .out/.msg pair, a
// lone .msg (a half commit of the previous layout), a stray .retry. Sets `changed`.
util::Status tidy(const fs::path& dir, const std::string& id, const Found& f, bool& changed) {
    std::vector<std::string_view> drop;
    if (f.item && f.out) drop.push_back(".out");  // the pair's marker first
    if (f.msg && (f.item || !f.out)) drop.push_back(".msg");
    if (f.retry && !f.item) drop.push_back(".retry");
    if (f.out && !f.msg && !f.item)
        util::log_warning(
            "spool", util::cat("outgoing/", id, ".out without its .msg: left for an operator"));
    for (std::string_view ext : drop)
        if (auto st = posix::unlink_file(path_of(dir, id, ext)); !st) return st;
    changed = changed || !drop.empty();
    return {};
}

}  // namespace

util::Result<std::size_t> Outgoing::recover() {
    const fs::path dir = spool_.outgoing_dir();
    auto found = scan(dir);
    if (!found) return found.error();
    std::size_t upgraded = 0, waiting = 0;
    for (auto& [id, f] : *found) {
        if (f.item || !f.out || !f.msg) continue;
        auto done = upgrade(spool_, id);
        if (!done) return done.error();
        f.item = *done;
        upgraded += *done ? 1u : 0u;
    }
    if (upgraded > 0) {
        if (auto st = posix::fsync_dir(dir.string()); !st) return st.error();
        util::log_info("spool", util::cat("outgoing/: ", std::to_string(upgraded),
                                          " items upgraded to ", magic));
    }
    bool changed = false;
    for (const auto& [id, f] : *found) {
        if (auto st = tidy(dir, id, f, changed); !st) return st.error();
        waiting += f.item ? 1u : 0u;
    }
    if (changed)
        if (auto st = posix::fsync_dir(dir.string()); !st) return st.error();
    return waiting;
}

util::Status Outgoing::request_retry() {
    const std::string path = (spool_.outgoing_dir() / ".retry-now").string();
    auto fd = posix::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, file_mode);
    if (!fd) return fd.error();
    return fd->close(path);
}

bool Outgoing::take_retry_request() {
    return ::unlink((spool_.outgoing_dir() / ".retry-now").c_str()) == 0;
}

}  // namespace referent::spool
