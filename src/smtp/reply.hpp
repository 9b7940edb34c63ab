// smtp/reply.hpp — an SMTP reply: code, enhanced status code (RFC 3463), text.
//
// Contract: format() renders one or more lines ending in CRLF, "250-" on all but the last line.
// Text never contains CR or LF (callers build it from fixed strings and validated values;
// format() asserts it). Pure, thread-safe.
#pragma once

#include <string>
#include <vector>

namespace referent::smtp {

struct Reply {
    int code = 250;
    std::string enhanced;            // "2.0.0"; empty when the reply has none (220, 221 greeting)
    std::vector<std::string> lines;  // at least one

    Reply() = default;
    Reply(int c, std::string e, std::string text) : code(c), enhanced(std::move(e)) {
        lines.push_back(std::move(text));
    }

    bool is_error() const { return code >= 400; }
    bool is_temporary() const { return code >= 400 && code < 500; }
    std::string format() const;
};

}  // namespace referent::smtp
