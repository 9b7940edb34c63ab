// HTML edits without a DOM: see html_edit.hpp.
#include "mail/html_edit.hpp"

#include "mail/ascii.hpp"

namespace referent::mail {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '-' || c == '_';
}

// The end of a tag starting at `i` ('<'), honouring quoted attribute values.
std::size_t tag_end(std::string_view h, std::size_t i) {
    char quote = 0;
    for (std::size_t j = i + 1; j < h.size(); ++j) {
        char c = h[j];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '"' || c == '\'') {
            // Only quotes that open an attribute value count: "it's" in broken text does not.
            if (h[j - 1] == '=') quote = c;
        } else if (c == '>') {
            return j + 1;
        }
    }
    return h.size();
}

HtmlToken read_tag(std::string_view h, std::size_t i) {
    HtmlToken t;
    t.kind = HtmlToken::tag;
    t.begin = i;
    std::size_t j = i + 1;
    if (j < h.size() && h[j] == '/') {
        t.closing = true;
        ++j;
    }
    std::size_t n = j;
    while (n < h.size() && is_name_char(h[n])) ++n;
    t.name = lower(h.substr(j, n - j));
    t.end = tag_end(h, i);
    return t;
}

bool starts_tag(std::string_view h, std::size_t i) {
    if (i + 1 >= h.size()) return false;
    char c = h[i + 1];
    return c == '/' || c == '!' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_quote_start(std::string_view html, const HtmlToken& t) {
    if (t.kind != HtmlToken::tag || t.closing) return false;
    if (t.name == "blockquote" || t.name == "hr") return true;
    if (t.name != "div") return false;
    std::string_view src = html.substr(t.begin, t.end - t.begin);
    std::string cls = lower(html_attribute(src, "class"));
    std::string id = lower(html_attribute(src, "id"));
    std::string style = lower(html_attribute(src, "style"));
    return cls.find("gmail_quote") != std::string::npos || id == "divrplyfwdmsg" ||
           id == "appendonsend" ||
           (style.find("border-top:solid") != std::string::npos &&
            style.find("border:none") != std::string::npos);
}

}  // namespace

std::vector<HtmlToken> tokenize_html(std::string_view h) {
    std::vector<HtmlToken> out;
    std::size_t i = 0;
    while (i < h.size()) {
        if (h[i] == '<' && h.substr(i, 4) == "<!--") {
            std::size_t e = h.find("-->", i + 4);
            e = e == std::string_view::npos ? h.size() : e + 3;
            out.push_back({HtmlToken::comment, i, e, {}, false});
            i = e;
        } else if (h[i] == '<' && starts_tag(h, i)) {
            out.push_back(read_tag(h, i));
            i = out.back().end;
        } else {
            std::size_t e = i + 1;
            while (e < h.size() && !(h[e] == '<' && starts_tag(h, e))) ++e;
            out.push_back({HtmlToken::text, i, e, {}, false});
            i = e;
        }
    }
    return out;
}

std::string html_attribute(std::string_view src, std::string_view name) {
    std::string low = lower(src);
    std::size_t from = 1;
    while (true) {
        std::size_t p = low.find(name, from);
        if (p == std::string::npos) return {};
        from = p + 1;
        if (is_name_char(low[p - 1]) || low[p - 1] == '"' || low[p - 1] == '\'') continue;
        std::size_t q = p + name.size();
        while (q < src.size() && is_wsp(src[q])) ++q;
        if (q >= src.size() || src[q] != '=') continue;
        ++q;
        while (q < src.size() && is_wsp(src[q])) ++q;
        if (q >= src.size()) return {};
        char quote = src[q];
        if (quote == '"' || quote == '\'') {
            std::size_t e = src.find(quote, q + 1);
            return std::string(
                src.substr(q + 1, (e == std::string_view::npos ? src.size() : e) - q - 1));
        }
        std::size_t e = q;
        while (e < src.size() && !is_wsp(src[e]) && src[e] != '>' && src[e] != '/') ++e;
        return std::string(src.substr(q, e - q));
    }
}

std::size_t html_quote_start(std::string_view html, const std::vector<HtmlToken>& tokens) {
    for (const HtmlToken& t : tokens)
        if (is_quote_start(html, t)) return t.begin;
    return std::string_view::npos;
}

std::string insert_after_body_open(std::string_view html, std::string_view fragment) {
    std::vector<HtmlToken> tokens = tokenize_html(html);
    std::size_t at = 0;
    for (const char* wanted : {"body", "/head", "html"}) {
        bool closing = wanted[0] == '/';
        std::string_view name = closing ? wanted + 1 : wanted;
        for (const HtmlToken& t : tokens)
            if (t.kind == HtmlToken::tag && t.name == name && t.closing == closing) {
                at = t.end;
                break;
            }
        if (at) break;
    }
    std::string out(html.substr(0, at));
    out.append(fragment).append(html.substr(at));
    return out;
}

std::string insert_quote_aware(std::string_view html, std::string_view fragment) {
    std::vector<HtmlToken> tokens = tokenize_html(html);
    std::size_t at = html_quote_start(html, tokens);
    if (at == std::string_view::npos) {
        at = html.size();
        for (const HtmlToken& t : tokens)
            if (t.kind == HtmlToken::tag && t.closing && (t.name == "body" || t.name == "html")) {
                at = t.begin;
                break;
            }
    }
    std::string out(html.substr(0, at));
    out.append(fragment).append(html.substr(at));
    return out;
}

std::string relabel_meta_charset(std::string_view html) {
    std::string out;
    std::size_t last = 0;
    for (const HtmlToken& t : tokenize_html(html)) {
        if (t.kind != HtmlToken::tag || t.name != "meta" || t.closing) continue;
        std::string src(html.substr(t.begin, t.end - t.begin));
        std::string low = lower(src);
        std::size_t p = low.find("charset=");
        if (p == std::string::npos) continue;
        std::size_t v = p + 8;
        bool quoted = v < src.size() && (src[v] == '"' || src[v] == '\'');
        if (quoted) ++v;
        std::size_t e = v;
        while (e < src.size() && (is_name_char(src[e]) || src[e] == '.')) ++e;
        out.append(html.substr(last, t.begin - last));
        out.append(src.substr(0, v)).append("utf-8").append(src.substr(e));
        last = t.end;
    }
    out.append(html.substr(last));
    return out;
}

std::string html_visible_text(std::string_view html) {
    std::string out;
    int hidden = 0;  // inside head, style or script
    for (const HtmlToken& t : tokenize_html(html)) {
        if (t.kind == HtmlToken::tag) {
            if (t.name == "head" || t.name == "style" || t.name == "script")
                hidden += t.closing ? (hidden > 0 ? -1 : 0) : 1;
            if (t.name == "br" || t.name == "p" || t.name == "div") out += '\n';
            continue;
        }
        if (t.kind != HtmlToken::text || hidden > 0) continue;
        std::string_view s = html.substr(t.begin, t.end - t.begin);
        for (std::size_t i = 0; i < s.size(); ++i) {
            static constexpr std::pair<std::string_view, std::string_view> entities[] = {
                {"&nbsp;", " "},  {"&amp;", "&"}, {"&lt;", "<"},  {"&gt;", ">"},
                {"&quot;", "\""}, {"&#39;", "'"}, {"&#160;", " "}};
            bool done = false;
            for (auto [e, r] : entities)
                if (!done && s[i] == '&' && istarts_with(s.substr(i), e)) {
                    out += r;
                    i += e.size() - 1;
                    done = true;
                }
            if (!done) out += s[i];
        }
    }
    return out;
}

}  // namespace referent::mail
