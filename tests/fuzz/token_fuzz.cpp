// libFuzzer target: arbitrary bytes as a reply token, through TokenKeys::verify.
// A token that verifies is exactly 32 characters and re-minting its claims gives back the
// input lower-cased: no second spelling of a token exists but letter case. Bytes that do not
// verify are also read as claims, which must survive mint → verify (any case) unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cases/token.hpp"

namespace {

using namespace referent::cases;

void check(bool ok) {
    if (!ok) std::abort();
}

// The corpus seeds in tests/fuzz/corpus/token/ are signed with this key.
const TokenKeys& keys() {
    static const TokenKeys k = TokenKeys::from_secrets({"referent token fuzz key, 32+ octets"});
    return k;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::uint32_t u32_at(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
           static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

void claims_round_trip(const std::uint8_t* data, std::size_t size) {
    if (size < 9) return;
    const TokenPurpose purposes[] = {TokenPurpose::citizen_reply, TokenPurpose::agent_reply,
                                     TokenPurpose::bounce};
    const TokenClaims claims{purposes[data[0] % 3], u32_at(data + 1), u32_at(data + 5)};
    const std::string token = keys().mint(claims);
    check(token.size() == token_length);
    check(keys().verify(token) == claims);
    check(keys().verify(upper(token)) == claims);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (std::optional<TokenClaims> claims = keys().verify(input)) {
        check(input.size() == token_length);
        check(keys().mint(*claims) == lower(input));
    } else {
        claims_round_trip(data, size);
    }
    return 0;
}
