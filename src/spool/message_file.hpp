// spool/message_file.hpp — a message's bytes written under tmp/ as they arrive, before its commit.
//
// Contract: create() makes tmp/<id>.msg (a fresh spool id), or takes a pooled file under tmp/
// (Spool::create_file; path() then names it), and writes `prefix` (the trace
// header) first; append() adds the message's octets as the session receives them. Nothing is
// synced here: the file is garbage until SpoolWriter::commit(Envelope, MessageFile, ...) takes
// it over, syncs it and renames it into incoming/ with its envelope (spool_writer.hpp). A
// MessageFile destroyed before that removes its file, so a transaction that ends any other
// way (refused, client gone, a failed append) leaves nothing in tmp/; a crash leaves it to
// recover(), which clears tmp/. Errors are temporary ("write <path>: <strerror>"); after one,
// every later append fails too. Movable, not thread-safe (one owner at a time).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "spool/posix_io.hpp"
#include "util/result.hpp"

namespace referent::spool {

class Spool;

class MessageFile {
public:
    static util::Result<MessageFile> create(Spool& spool, const std::string& id,
                                            std::string_view prefix);

    util::Status append(std::string_view octets);

    const std::string& id() const { return id_; }
    const std::string& path() const { return path_; }
    std::uint64_t size() const { return size_; }  // octets written, prefix included

    // For the writer: the open file, now its to sync, rename or remove. The file is cut to
    // size() first (a recycled file may hold older, longer bytes); an error leaves the file
    // here, to be removed by the destructor.
    util::Result<posix::Fd> hand_off();

    MessageFile(MessageFile&& other) noexcept;
    MessageFile& operator=(MessageFile&& other) noexcept;
    MessageFile(const MessageFile&) = delete;
    MessageFile& operator=(const MessageFile&) = delete;
    ~MessageFile();

private:
    MessageFile() = default;
    void remove();

    std::string id_;
    std::string path_;
    posix::Fd fd_;
    std::uint64_t size_ = 0;
    bool recycled_ = false;
    bool owned_ = false;  // the file is ours to remove
    bool failed_ = false;
};

}  // namespace referent::spool
