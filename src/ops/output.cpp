// referentctl's output: see output.hpp.
#include "ops/output.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace referent::ops {

namespace {

std::string flat(std::string s) {
    for (char& c : s)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    return s;
}

}  // namespace

void Table::print(std::ostream& out) const {
    std::vector<std::size_t> width(header_.size(), 0);
    auto measure = [&width](const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i)
            width[i] = std::max(width[i], cells[i].size());
    };
    measure(header_);
    for (const auto& r : rows_) measure(r);
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s;
        for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
            std::string cell = flat(cells[i]);
            if (i + 1 < cells.size()) cell.resize(width[i] + 2, ' ');
            s += cell;
        }
        out << s << '\n';
    };
    line(header_);
    for (const auto& r : rows_) line(r);
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"')
            out += "\\\"";
        else if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else
            out += ch;
    }
    return out + "\"";
}

void JsonObject::key(std::string_view k) {
    if (!body_.empty()) body_ += ", ";
    body_ += json_string(k) + ": ";
}

JsonObject& JsonObject::text(std::string_view k, std::string_view v) {
    key(k);
    body_ += json_string(v);
    return *this;
}

JsonObject& JsonObject::number(std::string_view k, std::int64_t v) {
    key(k);
    body_ += std::to_string(v);
    return *this;
}

JsonObject& JsonObject::boolean(std::string_view k, bool v) {
    key(k);
    body_ += v ? "true" : "false";
    return *this;
}

JsonObject& JsonObject::null(std::string_view k) {
    key(k);
    body_ += "null";
    return *this;
}

JsonObject& JsonObject::raw(std::string_view k, std::string_view json) {
    key(k);
    body_ += json;
    return *this;
}

std::string json_array(const std::vector<std::string>& values) {
    std::string s = "[";
    for (std::size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + values[i];
    return s + "]";
}

std::string day_text(std::chrono::year_month_day d) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                  static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
    return buf;
}

std::optional<std::chrono::year_month_day> parse_day(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    int y = 0;
    unsigned m = 0, d = 0;
    auto num = [&s](std::size_t at, std::size_t n, auto& v) {
        auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + n, v);
        return ec == std::errc() && p == s.data() + at + n;
    };
    if (!num(0, 4, y) || !num(5, 2, m) || !num(8, 2, d)) return std::nullopt;
    std::chrono::year_month_day day{std::chrono::year{y}, std::chrono::month{m},
                                    std::chrono::day{d}};
    if (!day.ok()) return std::nullopt;
    return day;
}

std::string instant_text(std::chrono::system_clock::time_point t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace referent::ops
