#include "smtp/reply.hpp"

#include <cassert>

namespace referent::smtp {

std::string Reply::format() const {
    assert(!lines.empty());
    assert(code >= 200 && code <= 599);
    std::string out;
    const std::string code_text = std::to_string(code);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        assert(lines[i].find_first_of("\r\n") == std::string::npos);
        out += code_text;
        out += (i + 1 < lines.size()) ? '-' : ' ';
        if (!enhanced.empty()) {
            out += enhanced;
            if (!lines[i].empty()) out += ' ';
        }
        out += lines[i];
        out += "\r\n";
    }
    return out;
}

}  // namespace referent::smtp
