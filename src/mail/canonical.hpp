// mail/canonical.hpp — the last pass over every message the gateway renders, and the checks on
// values it writes into headers.
//
// Contract:
//  - canonical_crlf() turns every line ending into CRLF: a bare LF becomes CRLF, a bare CR
//    becomes CRLF, CRLF stays. GMime writes CRLF with GMIME_NEWLINE_FORMAT_DOS but keeps the
//    preamble and epilogue of multiparts as they were (bare LF), and libcurl passes bare LF
//    through while its CRLF option doubles existing CRs (vectors A outbound): so the renderer's
//    output is canonicalised here, once, and is pure CRLF.
//  - Dot-stuffing (vectors E6, H4) is NOT done here: the SMTP client (relay/) stuffs "." at
//    the start of a line on the wire, as RFC 5321 §4.5.2 puts it in the transport. A body line
//    "." leaves the renderer as ".\r\n" and must not be confused with the end of DATA before
//    the relay has stuffed it.
//  - header_value_safe() is false for a value holding CR, LF or NUL (vectors E1–E3): every value
//    the renderer writes into a header goes through it, and a false is a refusal, never a repair.
// Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace referent::mail {

std::string canonical_crlf(std::string_view bytes);
// The same line breaks (CRLF, lone CR, lone LF) as single LFs: the form text is edited in, so
// a line ending the editor does not split on can never hide a marker or a note.
std::string canonical_lf(std::string_view bytes);

bool header_value_safe(std::string_view value);

// "Tue, 03 Mar 2026 09:15:00 +0000" (RFC 5322 §3.3), in UTC: the renderer never reads the
// local time zone, so its output depends only on its input.
std::string rfc5322_date(std::chrono::system_clock::time_point t);

}  // namespace referent::mail
