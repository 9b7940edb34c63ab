// tests/spool/temp_dir.hpp — a fresh directory under /tmp per test, removed afterwards.
//
// Contract: TempDir() creates /tmp/referent-test-XXXXXX with mkdtemp (aborting the test binary
// if it cannot: the host is broken, not the code). The destructor removes the whole tree.
// Small helpers to read, write and list files keep the tests reading like transcripts.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace referent::test {

class TempDir {
public:
    TempDir() {
        std::string pattern = "/tmp/referent-test-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) std::abort();
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline std::string read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

// File names directly in `dir`, sorted; empty if `dir` does not exist.
inline std::set<std::string> list_dir(const std::filesystem::path& dir) {
    std::set<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        names.insert(it->path().filename().string());
    }
    return names;
}

}  // namespace referent::test
