// config/cat.hpp — join strings for diagnostics.
//
// Contract: cat(a, b, …) appends every part (anything convertible to std::string_view) into
// one string. It exists because `"literal" + std::string{…}` trips a false -Wrestrict in GCC 12
// at -O2 (GCC PR 105651), which -Werror turns into a failed RelWithDebInfo build (script/test).
// Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace referent::config {

template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

}  // namespace referent::config
