#include "smtp/data_decoder.hpp"

#include <algorithm>
#include <cstring>

namespace referent::smtp {

DataDecoder::DataDecoder(std::uint64_t max_size, std::uint64_t max_header)
    : max_size_(max_size), max_header_(max_header) {}

DataDecoder::Problem DataDecoder::problem() const {
    if (too_large_) return Problem::too_large;
    if (header_too_large_) return Problem::header_too_large;
    if (bare_) return Problem::bare_line_ending;
    return Problem::none;
}

void DataDecoder::emit(char c) {
    ++size_;
    if (in_header_) {
        ++header_size_;
        if (header_size_ > max_header_) header_too_large_ = true;
    }
    if (size_ > max_size_) too_large_ = true;
    if (!too_large_ && !header_too_large_) data_.push_back(c);
}

// Emits a character that is not part of a CRLF pair, tracking the end of the header block.
void DataDecoder::emit_char(char c) {
    line_empty_ = false;
    emit(c);
}

void DataDecoder::emit_run(std::string_view run) {
    line_empty_ = false;
    const bool storing = !too_large_ && !header_too_large_;
    std::size_t keep = run.size();  // what fits under both bounds is stored, as octet by octet
    if (in_header_) {
        if (header_size_ + run.size() > max_header_) {
            keep = header_size_ < max_header_
                       ? std::min<std::size_t>(keep,
                                               static_cast<std::size_t>(max_header_ - header_size_))
                       : 0;
            header_too_large_ = true;
        }
        header_size_ += run.size();
    }
    if (size_ + run.size() > max_size_) {
        keep = size_ < max_size_
                   ? std::min<std::size_t>(keep, static_cast<std::size_t>(max_size_ - size_))
                   : 0;
        too_large_ = true;
    }
    size_ += run.size();
    if (storing) data_.append(run.substr(0, keep));
}

namespace {

// Where the run of ordinary text starting at `from` ends: the first CR or LF, or the end.
// memchr (vectorised) rather than a test per octet: this is the loop every DATA octet goes through.
std::size_t text_end(std::string_view in, std::size_t from) {
    const char* p = in.data() + from;
    const std::size_t n = in.size() - from;
    const void* cr = std::memchr(p, '\r', n);
    const std::size_t to_cr = cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - p) : n;
    const void* lf = std::memchr(p, '\n', to_cr);
    const std::size_t to_lf =
        lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - p) : to_cr;
    return from + to_lf;
}

}  // namespace

std::size_t DataDecoder::feed(std::string_view in) {
    std::size_t i = 0;
    while (i < in.size() && state_ != State::done) {
        // Ordinary text up to the next CR or LF in one step (a line's start may be a dot).
        if (state_ == State::text || (state_ == State::bol && in[i] != '.')) {
            const std::size_t end = text_end(in, i);
            if (end > i) {
                emit_run(in.substr(i, end - i));
                state_ = State::text;
                i = end;
                continue;
            }
        }
        char c = in[i++];
        switch (state_) {
            case State::bol:
                if (c == '.') {
                    state_ = State::dot;
                    break;
                }
                [[fallthrough]];
            case State::text:
                if (c == '\r')
                    state_ = State::cr;
                else if (c == '\n') {
                    bare_ = true;
                    emit_char(c);
                    state_ = State::text;
                } else {
                    emit_char(c);
                    state_ = State::text;
                }
                break;
            case State::cr:
                if (c == '\n') {
                    if (line_empty_) in_header_ = false;  // the empty line ends the header
                    emit('\r');
                    emit('\n');
                    line_empty_ = true;
                    state_ = State::bol;
                } else {
                    bare_ = true;
                    emit_char('\r');
                    state_ = State::text;
                    --i;  // reprocess c as ordinary text
                }
                break;
            case State::dot:
                if (c == '\r')
                    state_ = State::dot_cr;
                else {
                    state_ = State::text;
                    --i;
                }  // the stuffed dot is dropped
                break;
            case State::dot_cr:
                if (c == '\n')
                    state_ = State::done;
                else {
                    // ".\r" followed by something else: a bare CR on a dot-stuffed line.
                    bare_ = true;
                    emit_char('\r');
                    state_ = State::text;
                    --i;
                }
                break;
            case State::done:
                break;
        }
    }
    return i;
}

}  // namespace referent::smtp
