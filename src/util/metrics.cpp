// Metrics and their text exposition: see metrics.hpp.
#include "util/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <charconv>
#include <stdexcept>

namespace referent::util {

namespace {

bool valid_name(std::string_view s, bool colon) {
    if (s.empty()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return !s.starts_with("__");
}

std::string escape(std::string_view v, bool quote) {
    std::string out;
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quote && c == '"')
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];  // the shortest text that reads back as the same double
    const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
    return std::string(buf, end);
}

// `{a="x",b="y"}`, with an extra label (le) when given; "" without any label.
std::string label_text(const Labels& labels, std::string_view extra_name = {},
                       std::string_view extra_value = {}) {
    if (labels.empty() && extra_name.empty()) return "";
    std::string s = "{";
    for (const auto& [k, v] : labels) {
        if (s.size() > 1) s += ',';
        s += k + "=\"" + escape(v, true) + "\"";
    }
    if (!extra_name.empty()) {
        if (s.size() > 1) s += ',';
        s.append(extra_name).append("=\"").append(extra_value).append("\"");
    }
    return s + "}";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
    if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
        std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
        throw std::invalid_argument("histogram bounds must increase");
}

void Histogram::observe(double v) {
    const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
    counts_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot s;
    s.bounds = bounds_;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

const std::vector<double>& latency_buckets() {
    static const std::vector<double> b = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,   1,      2.5,   5,    10,    30,   60,  300};
    return b;
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Type type,
                                   const Labels& labels) {
    if (!valid_name(name, true)) throw std::invalid_argument("bad metric name");
    for (const auto& [k, v] : labels)
        if (!valid_name(k, false) || k == "le") throw std::invalid_argument("bad label name");
    auto it = families_.find(name);
    if (it == families_.end())
        it = families_.emplace(std::string(name), Family{type, std::string(help), {}, {}, {}, {}})
                 .first;
    if (it->second.type != type) throw std::invalid_argument("metric type changed");
    return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
    std::lock_guard lock(mu_);
    auto& slot = family(name, help, Type::counter, labels).counters[labels];
    if (!slot) slot = std::make_unique<Counter>();
    return *slot;
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
    std::lock_guard lock(mu_);
    auto& slot = family(name, help, Type::gauge, labels).gauges[labels];
    if (!slot) slot = std::make_unique<Gauge>();
    return *slot;
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               const std::vector<double>& bounds, const Labels& labels) {
    std::lock_guard lock(mu_);
    auto& slot = family(name, help, Type::histogram, labels).histograms[labels];
    if (!slot) slot = std::make_unique<Histogram>(bounds);
    return *slot;
}

void Registry::sampled(std::string_view name, std::string_view help,
                       std::function<std::vector<std::pair<Labels, double>>()> sample) {
    std::lock_guard lock(mu_);
    family(name, help, Type::sampled, {}).sample = std::move(sample);
}

std::string Registry::render() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& [name, f] : families_) {
        const char* type = f.type == Type::counter     ? "counter"
                           : f.type == Type::histogram ? "histogram"
                                                       : "gauge";
        out += "# HELP " + name + " " + escape(f.help, false) + "\n";
        out += "# TYPE " + name + " " + type + "\n";
        for (const auto& [labels, c] : f.counters)
            out += name + label_text(labels) + " " + std::to_string(c->value()) + "\n";
        for (const auto& [labels, g] : f.gauges)
            out += name + label_text(labels) + " " + std::to_string(g->value()) + "\n";
        for (const auto& [labels, h] : f.histograms) {
            const Histogram::Snapshot s = h->snapshot();
            for (std::size_t i = 0; i < s.bounds.size(); ++i)
                out += name + "_bucket" + label_text(labels, "le", number(s.bounds[i])) + " " +
                       std::to_string(s.cumulative[i]) + "\n";
            out += name + "_bucket" + label_text(labels, "le", "+Inf") + " " +
                   std::to_string(s.cumulative.back()) + "\n";
            out += name + "_sum" + label_text(labels) + " " + number(s.sum) + "\n";
            out += name + "_count" + label_text(labels) + " " +
                   std::to_string(s.cumulative.back()) + "\n";
        }
        if (f.sample) {
            auto rows = f.sample();
            std::sort(rows.begin(), rows.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
            for (const auto& [labels, v] : rows)
                out += name + label_text(labels) + " " + number(v) + "\n";
        }
    }
    return out;
}

}  // namespace referent::util
