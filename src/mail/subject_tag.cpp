// Subject tags: see subject_tag.hpp.
#include "mail/subject_tag.hpp"

#include <array>

#include "mail/ascii.hpp"

namespace referent::mail {

namespace {

// Reply and forward prefixes as mail clients write them, lower-case ("é" is matched for "É"
// too). Unknown words are left alone: a subject may really begin with "Objet :".
constexpr std::array<std::string_view, 25> prefixes{
    "re",   "ré",  "réf", "ref", "rép", "rep", "tr",  "fw",  "fwd", "aw",  "wg", "sv",    "vs",
    "antw", "rif", "r",   "rv",  "enc", "res", "odp", "atb", "vá",  "ynt", "fs", "doorst"};

std::string fold_case(std::string_view word) {
    std::string out = lower(word);
    for (std::size_t p; (p = out.find("\xC3\x89")) != std::string::npos;) out[p + 1] = '\xA9';
    for (std::size_t p; (p = out.find("\xC3\x81")) != std::string::npos;) out[p + 1] = '\xA1';
    return out;
}

// ASCII letters, and the Latin-1 letters of UTF-8 (0xC3 0x80..0xBF: é, É, á…); not U+00A0 or
// the fullwidth colon, which end a prefix word.
std::size_t word_length(std::string_view s) {
    std::size_t n = 0;
    while (n < s.size() && n < 12) {
        char c = s[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            ++n;
        } else if (c == '\xC3' && n + 1 < s.size()) {
            n += 2;
        } else {
            break;
        }
    }
    return n;
}

std::string_view skip_spaces(std::string_view s) {
    while (!s.empty() && (is_wsp(s.front()) || s.front() == '\xC2')) {
        // U+00A0 (C2 A0), which French typography puts before ':'.
        if (s.front() == '\xC2') {
            if (s.size() < 2 || s[1] != '\xA0') break;
            s.remove_prefix(1);
        }
        s.remove_prefix(1);
    }
    return s;
}

// "RE[2] :", "Réf. :", "TR：" at the start of `s`: the rest after it, or `s` unchanged.
std::string_view strip_one_prefix(std::string_view s) {
    const std::size_t n = word_length(s);
    if (n == 0) return s;
    std::string word = fold_case(s.substr(0, n));
    bool known = false;
    for (std::string_view p : prefixes) known = known || word == p;
    if (!known) return s;
    std::string_view rest = s.substr(n);
    if (!rest.empty() && rest.front() == '.') rest.remove_prefix(1);
    rest = skip_spaces(rest);
    if (!rest.empty() && (rest.front() == '[' || rest.front() == '(')) {
        std::size_t close = rest.find_first_of("])");
        if (close == std::string_view::npos || close > 6) return s;
        rest = skip_spaces(rest.substr(close + 1));
    }
    if (!rest.empty() && rest.front() == ':') return rest.substr(1);
    if (rest.substr(0, 3) == "\xEF\xBC\x9A") return rest.substr(3);  // fullwidth colon
    return s;
}

// Removes every copy of the tag (ASCII case-insensitive) and collapses the spaces left over.
std::string remove_tags(std::string_view s, std::string_view tag) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (s.size() - i >= tag.size() && iequals(s.substr(i, tag.size()), tag)) {
            i += tag.size();
            continue;
        }
        out += s[i++];
    }
    std::string collapsed;
    for (char c : out) {
        if (is_wsp(c) && (collapsed.empty() || collapsed.back() == ' ')) continue;
        collapsed += is_wsp(c) ? ' ' : c;
    }
    return std::string(trim(collapsed));
}

}  // namespace

std::string case_tag(std::string_view case_number) {
    std::string tag = "[";
    tag.append(case_number).append("]");
    return tag;
}

std::string forward_subject(std::string_view case_number, std::string_view subject) {
    const std::string tag = case_tag(case_number);
    const std::string_view s = trim(subject);
    if (s.empty()) return tag;
    for (std::size_t i = 0; i + tag.size() <= s.size(); ++i)
        if (iequals(s.substr(i, tag.size()), tag)) return std::string(s);
    return tag + " " + std::string(s);
}

std::string reply_subject(std::string_view case_number, std::string_view subject) {
    const std::string tag = case_tag(case_number);
    std::string_view s = skip_spaces(trim(subject));
    for (;;) {
        if (s.size() >= tag.size() && iequals(s.substr(0, tag.size()), tag)) {
            s = skip_spaces(s.substr(tag.size()));
            continue;
        }
        std::string_view rest = strip_one_prefix(s);
        if (rest.size() == s.size()) break;
        s = skip_spaces(rest);
    }
    std::string rest = remove_tags(s, tag);
    std::string out = "Re: " + tag;
    if (!rest.empty()) out.append(" ").append(rest);
    return out;
}

}  // namespace referent::mail
