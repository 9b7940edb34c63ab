#include "mail/template_syntax.hpp"

#include <initializer_list>
#include <optional>

namespace referent::mail {

namespace {

enum class TagType {
    text,
    variable,
    unescaped,
    section,
    inverted,
    close,
    comment,
    partial,
    delimiter
};

struct Token {
    TagType type = TagType::text;
    std::size_t begin = 0;  // offset of the first byte (of "{{" for a tag)
    std::size_t end = 0;    // offset past the last byte
    std::string name;       // trimmed, sigil removed
};

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Builds messages without `"literal" + std::string`, which GCC 12 at -O2 flags with a false
// -Wrestrict (bug 105651).
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto p : parts) out.append(p);
    return out;
}

TemplateProblem problem_at(std::string_view source, std::size_t offset, std::string message) {
    TemplateProblem p{1, 1, std::move(message)};
    for (std::size_t i = 0; i < offset && i < source.size(); ++i) {
        const auto byte = static_cast<unsigned char>(source[i]);
        if (byte == '\n') {
            ++p.line;
            p.column = 1;
        } else if ((byte & 0xC0) != 0x80) {  // count characters, not UTF-8 continuation bytes
            ++p.column;
        }
    }
    return p;
}

TagType classify_tag(std::string_view contents, std::string& name) {
    static constexpr std::string_view sigils = "#^/>&!=";
    static constexpr TagType types[] = {TagType::section,  TagType::inverted,  TagType::close,
                                        TagType::partial,  TagType::unescaped, TagType::comment,
                                        TagType::delimiter};
    const auto at = contents.empty() ? std::string_view::npos : sigils.find(contents.front());
    if (at == std::string_view::npos) {
        name = std::string(contents);
        return TagType::variable;
    }
    name = std::string(trim(contents.substr(1)));
    return types[at];
}

// Splits source into text and tag tokens the way kainjow's parser does (default delimiters
// only: "{{{" opens a triple tag closed by "}}}").
std::optional<TemplateProblem> tokenize(std::string_view source, std::vector<Token>& out) {
    std::size_t pos = 0;
    while (pos < source.size()) {
        const auto open = source.find("{{", pos);
        if (open == std::string_view::npos) break;
        if (open > pos) out.push_back({TagType::text, pos, open, {}});
        const bool triple = open + 2 < source.size() && source[open + 2] == '{';
        const std::string_view closer = triple ? "}}}" : "}}";
        const auto start = open + closer.size();
        const auto close = source.find(closer, start);
        if (close == std::string_view::npos) return problem_at(source, open, "unclosed tag");
        Token t{TagType::unescaped, open, close + closer.size(), {}};
        const auto contents = trim(source.substr(start, close - start));
        if (triple) {
            t.name = std::string(contents);
        } else {
            t.type = classify_tag(contents, t.name);
        }
        if (t.name.empty() && t.type != TagType::comment)
            return problem_at(source, open, "empty tag");
        out.push_back(std::move(t));
        pos = close + closer.size();
    }
    if (pos < source.size()) out.push_back({TagType::text, pos, source.size(), {}});
    return std::nullopt;
}

struct Scope {
    std::string name;  // as written in the section tag
    std::string path;  // the schema path it resolved to
    NameKind kind;     // of that path (value when unknown: reported once, at the section)
    std::size_t offset;
};

const NameSchema::value_type* resolve(const std::string& name, const std::vector<Scope>& scopes,
                                      const NameSchema& names) {
    for (auto s = scopes.rbegin(); s != scopes.rend(); ++s) {
        const auto it = names.find(s->path + "." + name);
        if (it != names.end()) return &*it;
    }
    const auto it = names.find(name);
    return it == names.end() ? nullptr : &*it;
}

class Checker {
public:
    Checker(std::string_view source, const NameSchema& names, bool allow_unescaped)
        : source_(source), names_(names), allow_unescaped_(allow_unescaped) {}

    // False on a structural problem: the scan stops there.
    bool visit(const Token& t) {
        switch (t.type) {
            case TagType::text:
                // A lone "}}" is the tail of a tag that closed early, most often a comment
                // quoting a tag: "{{! write {{x}} }}" ends at the first "}}".
                if (const auto at = source_.substr(t.begin, t.end - t.begin).find("}}");
                    at != std::string_view::npos) {
                    return report_at(t.begin + at, "stray \"}}\" (a comment cannot contain a tag)");
                }
                return true;
            case TagType::comment:
                return true;
            case TagType::partial:
                return fail(t, "partials ({{>name}}) are not supported");
            case TagType::delimiter:
                return fail(t, "delimiter changes ({{=<% %>=}}) are not supported");
            case TagType::unescaped:
                if (!allow_unescaped_) {
                    return report(
                        t, cat({"unescaped value {{{", t.name, "}}} in an HTML template; write {{",
                                t.name, "}} so the value is escaped"}));
                }
                return value(t);
            case TagType::variable:
                return value(t);
            case TagType::section:
            case TagType::inverted:
                return open(t);
            case TagType::close:
                return close(t);
        }
        return true;
    }

    void finish() {
        if (!scopes_.empty()) {
            problems_.push_back(
                problem_at(source_, scopes_.back().offset,
                           cat({"section \"", scopes_.back().name, "\" never closed"})));
        }
    }

    std::vector<TemplateProblem> take() { return std::move(problems_); }

private:
    bool fail(const Token& t, std::string message) {
        problems_.push_back(problem_at(source_, t.begin, std::move(message)));
        return false;
    }
    bool report_at(std::size_t offset, std::string message) {
        problems_.push_back(problem_at(source_, offset, std::move(message)));
        return true;
    }
    bool report(const Token& t, std::string message) {
        problems_.push_back(problem_at(source_, t.begin, std::move(message)));
        return true;
    }

    bool value(const Token& t) {
        if (t.name == ".") {
            // kainjow prints {{.}} only for a string: inside a group or a flag it is empty.
            if (scopes_.empty() || scopes_.back().kind != NameKind::value)
                return report(t, "{{.}} outside a section on a value");
            return true;
        }
        const auto* found = resolve(t.name, scopes_, names_);
        if (found == nullptr) return report(t, cat({"unknown name \"", t.name, "\""}));
        if (found->second == NameKind::object)
            return report(
                t, cat({"\"", t.name, "\" is a group, not a value: name one of its fields"}));
        if (found->second == NameKind::flag)
            return report(t, cat({"\"", t.name, "\" is a yes/no flag: use it as {{#", t.name,
                                  "}}…{{/", t.name, "}}"}));
        return true;
    }

    bool open(const Token& t) {
        const auto* found = resolve(t.name, scopes_, names_);
        if (found == nullptr) report(t, cat({"unknown name \"", t.name, "\""}));
        scopes_.push_back({t.name, found ? found->first : t.name,
                           found ? found->second : NameKind::value, t.begin});
        return true;
    }

    bool close(const Token& t) {
        if (scopes_.empty())
            return fail(t, cat({"section \"", t.name, "\" closed but never opened"}));
        if (scopes_.back().name != t.name) {
            return fail(t,
                        cat({"section \"", scopes_.back().name, "\" closed by {{/", t.name, "}}"}));
        }
        scopes_.pop_back();
        return true;
    }

    std::string_view source_;
    const NameSchema& names_;
    bool allow_unescaped_;
    std::vector<Scope> scopes_;
    std::vector<TemplateProblem> problems_;
};

// A tag kind that the spec removes with its whole line when it stands alone on it.
bool standalone_kind(TagType t) {
    return t == TagType::section || t == TagType::inverted || t == TagType::close ||
           t == TagType::comment;
}

bool blank(std::string_view s) {
    return s.find_first_not_of(" \t") == std::string_view::npos;
}

std::string_view slice(std::string_view source, const Token& t) {
    return source.substr(t.begin, t.end - t.begin);
}

bool ends_line(std::string_view source, const Token& t) {
    return t.type == TagType::text && source[t.end - 1] == '\n';
}

// Text tokens cut after each newline, so that a line is a run of pieces.
std::vector<Token> split_at_newlines(std::string_view source, const std::vector<Token>& tokens) {
    std::vector<Token> pieces;
    for (const auto& t : tokens) {
        if (t.type != TagType::text) {
            pieces.push_back(t);
            continue;
        }
        for (std::size_t from = t.begin; from < t.end;) {
            const auto nl = source.find('\n', from);
            const auto stop = (nl == std::string_view::npos || nl >= t.end) ? t.end : nl + 1;
            pieces.push_back({TagType::text, from, stop, {}});
            from = stop;
        }
    }
    return pieces;
}

// The index of the line's only tag when the spec calls the line standalone: one section,
// inverted, close or comment tag, and nothing else but blanks.
std::optional<std::size_t> standalone_tag(std::string_view source, const std::vector<Token>& pieces,
                                          std::size_t first, std::size_t last) {
    std::optional<std::size_t> tag;
    for (std::size_t k = first; k <= last; ++k) {
        if (pieces[k].type != TagType::text) {
            if (tag) return std::nullopt;
            tag = k;
            continue;
        }
        auto text = slice(source, pieces[k]);
        if (text.back() == '\n') text.remove_suffix(1);
        if (!blank(text)) return std::nullopt;
    }
    if (tag && !standalone_kind(pieces[*tag].type)) return std::nullopt;
    return tag;
}

}  // namespace

std::vector<TemplateProblem> check_template(std::string_view source, const NameSchema& names,
                                            bool allow_unescaped) {
    std::vector<Token> tokens;
    if (auto p = tokenize(source, tokens)) return {*p};
    Checker checker(source, names, allow_unescaped);
    for (const auto& t : tokens) {
        if (!checker.visit(t)) return checker.take();
    }
    checker.finish();
    return checker.take();
}

std::string normalise_newlines(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
            out += text[i];
        } else {
            out += '\n';
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        }
    }
    return out;
}

std::vector<TemplateProblem> check_encoding(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x20 && b != '\t' && b != '\n') return {problem_at(text, i, "control character")};
        if (b == 0x7F) return {problem_at(text, i, "control character")};
        std::size_t len = b < 0x80           ? 1
                          : (b >> 5) == 0x6  ? 2
                          : (b >> 4) == 0xE  ? 3
                          : (b >> 3) == 0x1E ? 4
                                             : 0;
        bool ok = len != 0 && i + len <= text.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
        if (ok && len == 2) ok = b >= 0xC2;  // overlong two-byte forms
        if (!ok) return {problem_at(text, i, "not valid UTF-8")};
        i += len;
    }
    return {};
}

std::string prepare_for_kainjow(std::string_view source) {
    std::vector<Token> tokens;
    const auto failed = tokenize(source, tokens);
    (void)failed;  // callers pass checked templates; an unchecked one is passed through as is
    const auto pieces = split_at_newlines(source, tokens);
    std::string out;
    out.reserve(source.size() + source.size() / 16);
    std::size_t first = 0;
    while (first < pieces.size()) {
        std::size_t last = first;  // the line is pieces[first..last], its newline included
        while (last + 1 < pieces.size() && !ends_line(source, pieces[last])) ++last;
        if (const auto tag = standalone_tag(source, pieces, first, last)) {
            out.append(slice(source, pieces[*tag]));  // the line's blanks and newline go
        } else {
            out += line_sentinel;
            out.append(source.substr(pieces[first].begin, pieces[last].end - pieces[first].begin));
        }
        first = last + 1;
    }
    return out;
}

std::string strip_sentinels(std::string_view rendered) {
    std::string out;
    out.reserve(rendered.size());
    for (const char c : rendered) {
        if (c != line_sentinel) out += c;
    }
    return out;
}

}  // namespace referent::mail
