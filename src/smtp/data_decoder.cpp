#include "smtp/data_decoder.hpp"

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

std::size_t DataDecoder::feed(std::string_view in) {
    std::size_t i = 0;
    while (i < in.size() && state_ != State::done) {
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
