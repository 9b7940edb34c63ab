// tests/smtp/transcript.hpp — golden SMTP conversations run against smtp::ServerSession.
//
// File format (one directive per line; blank lines and lines starting with '#' are ignored):
//   @dialect lmtp | smtp          @tls (offer STARTTLS)       @space full (spool has no room)
//   @one-write                    the vector is about bytes arriving in one write: not split
//   @spill                        DATA past max_data_in_memory goes to a memory spill
//   @spill-fails-after N          the spill's append fails once it would hold more than N
//   @<limit> N                    max_recipients, max_errors, max_nonmail_commands,
//                                 max_command_length, max_message_size, max_header_size,
//                                 max_data_in_memory
//   C: text        client sends text + CRLF             (C escapes: \r \n \t \0 \\ \xHH)
//   C| text        client sends text, nothing appended
//   C* N text      client sends text N times, nothing appended
//   S: text        server sends text + CRLF; S* N text: the same line N times
//   =commit ok | temporary | permanent   outcome of the next commits (default ok)
//   =message text  the last committed message is exactly text (escapes)
//   =messages N    N messages committed so far
//   =recipients a,b   recipients of the last committed message
//   =closed | =open    state of the session after the previous turn
//   =timeout | =shutdown | =force-close   events from the connection
//   =buffered-max N    the session never held more than N octets of unconsumed input
//   =spilled yes | no  the last committed message came in a spill (its bytes: =message)
//   =spills-open N     spills the session holds (a dropped spill removed what it stored)
// Consecutive C lines form one turn (one write by the client); the S lines that follow are
// everything the server must have written in answer to that turn, no more, no less. S lines
// before the first C are the greeting; a transcript that starts with C talks before it.
// The recipient policy accepts any address in example.gov and refuses others with 550 5.1.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace referent::test {

struct TranscriptStep {
    enum class Kind { send, expect, directive };
    Kind kind;
    std::string text;  // bytes to send / expected bytes / directive line
};

struct Transcript {
    std::string name;
    std::vector<std::string> options;  // "@..." lines
    std::vector<TranscriptStep> steps;
};

Transcript parse_transcript(const std::string& path);
std::string unescape(const std::string& s);

// Runs the transcript; when `split_turn` is set, that turn (0-based among client turns) is fed
// in two writes split at `split_at`. Returns "" on success or a description of the mismatch.
std::string run_transcript(const Transcript& t, std::optional<std::size_t> split_turn = {},
                           std::size_t split_at = 0);

// Client turns and their sizes, to enumerate split points.
std::vector<std::size_t> turn_sizes(const Transcript& t);

}  // namespace referent::test
