// relay/maildir_transport.hpp — outbound mail written into a local Maildir tree, for a test
// installation or a host that reads mail from disk, instead of sent to a relay.
//
// Contract: deliver() writes the bytes, unchanged but for a first "Return-Path: <sender>" line
// (final delivery records the envelope sender, RFC 5321 §4.4), into one Maildir per recipient:
// <root>/<recipient address, ASCII lower-cased>/new/<unique>. The file is created in tmp/ (mode
// 0600, O_EXCL), written, fsynced, renamed into new/, and new/ is fsynced: "delivered" means
// durable, and a reader of new/ never sees a partial file. tmp/, new/ and cur/ are created
// (mode 0700) when missing, and a directory created is made durable in its parent.
// Unique names follow the Maildir convention, <seconds>.M<microseconds>P<pid>Q<counter>.<host>,
// with a counter shared by every instance in the process.
// Errors: bytes or addresses refused by refusal() (outbound_check.hpp) and a recipient that
// cannot be a directory name ('/', a leading '.', more than 255 octets) are permanent; every
// file-system error is temporary (an operator can free the disk or fix permissions without
// losing mail) and leaves nothing behind in tmp/.
// Thread-safety: an instance serves one thread at a time; instances in several threads or
// processes may share a root.
#pragma once

#include <memory>
#include <string>

#include "relay/transport.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace referent::relay {

class MaildirTransport final : public Transport {
public:
    // `clock` names the files; it must outlive the transport.
    MaildirTransport(std::string root, std::string hostname, const util::Clock& clock);
    DeliveryResult deliver(const OutboundMessage& m) override;

private:
    util::Status write_into(const std::string& box, const std::string& bytes);
    std::string unique_name() const;

    std::string root_;
    std::string hostname_;  // with '/' and ':' escaped, as the convention asks
    const util::Clock& clock_;
};

// Creates `root` and its missing parents (mode 0700); a permanent Error when it cannot.
util::Result<std::unique_ptr<Transport>> make_maildir_transport(const std::string& root,
                                                                const std::string& hostname,
                                                                const util::Clock& clock);

}  // namespace referent::relay
