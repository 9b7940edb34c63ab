// smtp/data_decoder.hpp — the DATA phase: finds the end of the message and undoes dot-stuffing.
//
// Contract: only <CRLF>.<CRLF> ends the data (RFC 5321 §4.1.1.4); the very first line may also be
// the lone dot (an empty message). A line that begins with "." loses that dot (§4.5.2). Bare LF
// and bare CR are kept byte for byte but reported, so the session can refuse the message: a
// bare-LF or bare-CR "terminator" can thus never end the data or smuggle a second message
// (CVE-2023-51764/51765/51766). Memory is bounded: past max_size octets, or a header block past
// max_header octets, nothing more is stored and the decoder only looks for the terminator.
// NUL octets are data like any other. feed() may be called with any split of the input.
// Not thread-safe (one per session).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace referent::smtp {

class DataDecoder {
public:
    enum class Problem { none, too_large, header_too_large, bare_line_ending };

    DataDecoder(std::uint64_t max_size, std::uint64_t max_header);

    // Consumes input up to and including the terminator; returns the octets consumed.
    std::size_t feed(std::string_view in);

    bool done() const { return state_ == State::done; }
    Problem problem() const;
    std::uint64_t size() const { return size_; }  // message octets seen (after unstuffing)
    std::string take() { return std::move(data_); }
    // The octets stored and not yet taken: a caller that moves them elsewhere (a spill) clears
    // it, so the decoder holds only what arrived since.
    std::string& stored() { return data_; }

private:
    enum class State { text, cr, bol, dot, dot_cr, done };

    void emit(char c);
    void emit_char(char c);
    // A run of ordinary text (no CR, no LF) at once: the same as emit_char() for each octet.
    void emit_run(std::string_view run);

    std::uint64_t max_size_;
    std::uint64_t max_header_;
    std::string data_;
    std::uint64_t size_ = 0;
    std::uint64_t header_size_ = 0;
    State state_ = State::bol;
    bool in_header_ = true;
    bool line_empty_ = true;  // no octet yet on the current line (to find the header's end)
    bool too_large_ = false;
    bool header_too_large_ = false;
    bool bare_ = false;
};

}  // namespace referent::smtp
