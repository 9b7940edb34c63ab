// relay/curl_transport.hpp — outbound mail sent to the relay over SMTP, with libcurl (its only
// user in the project).
//
// Contract: deliver() runs one SMTP transaction (MAIL FROM, one RCPT TO, DATA) on a connection
// kept open from one message to the next (libcurl reconnects when the relay has closed it, and
// after any failure; a reused connection found dead before the relay answered anything is
// tried once more on a new one, as nothing can have been accepted). smtp:// applies relay.starttls:
// never stays in clear, opportunistic upgrades when the relay offers STARTTLS, required refuses to
// go on in clear; smtps:// is TLS from the first octet. TLS always verifies the certificate chain
// and the host name (TLS 1.2 at least): a relay offering STARTTLS with a certificate that does not
// verify gets nothing, not even under opportunistic. AUTH uses relay.username and the password read
// once, at construction, from relay.password_file. The EHLO name is the gateway hostname. The bytes
// go out as given: libcurl dot-stuffs them and ends the data (adding a CRLF if the last line has
// none); bytes and addresses that refusal() (outbound_check.hpp) refuses never open a
// connection.
// Outcome: delivered on 250 to the data. permanent on a 5xx to MAIL, RCPT or the data, but
// 530 (authentication required: the operator fixes the configuration). temporary otherwise:
// a 4xx, a 5xx to the greeting, EHLO, STARTTLS or AUTH (rejected credentials included), a
// refused, lost or timed-out connection, a TLS failure, a name that does not resolve.
// `reply` is the relay's last reply line and the command it answered, or libcurl's error and
// the last command sent; never the credentials.
// Bounds: relay.connect_timeout until the relay is ready for MAIL on a new connection (TCP,
// greeting, EHLO, STARTTLS, AUTH); relay.timeout for the whole transaction and for any single
// wait. After a failure the connection is cut without waiting for an answer to QUIT, so a
// stalled relay holds a worker for relay.timeout, not twice that. The destructor says QUIT on
// an idle connection and waits up to relay.timeout for the answer.
// Thread-safety: an instance serves one thread at a time (one per relay worker); creating
// instances is thread-safe (curl_global_init runs once). The process must ignore SIGPIPE
// (referentd does): libcurl is told to leave signals alone, which threads cannot share.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "relay/transport.hpp"
#include "util/result.hpp"

namespace referent::relay {

struct CurlSettings {
    std::string url;        // smtp://host[:port] or smtps://host[:port]; any path is dropped
    std::string ehlo_name;  // the gateway hostname
    config::StartTls starttls = config::StartTls::opportunistic;
    std::optional<std::string> username;
    std::string password;  // with username only
    std::chrono::seconds connect_timeout{30};
    std::chrono::seconds timeout{300};
    std::string ca_file;  // trust anchors in PEM; "" = the system's store (tests set one)
};

// The settings of `relay`, reading relay.password_file: permanent when it is missing,
// unreadable, not a regular file, readable by group or others, empty, or longer than 4 KiB.
// One trailing LF or CRLF is not part of the password.
util::Result<CurlSettings> curl_settings(const config::Relay& relay, const std::string& hostname);

class CurlTransport final : public Transport {
public:
    // temporary when libcurl cannot be initialised (memory, a broken TLS library).
    static util::Result<std::unique_ptr<CurlTransport>> create(CurlSettings settings);
    ~CurlTransport() override;
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    DeliveryResult deliver(const OutboundMessage& m) override;

private:
    struct State;  // the libcurl handle and what one transfer needs
    explicit CurlTransport(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
};

util::Result<std::unique_ptr<Transport>> make_curl_transport(const config::Relay& relay,
                                                             const std::string& hostname);

}  // namespace referent::relay
