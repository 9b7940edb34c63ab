#include "mail/mailbox.hpp"

#include <cstddef>
#include <cstring>

namespace referent::mail {

namespace {

bool is_atext(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;  // RFC 6532: UTF-8 in atoms
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

class Parser {
public:
    explicit Parser(std::string_view s) : s_(s) {}

    // name-addr: [display-name] "<" addr-spec ">"
    std::optional<RawMailbox> name_addr() {
        RawMailbox out;
        if (!cfws()) return std::nullopt;
        while (peek() == '"' || is_atext(peek()) || (peek() == '.' && !out.display_name.empty())) {
            std::string word;
            if (peek() == '"') {
                if (!quoted(word, false)) return std::nullopt;
            } else {
                while (is_atext(peek()) || peek() == '.') word.push_back(s_[i_++]);
            }
            if (!out.display_name.empty()) out.display_name.push_back(' ');
            out.display_name += word;
            if (!cfws()) return std::nullopt;
        }
        if (peek() != '<') return std::nullopt;
        ++i_;
        if (!cfws() || !addr_spec(out) || !cfws() || peek() != '>') return std::nullopt;
        ++i_;
        if (!cfws() || !at_end()) return std::nullopt;
        return out;
    }

    // addr-spec alone, a comment after it standing in for the display name (old style).
    std::optional<RawMailbox> bare_addr_spec() {
        RawMailbox out;
        if (!cfws() || !addr_spec(out)) return std::nullopt;
        comment_ = &out.display_name;
        bool ok = cfws() && at_end();
        comment_ = nullptr;
        if (!ok) return std::nullopt;
        return out;
    }

private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    bool at_end() const { return i_ >= s_.size(); }

    bool addr_spec(RawMailbox& out) {
        if (peek() == '"') {
            std::string raw;
            if (!quoted(raw, true)) return false;
            out.local_part = raw;
        } else {
            while (is_atext(peek()) || peek() == '.') out.local_part.push_back(s_[i_++]);
            if (out.local_part.find_first_not_of('.') == std::string::npos) return false;
        }
        if (peek() != '@') return false;
        ++i_;
        return peek() == '[' ? domain_literal(out.domain) : dot_atom(out.domain);
    }

    bool dot_atom(std::string& out) {
        for (;;) {
            std::size_t start = i_;
            while (is_atext(peek())) out.push_back(s_[i_++]);
            if (i_ == start) return false;  // empty label
            if (peek() != '.') return true;
            out.push_back(s_[i_++]);
        }
    }

    // "[" dtext... "]": printable ASCII but "[", "]" and "\\", or UTF-8 (RFC 6532). Neither the
    // folding whitespace nor the quoted-pairs of the obsolete grammar: a control octet or a space
    // in an address would reach the headers and commands it is written into.
    bool domain_literal(std::string& out) {
        out.push_back(s_[i_++]);
        while (!at_end()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            out.push_back(static_cast<char>(c));
            if (c == ']') return out.size() > 2;
            if (c < 33 || c == 127 || c == '[' || c == '\\') return false;
        }
        return false;
    }

    // A quoted string; keep_quotes gives it as written (local part), else its content.
    bool quoted(std::string& out, bool keep_quotes) {
        if (keep_quotes) out.push_back('"');
        ++i_;
        while (!at_end() && s_[i_] != '"') {
            if (s_[i_] == '\\') {
                if (keep_quotes) out.push_back('\\');
                if (++i_ >= s_.size()) return false;
            }
            if (s_[i_] == '\0') return false;
            out.push_back(s_[i_++]);
        }
        if (at_end()) return false;
        ++i_;
        if (keep_quotes) out.push_back('"');
        return true;
    }

    // Folding whitespace and comments; false on an unterminated comment.
    bool cfws() {
        for (;;) {
            while (peek() == ' ' || peek() == '\t') ++i_;
            if (peek() != '(') return true;
            if (!comment()) return false;
        }
    }

    bool comment() {
        int level = 0;
        std::string text;
        while (!at_end()) {
            char c = s_[i_++];
            if (c == '\0') return false;
            if (c == '\\' && !at_end()) {
                text.push_back(s_[i_++]);
                continue;
            }
            if (c == '(' && level++ == 0) continue;
            if (c == ')' && --level == 0) {
                if (comment_ && comment_->empty()) *comment_ = text;
                return true;
            }
            text.push_back(c);
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
    std::string* comment_ = nullptr;
};

}  // namespace

std::optional<RawMailbox> parse_mailbox(std::string_view value) {
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return std::nullopt;
    if (auto m = Parser(value).name_addr()) return m;
    return Parser(value).bare_addr_spec();
}

}  // namespace referent::mail
