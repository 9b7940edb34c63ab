// ops/output.hpp — how referentctl prints: aligned tables for people, JSON for scripts.
//
// Contract: Table collects rows of cells and prints them left-aligned under a header, two
// spaces apart, one line per row (cells never contain a line break: they are flattened to
// spaces). Json builds one JSON value as text: strings are escaped per RFC 8259 (control
// characters as \u00XX; bytes that are not UTF-8 pass through unchanged, as stored). Dates
// print as YYYY-MM-DD, instants as UTC "YYYY-MM-DDTHH:MM:SSZ".
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace referent::ops {

class Table {
public:
    explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
    void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
    void print(std::ostream& out) const;
    bool empty() const { return rows_.empty(); }

private:
    std::vector<std::string> header_;
    std::vector<std::vector<std::string>> rows_;
};

std::string json_string(std::string_view s);  // with its quotes

// A JSON object written field by field: {"a": 1, "b": "x"}.
class JsonObject {
public:
    JsonObject& text(std::string_view key, std::string_view value);
    JsonObject& number(std::string_view key, std::int64_t value);
    JsonObject& boolean(std::string_view key, bool value);
    JsonObject& null(std::string_view key);
    JsonObject& raw(std::string_view key, std::string_view json);  // an already-built value
    std::string str() const { return "{" + body_ + "}"; }

private:
    void key(std::string_view k);
    std::string body_;
};

std::string json_array(const std::vector<std::string>& values);  // values already JSON

std::string day_text(std::chrono::year_month_day d);
std::optional<std::chrono::year_month_day> parse_day(std::string_view s);  // YYYY-MM-DD, valid
std::string instant_text(std::chrono::system_clock::time_point t);

}  // namespace referent::ops
