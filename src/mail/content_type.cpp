#include "mail/content_type.hpp"

#include <cstddef>
#include <cstring>
#include <map>

#include "mail/ascii.hpp"

namespace referent::mail {

namespace {

bool is_tspecial(char c) {
    return c != '\0' && std::strchr("()<>@,;:\\\"/[]?=", c) != nullptr;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool escape = s[i] == '%' && i + 2 < s.size();
        int hi = escape ? hex_value(s[i + 1]) : -1;
        int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;
        if (lo >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// RFC 2231 extended value: charset'language'percent-encoded.
std::string decode_extended(std::string_view s, bool first_segment) {
    if (first_segment) {
        std::size_t q1 = s.find('\'');
        std::size_t q2 = q1 == std::string_view::npos ? q1 : s.find('\'', q1 + 1);
        if (q2 != std::string_view::npos) s.remove_prefix(q2 + 1);
    }
    return percent_decode(s);
}

class Reader {
public:
    explicit Reader(std::string_view s) : s_(s) {}

    bool done() const { return i_ >= s_.size(); }
    char peek() const { return done() ? '\0' : s_[i_]; }
    void advance() { ++i_; }

    // Whitespace, line breaks and (nested) comments.
    void skip_cfws() {
        while (!done()) {
            char c = s_[i_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                ++i_;
            } else if (c == '(') {
                skip_comment();
            } else {
                return;
            }
        }
    }

    std::string token() {
        std::string out;
        while (!done() && static_cast<unsigned char>(s_[i_]) > ' ' && s_[i_] != 127 &&
               !is_tspecial(s_[i_]))
            out.push_back(s_[i_++]);
        return out;
    }

    std::string value() {
        if (peek() == '"') return quoted();
        std::string out;
        while (!done() && s_[i_] != ';' && !is_wsp(s_[i_]) && s_[i_] != '\r' && s_[i_] != '\n')
            out.push_back(s_[i_++]);
        return out;
    }

    void skip_to_semicolon() {
        while (!done() && s_[i_] != ';') {
            if (s_[i_] == '"')
                quoted();
            else
                ++i_;
        }
    }

private:
    void skip_comment() {
        int level = 0;
        while (!done()) {
            char c = s_[i_++];
            if (c == '\\' && !done())
                ++i_;
            else if (c == '(')
                ++level;
            else if (c == ')' && --level == 0)
                return;
        }
    }

    std::string quoted() {
        std::string out;
        ++i_;  // opening quote
        while (!done() && s_[i_] != '"') {
            if (s_[i_] == '\\' && i_ + 1 < s_.size()) ++i_;
            out.push_back(s_[i_++]);
        }
        if (!done()) ++i_;  // closing quote (an unterminated string runs to the end)
        return out;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

void set_parameter(ContentType& ct, std::string name, std::string value) {
    for (auto& [n, v] : ct.parameters)
        if (n == name) {
            v = std::move(value);
            return;
        }
    ct.parameters.emplace_back(std::move(name), std::move(value));
}

struct Segment {
    std::string value;
    bool extended = false;
};

// Reads "; name=value" pairs; RFC 2231 continuations are collected by base name.
void read_parameters(Reader& r, ContentType& ct) {
    std::map<std::string, std::map<int, Segment>> continued;
    while (!r.done()) {
        r.skip_cfws();
        if (r.peek() != ';') {
            r.skip_to_semicolon();
            continue;
        }
        r.advance();
        r.skip_cfws();
        std::string name = lower(r.token());
        r.skip_cfws();
        if (name.empty() || r.peek() != '=') continue;
        r.advance();
        r.skip_cfws();
        std::string value = r.value();
        bool extended = !name.empty() && name.back() == '*';
        if (extended) name.pop_back();
        std::size_t star = name.find('*');
        if (star == std::string::npos) {
            set_parameter(ct, name, extended ? decode_extended(value, true) : value);
            continue;
        }
        std::string index = name.substr(star + 1);
        if (index.empty() || index.size() > 3 ||
            index.find_first_not_of("0123456789") != index.npos)
            continue;
        continued[name.substr(0, star)][std::stoi(index)] = Segment{std::move(value), extended};
    }
    for (auto& [base, segments] : continued) {
        std::string joined;
        for (auto& [n, seg] : segments)
            joined += seg.extended ? decode_extended(seg.value, n == 0) : seg.value;
        set_parameter(ct, base, std::move(joined));
    }
}

}  // namespace

std::string ContentType::parameter(std::string_view name) const {
    for (const auto& [n, v] : parameters)
        if (n == name) return v;
    return {};
}

ContentType parse_content_type(std::string_view value) {
    ContentType ct;
    Reader r(value);
    r.skip_cfws();
    std::string type = lower(r.token());
    r.skip_cfws();
    if (r.peek() != '/') return ct;
    r.advance();
    r.skip_cfws();
    std::string subtype = lower(r.token());
    if (type.empty() || subtype.empty()) return ct;
    ct.type = std::move(type);
    ct.subtype = std::move(subtype);
    read_parameters(r, ct);
    return ct;
}

std::string_view first_token(std::string_view value) {
    value = trim(value);
    std::size_t end = 0;
    while (end < value.size() && !is_wsp(value[end]) && value[end] != '(' && value[end] != ';' &&
           value[end] != '\r' && value[end] != '\n')
        ++end;
    return value.substr(0, end);
}

}  // namespace referent::mail
