// tests/config/bounds_test.cpp — every bounded key at each end of its range and one step past
// (STYLE.md rule 7). A row writes `key: value` into its section of kMinimal and expects either
// a clean load or exactly the one diagnostic naming the range.
#include <gtest/gtest.h>

#include <cctype>

#include "config_fixture.hpp"

namespace referent::config::test {
namespace {

struct Section {
    const char* after;   // the line of kMinimal the key is written after
    const char* opener;  // the mapping's own key line when kMinimal lacks it
    int line;            // the line the key lands on
    const char* indent;  // of the keys in that mapping
    const char* path;    // path prefix, with its trailing dot
};

const Section kLimits{"  spool: var/spool\n", "  limits:\n", 7, "    ", "gateway.limits."};
// max_message_size may go down to 1KiB only with a header limit below it.
const Section kSmallHeader{"  spool: var/spool\n", "  limits:\n    max_header_size: 1KiB\n", 8,
                           "    ", "gateway.limits."};
const Section kGateway{"  spool: var/spool\n", "", 6, "  ", "gateway."};
const Section kRelay{"  maildir: var/outbox\n", "", 10, "  ", "relay."};
const Section kService{"    agents: [anne]\n", "", 20, "    ", "services[0]."};
const Section kAgent{"    email: anne@staff.example.fr\n", "", 24, "    ", "agents[0]."};
const Section kOps{"    email: anne@staff.example.fr\n", "ops:\n", 25, "  ", "ops."};

struct Bound {
    Section section;
    std::string key;
    std::string value;
    std::string reason;  // "" = loads
};

std::ostream& operator<<(std::ostream& os, const Bound& b) {
    return os << b.key << '=' << b.value;
}

std::string yaml_for(const Bound& b) {
    const std::string line =
        std::string(b.section.opener) + b.section.indent + b.key + ": " + b.value + "\n";
    return patched(b.section.after, std::string(b.section.after) + line);
}

std::vector<std::string> want_for(const Bound& b) {
    if (b.reason.empty()) return {"ok"};
    const int column = static_cast<int>(std::string(b.section.indent).size() + b.key.size()) + 3;
    return {"t.yaml:" + std::to_string(b.section.line) + ":" + std::to_string(column) + ": " +
            b.section.path + b.key + ": " + b.reason};
}

// Both ends of a range: min-1 (when there is one), min, max, max+1. Where the upper end is
// another key's value, going past it has its own reason.
std::vector<Bound> range(Section s, const std::string& key, const std::string& below,
                         const std::string& min, const std::string& max, const std::string& above,
                         const std::string& reason, const std::string& above_reason = "") {
    std::vector<Bound> out{{s, key, min, ""},
                           {s, key, max, ""},
                           {s, key, above, above_reason.empty() ? reason : above_reason}};
    if (!below.empty()) out.push_back({s, key, below, reason});
    return out;
}

std::vector<Bound> all_bounds() {
    std::vector<std::vector<Bound>> groups{
        range(kSmallHeader, "max_message_size", "1023B", "1KiB", "2GiB", "2049MiB",
              "must be between 1KiB and 2GiB"),
        range(kLimits, "max_recipients", "0", "1", "100000", "100001",
              "must be between 1 and 100000"),
        range(kLimits, "max_connections", "", "20", "100000", "100001",
              "must be between 1 and 100000"),
        range(kLimits, "max_connections_per_ip", "0", "1", "200", "201",
              "must be between 1 and 100000",
              "must not exceed gateway.limits.max_connections (200)"),
        range(kLimits, "idle_timeout", "0s", "1s", "1h", "3601s", "must be between 1s and 1h"),
        range(kLimits, "max_header_size", "1023", "1KiB", "25MiB", "26214401",
              "must be between 1KiB and 2GiB",
              "must not exceed gateway.limits.max_message_size (25MiB)"),
        range(kLimits, "max_data_in_memory", "1023B", "1KiB", "2GiB", "2049MiB",
              "must be between 1KiB and 2GiB"),
        range(kLimits, "max_mime_depth", "0", "1", "1024", "1025", "must be between 1 and 1024"),
        range(kLimits, "max_mime_parts", "0", "1", "100000", "100001",
              "must be between 1 and 100000"),
        range(kLimits, "max_errors", "0", "1", "1000", "1001", "must be between 1 and 1000"),
        range(kLimits, "max_nonmail_commands", "0", "1", "100000", "100001",
              "must be between 1 and 100000"),
        range(kLimits, "max_command_length", "511", "512", "65536", "65537",
              "must be between 512 and 65536"),
        range(kLimits, "min_free_space", "", "0", "1TiB", "1025GiB", "must be between 0B and 1TiB"),
        range(kLimits, "shutdown_grace", "", "0s", "60m", "61m", "must be between 0s and 1h"),
        range(kGateway, "processor_workers", "", "0", "64", "65", "must be between 0 and 64"),
        range(kGateway, "processor_batch", "0", "1", "1000", "1001",
              "must be between 1 and 1000"),
        range(kLimits, "max_notices_per_day", "0", "1", "1000", "1001",
              "must be between 1 and 1000"),
        range(kLimits, "max_thread_keys", "0", "1", "1000", "1001",
              "must be between 1 and 1000"),
        range(kRelay, "workers", "0", "1", "256", "257", "must be between 1 and 256"),
        range(kOps, "deadline_check", "59s", "1m", "24h", "86401s", "must be between 1m and 1d"),
        range(kRelay, "max_queue_lifetime", "59s", "1m", "365d", "366d",
              "must be between 1m and 365d"),
        range(kRelay, "connect_timeout", "0s", "1s", "10m", "601s", "must be between 1s and 10m"),
        range(kRelay, "timeout", "9s", "10s", "1h", "3601s", "must be between 10s and 1h"),
        range(kService, "response_days", "0", "1", "365", "366", "must be between 1 and 365"),
        range(kService, "reopen_days", "", "0", "730", "731",
              "must not exceed services[0].retention_days (730)"),
        range(kService, "retention_days", "0", "30", "36500", "36501",
              "must be between 1 and 36500"),
        range(kAgent, "max_open_cases", "0", "1", "1000000", "1000001",
              "must be between 1 and 1000000"),
    };
    std::vector<Bound> all;
    for (auto& g : groups) all.insert(all.end(), g.begin(), g.end());
    return all;
}

class ConfigBound : public ::testing::TestWithParam<Bound> {};

TEST_P(ConfigBound, HoldsAtTheBoundAndRefusesOnePast) {
    const Bound& b = GetParam();
    EXPECT_EQ(load_lines(yaml_for(b)), want_for(b)) << yaml_for(b);
}

std::string bound_name(const ::testing::TestParamInfo<Bound>& info) {
    std::string name = info.param.key + "_" + info.param.value;
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
    return name;
}

INSTANTIATE_TEST_SUITE_P(Range, ConfigBound, ::testing::ValuesIn(all_bounds()), bound_name);

TEST(ConfigBound, RetentionBelowReopenBlamesTheKeyWritten) {
    // reopen_days defaults to 30: retention_days 29 is in range but cannot hold a reopenable case.
    EXPECT_EQ(load_lines(yaml_for(Bound{kService, "retention_days", "29", ""})),
              (std::vector<std::string>{"t.yaml:20:21: services[0].retention_days: must be at "
                                        "least services[0].reopen_days (30)"}));
}

TEST(ConfigBound, ValuesAtTheBoundsAreStoredExactly) {
    const std::string yaml =
        patched("  spool: var/spool\n",
                "  spool: var/spool\n  limits: { max_message_size: 2GiB, max_header_size: 1KiB, "
                "max_command_length: 65536, min_free_space: 1TiB, shutdown_grace: 0s }\n");
    const LoadResult result = load_string(yaml, "t.yaml");
    ASSERT_TRUE(result.ok()) << ::testing::PrintToString(lines(result));
    const Limits& l = result.config().gateway.limits;
    EXPECT_EQ(l.max_message_size, 2ull << 30);
    EXPECT_EQ(l.max_header_size, 1024u);
    EXPECT_EQ(l.max_command_length, 65536u);
    EXPECT_EQ(l.min_free_space, 1ull << 40);
    EXPECT_EQ(l.shutdown_grace, Seconds{0});
}

}  // namespace
}  // namespace referent::config::test
