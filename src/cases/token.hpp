// cases/token.hpp — signed reply tokens: who may write into which case, carried in a subaddress.
//
// Contract: a token is the lowercase base32 (RFC 4648 alphabet, no padding) of
//   version (4 bits) | purpose (4 bits) | key id (8 bits) | case id (u32 BE) | party (u32 BE)
//   | HMAC-SHA256(key, the 10 bytes before it) truncated to 80 bits
// i.e. 20 bytes, exactly 32 characters (160 bits: no spare bits, so no two spellings but case).
// The MAC covers version, purpose, case, party and key id. Parties: citizen_reply → the case's
// citizen id; agent_reply → the agent's id in the store; bounce → the outbound delivery id.
// verify() accepts the token in any letter case (some MTAs fold case) and nothing else that
// differs by one bit; it compares MACs in constant time and needs no store: a token that
// verifies was minted by a gateway holding one of the keys. Whether the case and party still
// match is the store's question (threading, agent verification).
// Keys: the first of `gateway.secret_files` signs, all verify (rotation). A key file holds at
// least 32 and at most 4096 octets of secret (one trailing LF or CRLF is not part of it); it
// must be a regular file not readable by group or others. The key id is the first octet of
// SHA-256 of the secret, so reordering the files breaks nothing; verify() tries every key
// whose id matches.
// Errors: load() and write_new_secret() return permanent Errors naming the file (temporary
// for a full or failing disk); a secret out of bounds given to from_secrets() is a bug: abort.
// Thread-safety: a TokenKeys is immutable after load; mint() and verify() are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace referent::cases {

enum class TokenPurpose : std::uint8_t { citizen_reply = 1, agent_reply = 2, bounce = 3 };

struct TokenClaims {
    TokenPurpose purpose = TokenPurpose::citizen_reply;
    std::uint32_t case_id = 0;
    std::uint32_t party = 0;
    friend bool operator==(const TokenClaims&, const TokenClaims&) = default;
};

inline constexpr std::size_t token_length = 32;       // characters
inline constexpr std::size_t min_secret_octets = 32;  // per key file
inline constexpr std::size_t max_secret_octets = 4096;

class TokenKeys {
public:
    // Reads every file; errors name the file and the reason (missing, too short, readable by
    // group or others). At least one file.
    static util::Result<TokenKeys> load(const std::vector<std::string>& files);
    // The same from secrets in memory (tests, benchmarks): at least one, each within
    // [min_secret_octets, max_secret_octets].
    static TokenKeys from_secrets(std::vector<std::string> secrets);

    std::string mint(const TokenClaims& claims) const;
    std::optional<TokenClaims> verify(std::string_view token) const;

private:
    struct Key {
        std::uint8_t id = 0;
        std::string secret;
    };
    std::vector<Key> keys_;  // keys_[0] signs
};

// "<local>+<token>@<domain>"; an error when the local part would pass 64 octets (RFC 5321).
util::Result<std::string> token_address(std::string_view local, std::string_view token,
                                        std::string_view domain);

// Writes a new random secret (64 octets from the system CSPRNG, hex) to `path`, mode 0600,
// refusing to overwrite. For `referentctl keygen` and script/server.
util::Status write_new_secret(const std::string& path);

}  // namespace referent::cases
