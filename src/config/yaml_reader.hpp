// config/yaml_reader.hpp — typed, position-aware reading of a yaml-cpp tree (internal to config/).
//
// Contract: every reader reports what is wrong with the node it reads through the Reporter
// (wrong type, bad value, out of range, missing, unknown or duplicate key) and returns nothing
// or leaves its output untouched, so the caller keeps going and one run finds every problem.
// A value that fails only its Check (syntax of an address, id…) is reported and still stored,
// so later cross-checks (references, duplicates) do not cascade from one typo. Scalars holding
// CR, LF or NUL are reported once, by check_every_scalar, and silently skipped by the readers.
// Integers and booleans must be plain scalars: "100" or "false" in quotes are strings in YAML,
// and silently converting them would hide a mistake. yaml-cpp may throw on a broken tree; the
// caller (load.cpp) catches. Not thread-safe; one tree per reader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/report.hpp"
#include "config/syntax.hpp"

namespace referent::config {

struct Field {
    YAML::Node node;
    std::string path;  // "services[0].agents[1]"
    Pos pos;           // of the value, or of its key when the value is empty
};

enum class Need { optional, required };
using Check = Problem (*)(std::string_view);

// Reports CR, LF or NUL in every scalar under `root`, keys included, whatever the schema says
// about them. Returns false, after reporting, when the tree is too deep or too big (an alias
// bomb): the caller must not walk it again.
bool check_every_scalar(Reporter& r, const YAML::Node& root);

std::optional<std::string> read_string(Reporter& r, const Field& f, Check check = nullptr);
std::optional<std::uint64_t> read_count(Reporter& r, const Field& f, std::uint64_t min,
                                        std::uint64_t max);
std::optional<std::uint64_t> read_size(Reporter& r, const Field& f, std::uint64_t min,
                                       std::uint64_t max);
std::optional<std::uint64_t> read_duration(Reporter& r, const Field& f, std::uint64_t min,
                                           std::uint64_t max);  // seconds
std::optional<bool> read_bool(Reporter& r, const Field& f);
std::optional<Date> read_date(Reporter& r, const Field& f);
std::optional<std::size_t> read_choice(Reporter& r, const Field& f,
                                       std::span<const std::string_view> names);
// The items of a sequence, each with its path "path[i]"; reports anything else.
std::vector<Field> read_list(Reporter& r, const Field& f);

// One YAML mapping. The constructor reports a non-mapping and duplicate keys; the destructor
// reports every key that no reader asked for, so the schema is written once, as the reads.
class MapReader {
public:
    MapReader(Reporter& r, Field map);
    ~MapReader();
    MapReader(const MapReader&) = delete;
    MapReader& operator=(const MapReader&) = delete;

    const Field& field() const { return map_; }
    Reporter& reporter() { return r_; }
    bool is_map() const { return is_map_; }
    std::string path_of(std::string_view key) const;

    // The value under `key`; nothing when absent (reported if required) or empty (reported).
    std::optional<Field> get(std::string_view key, Need need = Need::optional);
    bool has(std::string_view key);  // present, even empty; counts as asked

    void string(std::string_view key, std::string& out, Need need, Check check = nullptr);
    void string(std::string_view key, std::optional<std::string>& out, Check check = nullptr);
    // A list of strings replaces the default as a whole; failed items are kept as "" so the
    // indices in later paths stay those of the file.
    void strings(std::string_view key, std::vector<std::string>& out, Need need, Check check,
                 bool non_empty);
    void size(std::string_view key, std::uint64_t& out, std::uint64_t min, std::uint64_t max);
    void duration(std::string_view key, Seconds& out, std::uint64_t min, std::uint64_t max);
    void boolean(std::string_view key, bool& out);
    std::vector<Field> list(std::string_view key, Need need, bool non_empty);

    template <class T>
    void count(std::string_view key, T& out, std::uint64_t min, std::uint64_t max,
               Need need = Need::optional) {
        if (auto f = get(key, need))
            if (auto v = read_count(r_, *f, min, max)) out = static_cast<T>(*v);
    }

    template <class T>
    void choice(std::string_view key, T& out,
                std::initializer_list<std::pair<std::string_view, T>> options) {
        auto f = get(key);
        if (!f) return;
        std::vector<std::string_view> names;
        for (const auto& o : options) names.push_back(o.first);
        if (auto i = read_choice(r_, *f, names)) out = std::data(options)[*i].second;
    }

private:
    struct Entry {
        std::string key;
        Pos key_pos;
        YAML::Node value;
        bool duplicate = false;  // or not a plain key: already reported, never "unknown"
    };

    Reporter& r_;
    Field map_;
    bool is_map_ = false;
    std::vector<Entry> entries_;
    std::vector<std::string> asked_;
};

}  // namespace referent::config
