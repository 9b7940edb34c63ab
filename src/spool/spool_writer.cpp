#include "spool/spool_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cassert>
#include <exception>
#include <optional>

#include "spool/posix_io.hpp"
#include "util/log.hpp"

namespace referent::spool {

namespace {

constexpr mode_t file_mode = 0640;
constexpr std::string_view component = "spool";

// Where one message's two files are, and which of those paths currently exist because of us.
struct Item {
    std::string id;
    std::string tmp_msg, tmp_env, in_msg, in_env;
    bool at_tmp_msg = false, at_tmp_env = false, at_in_msg = false, at_in_env = false;
    posix::Fd msg_fd, env_fd;  // open between the write and the fsync of a batch
    std::optional<util::Error> error;

    bool ok() const { return !error; }
};

Item make_item(const Spool& spool, const std::string& id) {
    Item item;
    item.id = id;
    const std::string tmp = (spool.tmp_dir() / id).string();
    const std::string in = (spool.incoming_dir() / id).string();
    item.tmp_msg = tmp + ".msg";
    item.tmp_env = tmp + ".env";
    item.in_msg = in + ".msg";
    item.in_env = in + ".env";
    return item;
}

void unlink_if(bool& exists, const std::string& path, const std::string& id) {
    if (!exists) return;
    exists = false;
    if (auto st = posix::unlink_file(path); !st) {
        util::log_error(component, id + ": cannot remove after failure: " + st.error().message);
    }
}

// The .env goes first: an .env left alone in incoming/ would look committed, a .msg would not.
void fail(Item& item, util::Error error) {
    if (item.ok()) item.error = std::move(error);
    item.msg_fd = posix::Fd();
    item.env_fd = posix::Fd();
    unlink_if(item.at_in_env, item.in_env, item.id);
    unlink_if(item.at_tmp_env, item.tmp_env, item.id);
    unlink_if(item.at_in_msg, item.in_msg, item.id);
    unlink_if(item.at_tmp_msg, item.tmp_msg, item.id);
}

// Phase 1 of a batch: create (or recycle, Spool::create_file: `path` then names the pooled
// file) and fill both files, keeping them open for phase 2.
util::Status write_file(Spool& spool, std::string& path, std::string_view prefix,
                        std::string_view data, bool& exists, posix::Fd& out) {
    bool recycled = false;
    auto fd = spool.create_file(path, file_mode, recycled);
    if (!fd) return fd.error();
    exists = true;
    if (auto st = posix::write_all(fd->get(), prefix, path); !st) return st;
    if (auto st = posix::write_all(fd->get(), data, path); !st) return st;
    if (recycled)
        if (auto st = posix::truncate_fd(fd->get(), prefix.size() + data.size(), path); !st)
            return st;
    out = std::move(*fd);
    return {};
}

// A message its session wrote under tmp/ is taken over as it stands: from here on its file is
// the item's, renamed or removed with it.
util::Status take_file(Item& item, std::optional<MessageFile>& file) {
    assert(file->id() == item.id);
    item.tmp_msg = file->path();  // a pooled file keeps its pool name until the rename
    auto fd = file->hand_off();
    file.reset();  // removes the file unless handed off
    if (!fd) return fd.error();
    item.at_tmp_msg = true;
    item.msg_fd = std::move(*fd);
    return {};
}

void write_to_tmp(Spool& spool, Item& item, const Envelope& envelope, const std::string& prefix,
                  const std::string& data, std::optional<MessageFile>& file) {
    util::Status st;
    if (file) st = take_file(item, file);
    // Checked here, not only asserted in format_envelope: a CR or LF would forge envelope lines.
    if (auto valid = validate_envelope(envelope); !valid) {
        fail(item, valid.error());  // removes a handed-over file
        return;
    }
    if (st && !item.at_tmp_msg)
        st = write_file(spool, item.tmp_msg, prefix, data, item.at_tmp_msg, item.msg_fd);
    if (st)
        st = write_file(spool, item.tmp_env, {}, format_envelope(envelope), item.at_tmp_env,
                        item.env_fd);
    if (!st) fail(item, st.error());
}

std::size_t count_ok(const std::vector<Item>& items) {
    std::size_t ok = 0;
    for (const auto& item : items) ok += item.ok() ? 1u : 0u;
    return ok;
}

// Phase 2: one syncfs(2) makes the data and inodes of the whole batch durable. This is the
// group commit: per-file fsync costs one journal commit per file (measured here: a batch of
// 10 messages, 20 files, took 60-90 ms with serial fsyncs, 30-45 ms with parallel ones and
// 8 ms with one syncfs). It also flushes whatever else is dirty on that file system, so the
// spool is best on a file system of its own; an error from another file fails the batch,
// which is safe (451, the client retries). Closing reports deferred write errors too.
// A batch of at most `fsync_each_up_to` messages (`whole` false) fsyncs its own files instead:
// a lone session then waits for its two files only, not for whatever else is dirty on the file
// system (other programs' writes make a syncfs slow and its time uneven).
void sync_files(std::vector<Item>& items, int dir_fd, const std::string& dir_path, bool whole,
                std::uint64_t& syncs) {
    util::Status synced;
    if (whole) {
        ++syncs;
        synced = posix::syncfs_fd(dir_fd, dir_path);
    }
    for (auto& item : items) {
        if (!item.ok()) continue;
        util::Status st = synced;
        if (st && !whole) {
            syncs += 2;
            st = posix::fsync_fd(item.msg_fd.get(), item.tmp_msg);
            if (st) st = posix::fsync_fd(item.env_fd.get(), item.tmp_env);
        }
        if (st) st = item.msg_fd.close(item.tmp_msg);
        if (st) st = item.env_fd.close(item.tmp_env);
        if (!st) fail(item, st.error());
    }
}

void rename_msg(Item& item) {
    if (!item.ok()) return;
    if (auto st = posix::rename_file(item.tmp_msg, item.in_msg); !st) return fail(item, st.error());
    item.at_tmp_msg = false;
    item.at_in_msg = true;
}

// The commit marker: from here on, a crash leaves a committed message.
void rename_env(Item& item) {
    if (!item.ok()) return;
    if (auto st = posix::rename_file(item.tmp_env, item.in_env); !st) return fail(item, st.error());
    item.at_tmp_env = false;
    item.at_in_env = true;
}

util::Status ensure_incoming_fd(int& fd, const std::string& path) {
    if (fd >= 0) return {};
    auto dir = posix::open_dir(path);
    if (!dir) return dir.error();
    fd = dir->release();
    return {};
}

util::Status fsync_incoming(int& fd, const std::string& path, std::uint64_t& fsyncs) {
    if (auto st = ensure_incoming_fd(fd, path); !st) return st;
    ++fsyncs;
    return posix::fsync_fd(fd, path);
}

// One directory fsync makes every rename of the batch durable. If it fails, none of them may
// be acknowledged: their entries are removed and the removal is synced as best we can.
// True when the fsync was made and succeeded (with the syncfs before it, a covering flush).
bool sync_incoming(std::vector<Item>& items, int& fd, const std::string& path,
                   std::uint64_t& fsyncs) {
    bool any = false;
    for (const auto& item : items) any = any || item.at_in_env;
    if (!any) return false;
    const auto st = fsync_incoming(fd, path, fsyncs);
    if (st) return true;
    for (auto& item : items) {
        if (item.at_in_env) fail(item, st.error());
    }
    if (fd >= 0) {
        ++fsyncs;
        (void)posix::fsync_fd(fd, path);
    }
    return false;
}

}  // namespace

SpoolWriter::SpoolWriter(Spool& spool, Options options) : spool_(spool), options_(options) {
    assert(options_.max_batch > 0);
    auto dir = posix::open_dir(spool_.incoming_dir().string());
    if (dir) {
        incoming_fd_ = dir->release();
    } else {  // retried at the first batch; until then nothing can be acknowledged anyway
        util::log_warning(component, dir.error().message);
    }
    thread_ = std::thread([this] { run(); });
}

SpoolWriter::~SpoolWriter() {
    stop();
    if (incoming_fd_ >= 0) ::close(incoming_fd_);
}

void SpoolWriter::commit(Envelope envelope, std::string data, Done done) {
    commit(std::move(envelope), {}, std::move(data), std::move(done));
}

void SpoolWriter::commit(Envelope envelope, std::string prefix, std::string data, Done done) {
    enqueue(Request{std::move(envelope), std::move(prefix), std::move(data), std::move(done), {}});
}

void SpoolWriter::commit(Envelope envelope, MessageFile file, Done done) {
    enqueue(Request{std::move(envelope), {}, {}, std::move(done), std::move(file)});
}

void SpoolWriter::enqueue(Request request) {
    {
        std::lock_guard lock(mutex_);
        if (!stopping_) {
            pending_.push_back(std::move(request));
            wake_.notify_one();
            return;
        }
    }
    request.file.reset();  // nothing of a refused commit stays in tmp/
    request.done(util::Error::temporary("spool writer is stopped"));
}

void SpoolWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
}

WriterStats SpoolWriter::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void SpoolWriter::run() {
    std::deque<Request> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
            if (pending_.empty()) return;  // stopping, and drained
            if (last_batch_ > 1) {         // under load: let the released sessions come back first
                const auto until = std::chrono::steady_clock::now() + options_.gather_max;
                std::size_t seen = pending_.size();
                while (!stopping_ && seen < options_.max_batch &&
                       std::chrono::steady_clock::now() < until) {
                    const auto next =
                        std::min(until, std::chrono::steady_clock::now() + options_.gather_gap);
                    wake_.wait_until(lock, next,
                                     [&] { return stopping_ || pending_.size() > seen; });
                    if (pending_.size() == seen) break;  // a gap: nobody else is coming now
                    seen = pending_.size();
                }
            }
            // Everything that queued up while the previous batch was syncing shares this one.
            const std::size_t n = std::min(pending_.size(), options_.max_batch);
            for (std::size_t i = 0; i < n; ++i) {
                batch.push_back(std::move(pending_.front()));
                pending_.pop_front();
            }
        }
        last_batch_ = batch.size();
        write_batch(batch);
        batch.clear();
    }
}

void SpoolWriter::write_batch(std::deque<Request>& batch) {
    std::uint64_t fsyncs = 0;
    std::vector<Item> items;
    items.reserve(batch.size());
    for (auto& request : batch) {
        items.push_back(make_item(spool_, request.envelope.id));
        write_to_tmp(spool_, items.back(), request.envelope, request.prefix, request.data,
                     request.file);
    }
    if (auto st = ensure_incoming_fd(incoming_fd_, spool_.incoming_dir().string()); !st) {
        for (auto& item : items) fail(item, st.error());
    }
    // The syncfs and the directory fsync after it are a covering flush (spool.hpp): the other
    // stages waiting for one need not flush themselves. Only that route announces one: a lone
    // message's own fsyncs cover nothing else, and announcing them would keep the processor
    // waiting (share_wait) for a flush that never ends, and off its own per-file route.
    const std::size_t ok = count_ok(items);
    const bool whole = ok > options_.fsync_each_up_to;
    const std::uint64_t flush = whole ? spool_.begin_flush() : 0;
    if (ok > 0) sync_files(items, incoming_fd_, spool_.incoming_dir().string(), whole, fsyncs);
    // All .msg before any .env, so each commit marker lands after its message's bytes.
    for (auto& item : items) rename_msg(item);
    for (auto& item : items) rename_env(item);
    if (sync_incoming(items, incoming_fd_, spool_.incoming_dir().string(), fsyncs) && whole)
        spool_.end_flush(flush);

    std::vector<util::Status> outcomes;
    outcomes.reserve(items.size());
    for (auto& item : items) {
        if (item.ok()) {
            util::log_debug(component, item.id + ": committed to incoming/");
            outcomes.emplace_back();
        } else {
            util::log_warning(component, item.id + ": commit failed: " + item.error->message);
            outcomes.emplace_back(*item.error);
        }
    }
    finish_batch(batch, outcomes, fsyncs);
}

// Stats first, so whoever wakes up on `done` reads figures that include its own message.
void SpoolWriter::finish_batch(std::deque<Request>& batch, std::vector<util::Status>& outcomes,
                               std::uint64_t fsyncs) {
    {
        std::lock_guard lock(mutex_);
        for (const auto& outcome : outcomes) ++(outcome ? stats_.messages : stats_.failed);
        ++stats_.batches;
        stats_.fsyncs += fsyncs;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        try {
            batch[i].done(std::move(outcomes[i]));
        } catch (const std::exception& e) {  // a callback's bug must not stop every commit
            util::log_error(component, batch[i].envelope.id + ": done callback threw: " + e.what());
        } catch (...) {
            util::log_error(component, batch[i].envelope.id + ": done callback threw");
        }
    }
}

}  // namespace referent::spool
