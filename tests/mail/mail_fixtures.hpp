// tests/mail/mail_fixtures.hpp — files and generated messages shared by the mail tests.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace referent::mail::test {

inline std::string source_path(std::string_view relative) {
    return std::string(REFERENT_SOURCE_DIR) + "/" + std::string(relative);
}

// Real bounces from many MTAs (sisimai's set, BSD-2-Clause, see the LICENSE beside them).
inline std::string bounce_corpus_dir() {
    return source_path("tests/corpus/bounces");
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The .eml files of a directory, sorted; empty when it does not exist.
inline std::vector<std::string> eml_files(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".eml") out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

// Writes "\n" as "\r\n", as mail is on the wire.
inline std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

inline const char* nest_head =
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: nest\r\nMIME-Version: 1.0\r\n";

// Vectors G1/G2: n nested multiparts around one text part (depth n, n + 1 parts).
inline std::string nested_multiparts(std::size_t n) {
    std::string s = nest_head;
    for (std::size_t i = 0; i < n; ++i)
        s += "Content-Type: multipart/mixed; boundary=\"b" + std::to_string(i) + "\"\r\n\r\n--b" +
             std::to_string(i) + "\r\n";
    s += "Content-Type: text/plain\r\n\r\nleaf\r\n";
    for (std::size_t i = n; i-- > 0;) s += "\r\n--b" + std::to_string(i) + "--\r\n";
    return s;
}

// Vector G3: n nested message/rfc822 bodies around one text part (depth n, n + 1 parts).
inline std::string nested_messages(std::size_t n) {
    std::string s = nest_head;
    for (std::size_t i = 0; i < n; ++i) s += "Content-Type: message/rfc822\r\n\r\n";
    s += "Content-Type: text/plain\r\n\r\nleaf\r\n";
    return s;
}

// Vector G4: one multipart with `children` parts (children + 1 parts in all).
inline std::string wide_multipart(std::size_t children) {
    std::string s = nest_head;
    s += "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
    for (std::size_t i = 0; i < children; ++i) s += "--b\r\n\r\nx\r\n";
    s += "--b--\r\n";
    return s;
}

}  // namespace referent::mail::test
