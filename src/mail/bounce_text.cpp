#include "mail/bounce_text.hpp"

#include <cstring>

#include "mail/ascii.hpp"

namespace referent::mail {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_alnum(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_local_char(char c) {
    return is_alnum(c) || (c != '\0' && std::strchr(".!#$%&'*+/=?^_`{|}~-", c) != nullptr);
}

bool is_domain_char(char c) {
    return is_alnum(c) || c == '.' || c == '-';
}

// Calls f(line) for each line of text, CR removed; stops when f returns true.
template <class F>
void for_each_line(std::string_view text, F f) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (f(line)) return;
        pos = end + 1;
    }
}

std::string_view unquote_line(std::string_view line) {
    while (!line.empty() && (line.front() == '>' || is_wsp(line.front()))) line.remove_prefix(1);
    return line;
}

// "Name: value" at the start of a (possibly "> "-quoted) line.
bool looks_like_field(std::string_view line) {
    line = unquote_line(line);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 40) return false;
    for (char c : line.substr(0, colon))
        if (c <= ' ' || c >= 127 || c == '@') return false;  // "user@host: 550 ..." is text
    return true;
}

// Digits of one subfield of a status code at text[i]: 1 to 3 of them.
std::size_t digits_at(std::string_view text, std::size_t i) {
    std::size_t n = 0;
    while (i + n < text.size() && is_digit(text[i + n]) && n < 4) ++n;
    return n >= 1 && n <= 3 ? n : 0;
}

std::string_view skip_tag(std::string_view html, std::size_t& i, std::string& out) {
    std::size_t close = html.find('>', i);
    std::string_view tag = html.substr(i + 1, close == std::string_view::npos ? 0 : close - i - 1);
    std::string name = lower(tag.substr(0, tag.find_first_of(" \t\r\n/>")));
    if (name == "br" || name == "p" || name == "div" || name == "tr" || name == "li") out += '\n';
    i = close == std::string_view::npos ? html.size() : close + 1;
    return tag;
}

void decode_entity(std::string_view html, std::size_t& i, std::string& out) {
    static constexpr std::pair<std::string_view, char> named[] = {
        {"&lt;", '<'},   {"&gt;", '>'},  {"&amp;", '&'},  {"&quot;", '"'},
        {"&nbsp;", ' '}, {"&#64;", '@'}, {"&#x40;", '@'}, {"&#39;", '\''}};
    for (auto [entity, c] : named)
        if (istarts_with(html.substr(i), entity)) {
            out += c;
            i += entity.size();
            return;
        }
    out += html[i++];
}

// Position of "</name" (any case) at or after `from`, or the end of html.
std::size_t find_closing(std::string_view html, std::size_t from, std::string_view name) {
    for (std::size_t lt = html.find("</", from); lt != std::string_view::npos;
         lt = html.find("</", lt + 2))
        if (istarts_with(html.substr(lt + 2), name)) return lt;
    return html.size();
}

}  // namespace

std::string find_status_code(std::string_view text, std::string_view classes) {
    for (std::size_t i = 0; i + 4 < text.size(); ++i) {
        if (classes.find(text[i]) == std::string_view::npos || text[i + 1] != '.') continue;
        if (i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.')) continue;
        std::size_t a = digits_at(text, i + 2);
        if (a == 0 || i + 2 + a >= text.size() || text[i + 2 + a] != '.') continue;
        std::size_t b = digits_at(text, i + 3 + a);
        if (b == 0) continue;
        std::size_t end = i + 3 + a + b;
        bool longer = end < text.size() &&
                      (is_digit(text[end]) ||
                       (text[end] == '.' && end + 1 < text.size() && is_digit(text[end + 1])));
        if (!longer) return std::string(text.substr(i, end - i));
    }
    return {};
}

std::vector<std::string> addresses_in(std::string_view text, std::size_t max) {
    std::vector<std::string> out;
    for (std::size_t at = text.find('@'); at != std::string_view::npos && out.size() < max;
         at = text.find('@', at + 1)) {
        std::size_t l = at;
        while (l > 0 && is_local_char(text[l - 1])) --l;
        std::size_t r = at + 1;
        while (r < text.size() && is_domain_char(text[r])) ++r;
        std::string_view local = text.substr(l, at - l);
        std::string_view domain = text.substr(at + 1, r - at - 1);
        while (!local.empty() && local.front() == '.') local.remove_prefix(1);
        while (!domain.empty() && (domain.back() == '.' || domain.back() == '-'))
            domain.remove_suffix(1);
        if (local.empty() || domain.find('.') == std::string_view::npos || domain.front() == '.')
            continue;
        out.push_back(std::string(local) + "@" + std::string(domain));
    }
    return out;
}

std::string first_recipient_in(std::string_view text, const std::vector<std::string>& exclude) {
    std::string found;
    for_each_line(text, [&](std::string_view line) {
        if (looks_like_field(line)) return false;
        for (const std::string& a : addresses_in(line, 20)) {
            std::string local = lower(a.substr(0, a.find('@')));
            if (local == "mailer-daemon" || local == "postmaster") continue;
            bool excluded = false;
            for (const std::string& e : exclude) excluded = excluded || iequals(a, e);
            if (excluded) continue;
            found = a;
            return true;
        }
        return false;
    });
    return found;
}

std::string diagnostic_line(std::string_view text, std::string_view status) {
    std::string found;
    for_each_line(text, [&](std::string_view line) {
        bool hit = !status.empty() ? line.find(status) != std::string_view::npos : false;
        for (std::size_t i = 0; !hit && status.empty() && i + 3 < line.size(); ++i)
            hit = (line[i] == '4' || line[i] == '5') && is_digit(line[i + 1]) &&
                  is_digit(line[i + 2]) && (line[i + 3] == ' ' || line[i + 3] == '-') &&
                  (i == 0 || !is_alnum(line[i - 1]));
        if (hit) found = std::string(trim(unquote_line(line)));
        return hit;
    });
    return found;
}

std::string find_message_id(std::string_view value) {
    std::size_t lt = value.find('<');
    std::size_t gt = lt == std::string_view::npos ? lt : value.find('>', lt);
    if (gt != std::string_view::npos && gt > lt + 1) {
        std::string_view id = value.substr(lt + 1, gt - lt - 1);
        if (id.find_first_of(" \t<") == std::string_view::npos) return std::string(id);
    }
    value = trim(value);
    if (value.find('@') != std::string_view::npos &&
        value.find_first_of(" \t<>") == std::string_view::npos)
        return std::string(value);
    return {};
}

std::string quoted_message_id(std::string_view text) {
    std::string found;
    for_each_line(text, [&](std::string_view line) {
        line = unquote_line(line);
        if (!istarts_with(line, "Message-ID:")) return false;
        found = find_message_id(line.substr(11));
        return !found.empty();
    });
    return found;
}

std::string html_to_text(std::string_view html) {
    std::string out;
    std::size_t i = 0;
    while (i < html.size()) {
        if (html[i] == '<') {
            std::string name = lower(skip_tag(html, i, out).substr(0, 6));
            for (std::string_view raw : {"style", "script"}) {
                if (name.substr(0, raw.size()) != raw) continue;
                i = find_closing(html, i, raw);
            }
        } else if (html[i] == '&') {
            decode_entity(html, i, out);
        } else {
            out += html[i++];
        }
    }
    return out;
}

std::string bounce_text(const Message& message) {
    std::optional<TextBody> body = message.body_text();
    if (!body) return message.parts().empty() ? std::string() : message.preamble(0);
    return body->html ? html_to_text(body->text) : std::move(body->text);
}

}  // namespace referent::mail
