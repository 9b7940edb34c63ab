// util/cat.hpp — join strings.
//
// Contract: cat(a, b, …) appends every part (anything convertible to std::string_view) into
// one string. It exists because `"literal" + std::string{…}` trips a false -Wrestrict in GCC 12
// at -O2 and -O3 (GCC PR 105651), which -Werror turns into a failed build.
// Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace referent::util {

template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

}  // namespace referent::util
