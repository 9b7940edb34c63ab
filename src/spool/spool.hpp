// spool/spool.hpp — the durable queue on a directory: tmp/ → incoming/ (→ outgoing/ later).
//
// Layout under the spool root:
//   tmp/       files being written (a large message's DATA too, as it arrives: message_file.hpp);
//              never meaningful after a crash (removed by recover())
//   incoming/  committed messages: <id>.msg (the bytes) and <id>.env (the envelope, the commit
//              marker: it is renamed in last, so an .env in incoming/ means the .msg is whole)
//   corrupt/   items that could not be read back, kept for an operator with a .reason file
//   outgoing/  rendered outbound items waiting for the relay (outgoing.hpp)
//
// Contract: open() creates the layout if absent and checks that it is writable. recover() is
// run once at start, before any writer: it removes tmp/ leftovers and .msg files without an
// .env, moves unreadable envelopes (and .env without .msg) to corrupt/ beside a <id>.reason
// file, and leaves (with a warning) any file it does not recognise. Thread-safe after open().
//
// Spool ids: 20 lowercase hex digits, "<14: microseconds since the epoch><6: random>", e.g.
// "0641a2b3c4d5e6a1b2c3". The time part comes from the injected Clock but never repeats nor goes
// back within one Spool (it is bumped by one microsecond when the clock stalls or steps back),
// so ids from one process are strictly increasing; the 24 random bits (injected Random) keep
// processes sharing the directory, or a restart after a clock step, apart. Fixed width, so
// sorting the strings sorts by arrival. They match is_valid_id() (envelope.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "spool/envelope.hpp"
#include "spool/posix_io.hpp"
#include "util/clock.hpp"
#include "util/random.hpp"
#include "util/result.hpp"

namespace referent::spool {

struct RecoveryReport {
    std::size_t committed = 0;        // messages waiting in incoming/
    std::size_t removed_partial = 0;  // tmp/ leftovers and .msg without .env
    std::size_t moved_corrupt = 0;    // unreadable envelopes moved to corrupt/
};

class Spool {
public:
    // Creates root, tmp/, incoming/, corrupt/ if absent; fails (temporary) if not writable.
    static util::Result<Spool> open(std::filesystem::path root, util::Clock& clock,
                                    util::Random& random);

    // Fails (temporary) only when the directories cannot be read or changed.
    util::Result<RecoveryReport> recover();

    std::string new_id();

    // Free octets available to us on the spool's file system (statvfs f_bavail * f_frsize).
    util::Result<std::uint64_t> free_space() const;

    // Ids of committed messages in incoming/, sorted.
    std::vector<std::string> incoming_ids() const;

    // A committed message of incoming/: its envelope and bytes (at most `limit` octets).
    util::Result<Envelope> read_envelope(const std::string& id) const;
    // A permanent error when the .msg is gone to corrupt/ while its .env is still here: a
    // quarantine stopped between its two renames (a disk fault), which quarantine() finishes.
    util::Result<std::string> read_message(const std::string& id, std::size_t limit) const;
    // Done with them (their successors are durable elsewhere): each .env (commit marker) goes
    // first, then its .msg, then, with `sync_dir`, incoming/ is fsynced once for all. Without
    // it the removal is durable only at the next covering flush: a crash or power cut before
    // that brings the message back, which is safe when processing it again is (the processor:
    // the store answers a replay with its first outcome). Already gone is fine.
    util::Status remove_incoming(const std::vector<std::string>& ids, bool sync_dir = true);
    util::Status remove_incoming(const std::string& id) { return remove_incoming(std::vector{id}); }

    // Recycled files: fewer new inodes per message. A small file done with (an input, a
    // delivered item) is renamed into tmp/ as "pool-<pid>-<n>" instead of being unlinked, and a
    // new file under tmp/ takes one from there. Creating an inode is the dearest step of the
    // flow on ext4 without a journal: the allocator skips every inode freed in the last 30
    // seconds (find_inode_bit, recently_deleted), so under churn each new file costs more the
    // more were deleted lately; and freeing a file's blocks issues a discard at once on a file
    // system mounted with -o discard. Pooled files are garbage: recover() clears tmp/, and a
    // crash can leave nothing meaningful there. Bounded: at most max_pooled files of at most
    // max_pooled_size octets (larger ones are unlinked). Thread-safe; another process sharing
    // the spool has its own pool (the pid in the name keeps them apart; a lost race only costs
    // a new inode).
    static constexpr std::size_t max_pooled = 256;
    static constexpr std::uint64_t max_pooled_size = 256 << 10;
    // Opens a file under tmp/ for writing, which the caller later renames to its final name:
    // a pooled file, left under its pool name (`path` is set to it, and `recycled` is true: it
    // still holds old bytes, so the caller ftruncates it to what it wrote), or a new file at
    // `path`, a new name under tmp/ (O_CREAT | O_EXCL; without `exclusive`, O_CREAT | O_TRUNC:
    // a leftover of a failed attempt is written over). `mode` either way. A pooled file is not
    // renamed to `path` first: one rename per file written (tmp/ → its directory), not two.
    util::Result<posix::Fd> create_file(std::string& path, mode_t mode, bool& recycled,
                                        bool exclusive = true);
    // Takes `path` out of its directory: into the pool, or unlinked. Already gone is fine.
    util::Status retire_file(const std::string& path);

    // Covering flushes: group commit across the stages. A covering flush is one syncfs(2) of
    // the spool's file system followed by one fsync of a directory on it; whatever was written
    // to that file system before it began (file data, inodes, directory entries, and the SQLite
    // log when the store lives there too) is on disk when it ends. (Why both: on ext4 without
    // a journal, syncfs writes the inode and directory blocks but may issue the disk's cache
    // flush before those writes complete; the directory fsync that follows ends with a cache
    // flush of its own, after them. With a journal, syncfs alone would do.) The spool writer and
    // Outgoing::commit report theirs here, so another stage can wait for the next one instead
    // of flushing itself: under load that costs no flush at all. Thread-safe.
    std::uint64_t flush_ticket() const;  // covering flushes begun so far
    // True once a covering flush begun after `ticket` was taken has ended well; waits at most
    // `timeout` for it, and not at all (false) when none began within the last `timeout`: on
    // an idle spool waiting would only add latency.
    bool wait_flushed(std::uint64_t ticket, std::chrono::milliseconds timeout) const;
    // Whether a covering flush began within the last `within`: others are flushing.
    bool flushed_lately(std::chrono::milliseconds within) const;
    // A covering flush of its own: syncfs, then fsync of outgoing/.
    util::Status flush();
    // For those who flush: begin_flush() just before their syncfs, end_flush() with its value
    // once their directory fsync succeeded (not called when either failed).
    std::uint64_t begin_flush();
    void end_flush(std::uint64_t flush);
    // The ids in corrupt/ (a .msg, .env or .reason there), sorted.
    std::vector<std::string> corrupt_ids() const;
    // Puts a quarantined message back in incoming/ once an operator fixed what was wrong:
    // its envelope must read back (else permanent, nothing moved); .msg then .env (the commit
    // marker) renamed back, incoming/ fsynced, then the .reason removed. The processor's next
    // rescan takes it.
    util::Status requeue(const std::string& id);
    // Moves a message the processor could not handle to corrupt/ beside <id>.reason (the .env
    // alone when its .msg went there already).
    util::Status quarantine(const std::string& id, const std::string& reason);

    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path tmp_dir() const { return root_ / "tmp"; }
    std::filesystem::path incoming_dir() const { return root_ / "incoming"; }
    std::filesystem::path corrupt_dir() const { return root_ / "corrupt"; }
    std::filesystem::path outgoing_dir() const { return root_ / "outgoing"; }

    Spool(Spool&& other) noexcept;
    ~Spool();
    Spool& operator=(Spool&&) = delete;
    Spool(const Spool&) = delete;

private:
    Spool(std::filesystem::path root, util::Clock& clock, util::Random& random);
    util::Status clear_tmp(RecoveryReport& report);
    util::Status scan_incoming(RecoveryReport& report);
    util::Status move_to_corrupt(const std::string& id, const std::string& reason, bool has_msg);

    std::filesystem::path root_;
    util::Clock* clock_;
    util::Random* random_;
    std::atomic<std::uint64_t> last_micros_{0};  // time part of the last id handed out
    struct FlushClock;                           // spool.cpp
    std::unique_ptr<FlushClock> flushes_;
    struct Pool;  // spool.cpp
    std::unique_ptr<Pool> pool_;
};

}  // namespace referent::spool
