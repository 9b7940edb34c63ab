// spool/envelope.hpp — the envelope file that sits beside each spooled message.
//
// Contract: format_envelope() writes a versioned, human-readable text file (one "key: value"
// per line, recipients one per line, first line "referent-envelope 1"); parse_envelope() reads
// it back and refuses anything malformed, unknown versions included, with a permanent Error.
// Values never contain CR, LF or NUL (the SMTP layer refuses such addresses); format_envelope
// asserts validate_envelope(), which callers can check first. Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace referent::spool {

struct Envelope {
    static constexpr int current_version = 1;

    std::string id;              // spool id, see spool.hpp
    std::string role;            // listener role: "public" | "internal"
    std::string protocol;        // "SMTP" | "ESMTP" | "ESMTPS" | "LMTP" | ...
    std::string client_address;  // "192.0.2.1:52000" or "[2001:db8::1]:52000"
    std::string helo;
    std::string mail_from;  // reverse path without brackets; "" for the null sender <>
    std::vector<std::string> recipients;
    std::chrono::system_clock::time_point arrival;
    bool tls = false;
    bool smtputf8 = false;
    std::string body;  // "7BIT" | "8BITMIME" (as declared)

    friend bool operator==(const Envelope&, const Envelope&) = default;
};

// Spool ids (see spool.hpp): [0-9A-Za-z]+, at most 32 characters. Safe as a file name.
inline constexpr std::size_t max_id_length = 32;
bool is_valid_id(std::string_view id);

// The values format_envelope() can write so that parse_envelope() reads them back: a valid id,
// role "public" or "internal", non-empty protocol, client and body, at least one recipient, no
// empty recipient, mail_from never the literal "<>", and no CR, LF or NUL anywhere. A permanent
// Error says which rule is broken. SpoolWriter checks it before writing anything.
util::Status validate_envelope(const Envelope& envelope);

// `arrival` is written with microsecond precision (RFC 3339 UTC, "2026-11-28T13:45:00.123456Z"),
// so the round trip is exact for times already floored to microseconds.
std::string format_envelope(const Envelope& envelope);
util::Result<Envelope> parse_envelope(std::string_view text);

}  // namespace referent::spool
