// tests/mail/golden.hpp — golden files for the renderers: input .eml → expected output .eml.
//
// Contract: golden_inputs(prefix) lists tests/mail/golden/<prefix>*.in.eml. expect_golden()
// compares the rendered bytes with the matching .out.eml, byte for byte; with the environment
// variable REFERENT_REGEN_GOLDEN=1 it writes the file instead (then review the diff). Renders
// are deterministic: Message-ID, Date and boundaries are derived from injected values
// (message_render.hpp), so no normalisation is needed. write_sidecar() writes the .out.json the
// Python strict checker (check_rendered.py) reads: expected From display name and address, and
// header counts.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "mail_fixtures.hpp"

namespace referent::mail::test {

inline std::string golden_dir() {
    return source_path("tests/mail/golden");
}

inline std::vector<std::string> golden_inputs(const std::string& prefix) {
    std::vector<std::string> out;
    for (const std::string& f : eml_files(golden_dir())) {
        std::string base = std::filesystem::path(f).filename().string();
        if (base.rfind(prefix, 0) == 0 && base.size() > 7 &&
            base.compare(base.size() - 7, 7, ".in.eml") == 0)
            out.push_back(f);
    }
    return out;
}

inline std::string output_path(const std::string& in_path, const std::string& ext = ".out.eml") {
    return in_path.substr(0, in_path.size() - 7) + ext;
}

inline bool regenerating() {
    const char* v = std::getenv("REFERENT_REGEN_GOLDEN");
    return v && std::string(v) == "1";
}

inline void write_bytes_to(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
}

inline void expect_golden(const std::string& in_path, const std::string& rendered) {
    const std::string out_path = output_path(in_path);
    if (regenerating()) {
        write_bytes_to(out_path, rendered);
        return;
    }
    ASSERT_TRUE(std::filesystem::exists(out_path))
        << out_path << " missing: run with REFERENT_REGEN_GOLDEN=1";
    EXPECT_EQ(read_file(out_path), rendered) << "differs from " << out_path;
}

inline std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// What check_rendered.py must find in the .out.eml.
inline void write_sidecar(const std::string& in_path, const std::string& display,
                          const std::string& address, const std::map<std::string, int>& counts) {
    if (!regenerating()) return;
    std::string j = "{\n  \"from_display\": " + json_string(display) +
                    ",\n  \"from_address\": " + json_string(address) + ",\n  \"counts\": {";
    bool first = true;
    for (const auto& [name, n] : counts) {
        j +=
            std::string(first ? "" : ",") + "\n    " + json_string(name) + ": " + std::to_string(n);
        first = false;
    }
    j += "\n  }\n}\n";
    write_bytes_to(output_path(in_path, ".out.json"), j);
}

}  // namespace referent::mail::test
