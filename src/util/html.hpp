// util/html.hpp — text into HTML: & < > " escaped, so a value is safe in element content and
// in a double-quoted attribute. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace referent::util {

inline std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

}  // namespace referent::util
