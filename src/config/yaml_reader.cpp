// config/yaml_reader.cpp — see yaml_reader.hpp.
#include "config/yaml_reader.hpp"

#include <algorithm>
#include <unordered_map>

#include "config/cat.hpp"
#include "config/units.hpp"

namespace referent::config {

namespace {

// The schema is five levels deep and a large city's file (2,000 agents of ~30 nodes) holds
// about 60,000 nodes: anything beyond these is a mistake or an alias bomb, refused before it
// costs time (yaml-cpp iterates at roughly a microsecond per node) or stack.
constexpr std::size_t kMaxDepth = 32;
constexpr std::size_t kMaxNodes = 200'000;

Pos pos_of(const YAML::Node& node, Pos fallback) {
    const YAML::Mark m = node.Mark();
    if (m.is_null() || m.line < 0) return fallback;
    return Pos{m.line + 1, m.column + 1};
}

std::string item_path(const std::string& list, std::size_t i) {
    return cat(list, "[", std::to_string(i), "]");
}

// Why a scalar is refused whatever its key: the octets that split or cut a header line.
Problem forbidden(std::string_view s) {
    const auto at = s.find_first_of(std::string_view("\r\n\0", 3));
    if (at == s.npos) return std::nullopt;
    const char* name = s[at] == '\r' ? "CR" : s[at] == '\n' ? "LF" : "NUL";
    return cat("must not contain CR, LF or NUL (found ", name, " at octet ", std::to_string(at + 1),
               ")");
}

// Visits every node once per path (aliases are walked where they are used, which is what
// bounds an alias bomb). The path is kept as a stack of segments and spelled out only when
// something is reported, so the walk allocates nothing per node.
class Walk {
public:
    explicit Walk(Reporter& r) : r_(r) {}
    bool too_big() const { return too_big_; }

    void visit(const YAML::Node& n, Pos at) {
        if (too_big_) return;
        if (++nodes_ > kMaxNodes || path_.size() > kMaxDepth) {
            too_big_ = true;
            r_.error(pos_of(n, at), path(), "the document is nested too deeply or is too large");
            return;
        }
        if (n.IsScalar()) {
            if (auto p = forbidden(n.Scalar())) r_.error(pos_of(n, at), path(), *p);
        } else if (n.IsSequence()) {
            std::size_t i = 0;
            for (auto it = n.begin(); it != n.end(); ++it) {
                path_.push_back({nullptr, i++});
                visit(*it, pos_of(n, at));
                path_.pop_back();
            }
        } else if (n.IsMap()) {
            for (auto it = n.begin(); it != n.end(); ++it) visit_entry(it->first, it->second, at);
        }
    }

private:
    struct Segment {
        const std::string* key;  // nullptr: a list index
        std::size_t index;
    };

    void visit_entry(const YAML::Node& key, const YAML::Node& value, Pos at) {
        static const std::string kNonScalar = "?";
        path_.push_back({key.IsScalar() ? &key.Scalar() : &kNonScalar, 0});
        const Pos key_pos = pos_of(key, at);
        visit(key, key_pos);
        visit(value, key_pos);
        path_.pop_back();
    }

    std::string path() const {
        std::string out;
        for (const Segment& s : path_) {
            if (!s.key) {
                out += cat("[", std::to_string(s.index), "]");
                continue;
            }
            if (!out.empty()) out += ".";
            out += path_key(*s.key);
        }
        return out;
    }

    Reporter& r_;
    std::vector<Segment> path_;
    std::size_t nodes_ = 0;
    bool too_big_ = false;
};

// The scalar text of `f`, or nothing after reporting the wrong type (`expected` names the
// right one). Forbidden octets were reported by check_every_scalar: skip quietly.
std::optional<std::string> scalar(Reporter& r, const Field& f, const char* expected) {
    if (f.node.IsNull()) {
        r.error(f.pos, f.path, "has no value");
        return std::nullopt;
    }
    if (!f.node.IsScalar()) {
        r.error(f.pos, f.path, std::string("must be ") + expected);
        return std::nullopt;
    }
    if (forbidden(f.node.Scalar())) return std::nullopt;
    return f.node.Scalar();
}

// Numbers and booleans must be plain: a quoted "100" is a string in YAML.
std::optional<std::string> plain_scalar(Reporter& r, const Field& f, const char* expected) {
    auto s = scalar(r, f, expected);
    if (s && f.node.Tag() == "!") {
        r.error(f.pos, f.path, std::string("must be ") + expected + ", without quotes");
        return std::nullopt;
    }
    return s;
}

using Parser = util::Result<std::uint64_t> (*)(std::string_view);
using Formatter = std::string (*)(std::uint64_t);

std::string plain_number(std::uint64_t v) {
    return std::to_string(v);
}

std::optional<std::uint64_t> read_bounded(Reporter& r, const Field& f, Parser parse,
                                          Formatter format, std::uint64_t min, std::uint64_t max,
                                          std::optional<std::string> text) {
    if (!text) return std::nullopt;
    auto value = parse(*text);
    if (!value) {
        r.error(f.pos, f.path, value.error().message);
        return std::nullopt;
    }
    if (*value < min || *value > max) {
        r.error(f.pos, f.path, cat("must be between ", format(min), " and ", format(max)));
        return std::nullopt;
    }
    return *value;
}

// Levenshtein distance, for "did you mean" on unknown keys (keys are short).
std::size_t distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = up;
        }
    }
    return row[b.size()];
}

}  // namespace

bool check_every_scalar(Reporter& r, const YAML::Node& root) {
    Walk walk(r);
    walk.visit(root, Pos{1, 1});
    return !walk.too_big();
}

std::optional<std::string> read_string(Reporter& r, const Field& f, Check check) {
    auto s = scalar(r, f, "a string");
    if (s && check)
        if (auto problem = check(*s)) r.error(f.pos, f.path, *problem);
    return s;
}

std::optional<std::uint64_t> read_count(Reporter& r, const Field& f, std::uint64_t min,
                                        std::uint64_t max) {
    return read_bounded(r, f, parse_count, plain_number, min, max,
                        plain_scalar(r, f, "a whole number"));
}

std::optional<std::uint64_t> read_size(Reporter& r, const Field& f, std::uint64_t min,
                                       std::uint64_t max) {
    return read_bounded(r, f, parse_size, format_size, min, max, scalar(r, f, "a size"));
}

std::optional<std::uint64_t> read_duration(Reporter& r, const Field& f, std::uint64_t min,
                                           std::uint64_t max) {
    return read_bounded(r, f, parse_duration, format_duration, min, max,
                        scalar(r, f, "a duration"));
}

std::optional<bool> read_bool(Reporter& r, const Field& f) {
    auto s = plain_scalar(r, f, "true or false");
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "True" || *s == "TRUE") return true;
    if (*s == "false" || *s == "False" || *s == "FALSE") return false;
    r.error(f.pos, f.path, "must be true or false");  // not yes/no/on/off: YAML 1.2 core schema
    return std::nullopt;
}

std::optional<Date> read_date(Reporter& r, const Field& f) {
    auto s = scalar(r, f, "a date");
    if (!s) return std::nullopt;
    auto date = parse_date(*s);
    if (!date) {
        r.error(f.pos, f.path, date.error().message);
        return std::nullopt;
    }
    return *date;
}

std::optional<std::size_t> read_choice(Reporter& r, const Field& f,
                                       std::span<const std::string_view> names) {
    std::string all;
    for (std::string_view n : names) all += (all.empty() ? "" : " | ") + std::string(n);
    auto s = scalar(r, f, ("one of " + all).c_str());
    if (!s) return std::nullopt;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (*s == names[i]) return i;
    r.error(f.pos, f.path, "must be one of " + all);
    return std::nullopt;
}

std::vector<Field> read_list(Reporter& r, const Field& f) {
    if (!f.node.IsSequence()) {
        r.error(f.pos, f.path, f.node.IsNull() ? "has no value" : "must be a list");
        return {};
    }
    std::vector<Field> items;
    for (auto it = f.node.begin(); it != f.node.end(); ++it) {
        Field item{*it, item_path(f.path, items.size()), pos_of(*it, f.pos)};
        r.remember(item.path, item.pos);
        items.push_back(std::move(item));
    }
    return items;
}

MapReader::MapReader(Reporter& r, Field map) : r_(r), map_(std::move(map)) {
    is_map_ = map_.node.IsMap();
    if (!is_map_) {
        r_.error(map_.pos, map_.path, map_.node.IsNull() ? "has no value" : "must be a mapping");
        return;
    }
    std::unordered_map<std::string, int> first_line;  // a hash: a mapping may be huge
    for (auto it = map_.node.begin(); it != map_.node.end(); ++it) {
        const bool plain = it->first.IsScalar();
        Entry e{plain ? it->first.Scalar() : "", pos_of(it->first, map_.pos), it->second};
        e.duplicate = !plain;  // reported here, never matched by a read
        if (!plain) r_.error(e.key_pos, map_.path, "keys must be plain strings");
        auto [first, inserted] = first_line.emplace(e.key, e.key_pos.line);
        if (!inserted && plain) {
            e.duplicate = true;
            r_.error(e.key_pos, path_of(e.key),
                     cat("duplicate key (first at line ", std::to_string(first->second), ")"));
        }
        entries_.push_back(std::move(e));
    }
}

MapReader::~MapReader() {
    for (const Entry& e : entries_) {
        if (e.duplicate) continue;
        if (std::find(asked_.begin(), asked_.end(), e.key) != asked_.end()) continue;
        std::string reason = "unknown key";
        auto near = std::find_if(asked_.begin(), asked_.end(), [&](const std::string& known) {
            const auto gap = std::max(known.size(), e.key.size()) -
                             std::min(known.size(), e.key.size());  // a lower bound, cheap
            return known.size() >= 3 && gap <= 2 && distance(e.key, known) <= 2;
        });
        if (near != asked_.end()) reason += " (did you mean \"" + *near + "\"?)";
        r_.error(e.key_pos, path_of(e.key), reason);
    }
}

std::string MapReader::path_of(std::string_view key) const {
    return map_.path.empty() ? path_key(key) : map_.path + "." + path_key(key);
}

bool MapReader::has(std::string_view key) {
    asked_.emplace_back(key);
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.key == key; });
}

std::optional<Field> MapReader::get(std::string_view key, Need need) {
    asked_.emplace_back(key);
    if (!is_map_) return std::nullopt;
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.key == key; });
    if (it == entries_.end()) {
        if (need == Need::required) r_.error(map_.pos, path_of(key), "is required");
        return std::nullopt;
    }
    Field f{it->value, path_of(key), it->key_pos};
    if (!f.node.IsNull()) f.pos = pos_of(f.node, it->key_pos);
    r_.remember(f.path, f.pos);
    if (f.node.IsNull()) {
        r_.error(f.pos, f.path, "has no value");
        return std::nullopt;
    }
    return f;
}

void MapReader::string(std::string_view key, std::string& out, Need need, Check check) {
    if (auto f = get(key, need))
        if (auto s = read_string(r_, *f, check)) out = std::move(*s);
}

void MapReader::string(std::string_view key, std::optional<std::string>& out, Check check) {
    if (auto f = get(key))
        if (auto s = read_string(r_, *f, check)) out = std::move(*s);
}

void MapReader::strings(std::string_view key, std::vector<std::string>& out, Need need, Check check,
                        bool non_empty) {
    std::vector<std::string> values;
    for (const Field& item : list(key, need, non_empty))
        values.push_back(read_string(r_, item, check).value_or(""));
    if (has(key)) out = std::move(values);
}

void MapReader::size(std::string_view key, std::uint64_t& out, std::uint64_t min,
                     std::uint64_t max) {
    if (auto f = get(key))
        if (auto v = read_size(r_, *f, min, max)) out = *v;
}

void MapReader::duration(std::string_view key, Seconds& out, std::uint64_t min, std::uint64_t max) {
    if (auto f = get(key))
        if (auto v = read_duration(r_, *f, min, max)) out = Seconds{static_cast<Seconds::rep>(*v)};
}

void MapReader::boolean(std::string_view key, bool& out) {
    if (auto f = get(key))
        if (auto v = read_bool(r_, *f)) out = *v;
}

std::vector<Field> MapReader::list(std::string_view key, Need need, bool non_empty) {
    auto f = get(key, need);
    if (!f) return {};
    auto items = read_list(r_, *f);
    if (non_empty && items.empty() && f->node.IsSequence())
        r_.error(f->pos, f->path, "must not be an empty list");
    return items;
}

}  // namespace referent::config
