// Banner, internal notes and quotes in an agent's reply: see reply_text.hpp.
#include "mail/reply_text.hpp"

#include "mail/ascii.hpp"
#include "mail/banner_marker.hpp"
#include "mail/html_edit.hpp"

namespace referent::mail {

namespace {

struct Line {
    std::size_t begin, end;  // end includes the '\n'
};

std::vector<Line> lines_of(std::string_view t) {
    std::vector<Line> out;
    std::size_t i = 0;
    while (i < t.size()) {
        std::size_t e = t.find('\n', i);
        e = e == std::string_view::npos ? t.size() : e + 1;
        out.push_back({i, e});
        i = e;
    }
    return out;
}

// The line without its quote prefixes ("> ", ">>", " > ") and surrounding blanks.
std::string_view unquoted(std::string_view t, const Line& l) {
    std::string_view s = t.substr(l.begin, l.end - l.begin);
    while (!s.empty() && (s.front() == '>' || is_wsp(s.front()))) s.remove_prefix(1);
    return trim(s);
}

bool starts_note(std::string_view s) {
    for (std::string_view tag : {"#internal", "#interne"}) {
        if (!istarts_with(s, tag)) continue;
        if (s.size() == tag.size()) return true;
        char c = s[tag.size()];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return true;
    }
    return false;
}

// U+00A0 too: clients write it for a blank line.
bool blank(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n') continue;
        if (s[i] == '\xC2' && i + 1 < s.size() && s[i + 1] == '\xA0') {
            ++i;
            continue;
        }
        return false;
    }
    return true;
}

bool is_block(const HtmlToken& t) {
    return t.kind == HtmlToken::tag &&
           (t.name == "p" || t.name == "div" || t.name == "li" || t.name == "td" ||
            t.name == "body" || t.name == "blockquote" || t.name == "table" || t.name == "tr");
}

bool ends_with_attribution(std::string_view s) {
    for (std::string_view e : {"wrote:", "a écrit :", "a écrit:", "a écrit\xC2\xA0:", "schrieb:"})
        if (s.size() >= e.size() && s.substr(s.size() - e.size()) == e) return true;
    return false;
}

bool is_separator(std::string_view s) {
    for (std::string_view p :
         {"-----Original Message-----", "-----Message d'origine-----",
          "-------- Message original --------", "-------- Original Message --------",
          "---------- Forwarded message", "________________________________"})
        if (istarts_with(s, p)) return true;
    return false;
}

bool is_header_start(std::string_view t, const std::vector<Line>& ls, std::size_t i) {
    std::string_view s = unquoted(t, ls[i]);
    if (!istarts_with(s, "De :") && !istarts_with(s, "De:") && !istarts_with(s, "From:") &&
        !istarts_with(s, "De\xC2\xA0:"))
        return false;
    for (std::size_t j = i + 1; j < ls.size() && j <= i + 3; ++j) {
        std::string_view n = unquoted(t, ls[j]);
        for (std::string_view p : {"Envoyé", "Sent:", "Date:", "Date :", "À :", "To:"})
            if (istarts_with(n, p)) return true;
    }
    return false;
}

}  // namespace

std::string strip_text_banner(std::string_view t, std::string_view case_number) {
    const std::string begin = banner_begin(case_number), end = banner_end(case_number);
    std::vector<Line> ls = lines_of(t);
    std::string out;
    for (std::size_t i = 0; i < ls.size(); ++i) {
        if (unquoted(t, ls[i]) == begin) {
            std::size_t j = i + 1;
            while (j < ls.size() && unquoted(t, ls[j]) != end) ++j;
            if (j < ls.size()) {
                // The template leaves one blank line after the banner: it goes too.
                if (j + 1 < ls.size() && unquoted(t, ls[j + 1]).empty()) ++j;
                i = j;
                continue;
            }
        }
        out.append(t.substr(ls[i].begin, ls[i].end - ls[i].begin));
    }
    return out;
}

std::string strip_html_banner(std::string_view html, std::string_view case_number) {
    std::vector<HtmlToken> tokens = tokenize_html(html);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const HtmlToken& t = tokens[i];
        if (t.kind != HtmlToken::tag || t.name != "div" || t.closing) continue;
        if (html_attribute(html.substr(t.begin, t.end - t.begin), "id") != banner_html_id) continue;
        int depth = 0;
        for (std::size_t j = i; j < tokens.size(); ++j) {
            if (tokens[j].kind != HtmlToken::tag || tokens[j].name != "div") continue;
            depth += tokens[j].closing ? -1 : 1;
            if (depth == 0) {
                std::string out(html.substr(0, t.begin));
                out.append(html.substr(tokens[j].end));
                return strip_html_banner(out, case_number);
            }
        }
    }
    // No id left: the client rewrote the element; the ASCII markers survive (banner_marker.hpp).
    const std::string begin = banner_begin(case_number), end = banner_end(case_number);
    std::size_t b = html.find(begin);
    std::size_t e = b == std::string_view::npos ? b : html.find(end, b);
    if (e == std::string_view::npos) return std::string(html);
    std::size_t from = b, to = e + end.size();
    for (const HtmlToken& t : tokens) {
        if (t.end <= b && is_block(t) && !t.closing) from = t.begin;
        if (t.end <= b && is_block(t) && t.closing) from = b < from ? from : b;
    }
    for (const HtmlToken& t : tokens)
        if (t.begin >= to && is_block(t) && t.closing) {
            to = t.end;
            break;
        }
    // A wrapper left empty by the removal (the styled div Gmail keeps) goes too.
    for (bool grown = true; grown;) {
        grown = false;
        for (std::size_t k = 0; k + 1 < tokens.size(); ++k) {
            const HtmlToken& open = tokens[k];
            if (open.end != from || open.kind != HtmlToken::tag || open.closing || !is_block(open))
                continue;
            for (const HtmlToken& close : tokens)
                if (close.begin == to && close.closing && close.name == open.name) {
                    from = open.begin;
                    to = close.end;
                    grown = true;
                }
        }
    }
    std::string out(html.substr(0, from));
    out.append(html.substr(to));
    return strip_html_banner(out, case_number);
}

Stripped strip_text_notes(std::string_view t) {
    std::vector<Line> ls = lines_of(t);
    Stripped out;
    for (std::size_t i = 0; i < ls.size(); ++i) {
        bool para_start = i == 0 || unquoted(t, ls[i - 1]).empty();
        if (para_start && starts_note(unquoted(t, ls[i]))) {
            std::string note;
            while (i < ls.size() && !unquoted(t, ls[i]).empty())
                note.append(unquoted(t, ls[i++])).append("\n");
            out.notes.push_back(note);
            continue;  // the blank line after the note goes too
        }
        out.text.append(t.substr(ls[i].begin, ls[i].end - ls[i].begin));
    }
    return out;
}

Stripped strip_html_notes(std::string_view html) {
    std::vector<HtmlToken> tokens = tokenize_html(html);
    Stripped out;
    bool para_start = true, removing = false, line_text = false, opened = false;
    std::string note;
    auto finish = [&] {
        if (removing) out.notes.push_back(note);
        removing = false;
        note.clear();
    };
    for (const HtmlToken& t : tokens) {
        std::string_view src = html.substr(t.begin, t.end - t.begin);
        if (t.kind == HtmlToken::text) {
            bool empty = blank(src) || trim(html_visible_text(src)).empty();
            if (!removing && para_start && !empty && starts_note(trim(html_visible_text(src))))
                removing = true;
            if (removing && !empty) {
                note += html_visible_text(src);
                line_text = true;
                continue;  // the note's text goes, its tags stay
            }
            if (!empty) para_start = false;
        } else if (t.kind == HtmlToken::tag) {
            bool quote = t.name == "blockquote" || t.name == "hr" ||
                         (t.name == "div" && html_quote_start(src, tokenize_html(src)) == 0);
            if (removing && quote) finish();
            if (t.name == "br" || is_block(t)) {
                para_start = true;
                if (removing) {
                    bool line_end = t.name == "br" || t.closing || line_text;
                    if (line_end && !line_text && (t.name == "br" || opened))
                        finish();
                    else if (line_end && line_text)
                        note += "\n";
                    if (line_end) line_text = false;
                    opened = !t.closing && t.name != "br";
                }
            }
        }
        out.text.append(src);
    }
    finish();
    return out;
}

std::size_t text_quote_start(std::string_view t) {
    std::vector<Line> ls = lines_of(t);
    for (std::size_t i = 0; i < ls.size(); ++i) {
        std::string_view raw = trim(t.substr(ls[i].begin, ls[i].end - ls[i].begin));
        std::string_view s = unquoted(t, ls[i]);
        if (is_separator(s) || is_header_start(t, ls, i)) return ls[i].begin;
        if (raw.empty() || raw.front() != '>') continue;
        // The attribution line ("Le … a écrit :") belongs to the quote, possibly wrapped.
        std::size_t start = i;
        for (std::size_t k = i; k > 0 && k + 3 > i; --k) {
            std::string_view prev = unquoted(t, ls[k - 1]);
            if (prev.empty()) continue;
            if (ends_with_attribution(prev)) start = k - 1;
            break;
        }
        if (start > 0 && start < i) {  // "On … <\naddr> wrote:" wrapped by the client
            std::string_view before = unquoted(t, ls[start - 1]);
            if (!before.empty() && (istarts_with(before, "Le ") || istarts_with(before, "On ")))
                --start;
        }
        return ls[start].begin;
    }
    return std::string_view::npos;
}

bool text_own_text_empty(std::string_view t) {
    std::size_t q = text_quote_start(t);
    std::string_view own = t.substr(0, q == std::string_view::npos ? t.size() : q);
    for (const Line& l : lines_of(own)) {
        std::string_view s = trim(own.substr(l.begin, l.end - l.begin));
        if (!s.empty() && s.front() != '>' && !blank(s)) return false;
    }
    return true;
}

bool html_own_text_empty(std::string_view html) {
    std::size_t q = html_quote_start(html, tokenize_html(html));
    return blank(html_visible_text(html.substr(0, q == std::string_view::npos ? html.size() : q)));
}

std::string append_text_signature(std::string_view t, std::string_view signature) {
    std::size_t q = text_quote_start(t);
    std::string_view own = t.substr(0, q == std::string_view::npos ? t.size() : q);
    std::string out(own);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || is_wsp(out.back())))
        out.pop_back();
    out.append("\n\n").append(signature);
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (q != std::string_view::npos) out.append("\n").append(t.substr(q));
    return out;
}

}  // namespace referent::mail
