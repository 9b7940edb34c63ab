// Reply tokens: the wire format (pinned by known answers), the one-bit and one-character
// neighbourhood of a token, key rotation, and the key files.
#include "cases/token.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <limits>

#include "spool/temp_dir.hpp"

namespace referent::cases {
namespace {

using test::read_bytes;
using test::TempDir;
using test::write_bytes;

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
const std::string secret_a = "0123456789abcdef0123456789abcdef";  // exactly 32 octets
const std::string secret_b(64, 'b');

constexpr TokenPurpose purposes[] = {TokenPurpose::citizen_reply, TokenPurpose::agent_reply,
                                     TokenPurpose::bounce};
constexpr std::uint32_t max_u32 = std::numeric_limits<std::uint32_t>::max();

using Raw = std::array<std::uint8_t, 20>;

// The test's own base32, so a flip is made on the decoded octets, not on the text.
Raw decode(std::string_view token) {
    Raw raw{};
    std::uint32_t buffer = 0;
    int bits = 0;
    std::size_t at = 0;
    for (char c : token) {
        std::size_t v =
            alphabet.find(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            raw.at(at++) = static_cast<std::uint8_t>(buffer >> bits);
        }
    }
    return raw;
}

std::string encode(const Raw& raw) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::uint8_t o : raw) {
        buffer = (buffer << 8) | o;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += alphabet[(buffer >> bits) & 31u];
        }
    }
    return out;
}

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// A token built by hand from the contract's layout, signed with `secret`: what another
// implementation of the format would produce.
std::string forge(std::uint8_t version_purpose, const std::string& secret, std::uint32_t case_id,
                  std::uint32_t party) {
    std::array<std::uint8_t, 32> digest{};
    unsigned int len = 0;
    EVP_Digest(secret.data(), secret.size(), digest.data(), &len, EVP_sha256(), nullptr);
    Raw raw{version_purpose, digest[0]};
    for (int i = 0; i < 4; ++i) {
        raw.at(static_cast<std::size_t>(2 + i)) =
            static_cast<std::uint8_t>(case_id >> (24 - 8 * i));
        raw.at(static_cast<std::size_t>(6 + i)) = static_cast<std::uint8_t>(party >> (24 - 8 * i));
    }
    std::array<std::uint8_t, 32> mac{};
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), raw.data(), 10, mac.data(),
         &len);
    for (std::size_t i = 0; i < 10; ++i) raw.at(10 + i) = mac.at(i);
    return encode(raw);
}

TEST(Token, RoundTripForEachPurpose) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    for (TokenPurpose p : purposes) {
        const TokenClaims claims{p, 1234, 56789};
        const std::string token = keys.mint(claims);
        EXPECT_EQ(keys.verify(token), claims) << token;
    }
}

// Pinned values: reply addresses already sent out must keep verifying after an upgrade.
TEST(Token, KnownAnswers) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    EXPECT_EQ(keys.mint({TokenPurpose::citizen_reply, 42, 7}), "ce7aaaaafiaaaaah5v3vscciomzcs7yo");
    EXPECT_EQ(keys.mint({TokenPurpose::agent_reply, max_u32, 0}),
              "ci7p777774aaaaaalwmmlduf42n6d5lv");
    EXPECT_EQ(keys.mint({TokenPurpose::bounce, 0, max_u32}), "cm7aaaaaad7777777vgkamkigcbqxsl2");
    EXPECT_EQ(forge(0x11, secret_a, 42, 7), "ce7aaaaafiaaaaah5v3vscciomzcs7yo");
}

TEST(Token, ThirtyTwoCharactersOfTheLowercaseAlphabet) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    for (TokenPurpose p : purposes) {
        for (std::uint32_t v : {0u, 1u, 0x80000000u, max_u32}) {
            const std::string token = keys.mint({p, v, max_u32 - v});
            ASSERT_EQ(token.size(), token_length);
            EXPECT_EQ(token.find_first_not_of(alphabet), std::string::npos) << token;
        }
    }
}

TEST(Token, AnyLetterCaseVerifies) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    const TokenClaims claims{TokenPurpose::citizen_reply, 77, 3};
    const std::string token = keys.mint(claims);
    std::string mixed = token;
    for (std::size_t i = 0; i < mixed.size(); i += 2)
        mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
    EXPECT_NE(mixed, token);
    EXPECT_EQ(keys.verify(upper(token)), claims);
    EXPECT_EQ(keys.verify(mixed), claims);
}

TEST(Token, EverySingleBitFlipFails) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    for (TokenPurpose p : purposes) {
        const std::string token = keys.mint({p, 123456, 654321});
        const Raw raw = decode(token);
        ASSERT_EQ(encode(raw), token);
        for (std::size_t bit = 0; bit < raw.size() * 8; ++bit) {
            Raw flipped = raw;
            flipped.at(bit / 8) ^= static_cast<std::uint8_t>(0x80u >> (bit % 8));
            EXPECT_FALSE(keys.verify(encode(flipped))) << "bit " << bit;
        }
    }
}

TEST(Token, EverySingleCharacterSubstitutionFails) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    const std::string token = keys.mint({TokenPurpose::agent_reply, 9, 10});
    std::string others = std::string(alphabet) + upper(std::string(alphabet)) + "0189=-+@. _";
    others += '\0';
    others += '\xff';
    for (std::size_t pos = 0; pos < token.size(); ++pos) {
        for (char c : others) {
            if (std::tolower(static_cast<unsigned char>(c)) == token[pos]) continue;
            std::string changed = token;
            changed[pos] = c;
            EXPECT_FALSE(keys.verify(changed)) << "position " << pos << " char " << int{c};
        }
    }
}

TEST(Token, TruncatedAndExtendedTokensFail) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    const std::string token = keys.mint({TokenPurpose::bounce, 5, 6});
    for (std::size_t n = 0; n < token_length; ++n) {
        EXPECT_FALSE(keys.verify(token.substr(0, n))) << "prefix of " << n;
        EXPECT_FALSE(keys.verify(token.substr(token_length - n))) << "suffix of " << n;
    }
    for (char c : alphabet) EXPECT_FALSE(keys.verify(token + c)) << c;
    const std::string tails[] = {"=", "====", "\n", "\r\n", " ", std::string(1, '\0')};
    for (const std::string& tail : tails) EXPECT_FALSE(keys.verify(token + tail)) << tail;
    EXPECT_FALSE(keys.verify(token + token));
    EXPECT_FALSE(keys.verify(token.substr(1) + "a"));
}

TEST(Token, WellSignedButUnknownVersionOrPurposeFails) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    EXPECT_EQ(keys.verify(forge(0x13, secret_a, 1, 2)), (TokenClaims{TokenPurpose::bounce, 1, 2}));
    const std::uint8_t others[] = {0x10, 0x14, 0x1f, 0x01, 0x21, 0x00, 0xf1};
    for (std::uint8_t vp : others) EXPECT_FALSE(keys.verify(forge(vp, secret_a, 1, 2))) << int{vp};
}

TEST(Token, RotationVerifiesWithEveryKeyAndMintsWithTheFirst) {
    const TokenKeys a = TokenKeys::from_secrets({secret_a});
    const TokenKeys b = TokenKeys::from_secrets({secret_b});
    const TokenKeys ab = TokenKeys::from_secrets({secret_a, secret_b});
    const TokenKeys ba = TokenKeys::from_secrets({secret_b, secret_a});
    const TokenClaims claims{TokenPurpose::citizen_reply, 100, 200};

    const std::string by_b = b.mint(claims);
    EXPECT_EQ(ab.verify(by_b), claims);
    EXPECT_EQ(ba.verify(by_b), claims);
    EXPECT_FALSE(a.verify(by_b));
    EXPECT_EQ(ab.verify(a.mint(claims)), claims);

    EXPECT_EQ(ba.mint(claims), by_b);
    EXPECT_EQ(ab.mint(claims), a.mint(claims));
    EXPECT_FALSE(a.verify(ba.mint(claims)));
}

// Two secrets whose key ids collide (1 in 256): each still verifies its own tokens.
TEST(Token, KeysSharingAnIdAreAllTried) {
    const TokenKeys a = TokenKeys::from_secrets({secret_a});
    const std::string a_token = a.mint({TokenPurpose::agent_reply, 1, 1});
    std::string twin;
    for (int i = 0; twin.empty(); ++i) {
        std::string candidate = secret_b + std::to_string(i);
        std::string t =
            TokenKeys::from_secrets({candidate}).mint({TokenPurpose::agent_reply, 1, 1});
        if (t.substr(0, 4) == a_token.substr(0, 4)) twin = candidate;  // same first 16 bits
    }
    const TokenClaims claims{TokenPurpose::bounce, 8, 9};
    const std::string by_twin = TokenKeys::from_secrets({twin}).mint(claims);
    EXPECT_EQ(TokenKeys::from_secrets({secret_a, twin}).verify(by_twin), claims);
    EXPECT_EQ(TokenKeys::from_secrets({twin, secret_a}).verify(a.mint(claims)), claims);
    EXPECT_FALSE(a.verify(by_twin));
}

TEST(Token, ClaimsAtTheirBounds) {
    const TokenKeys keys = TokenKeys::from_secrets({secret_a});
    for (TokenPurpose p : purposes) {
        for (std::uint32_t case_id : {0u, max_u32}) {
            for (std::uint32_t party : {0u, max_u32}) {
                const TokenClaims claims{p, case_id, party};
                EXPECT_EQ(keys.verify(keys.mint(claims)), claims);
            }
        }
    }
}

// -- key files ---------------------------------------------------------------------------

std::string key_file(const TempDir& dir, const std::string& name, const std::string& bytes,
                     mode_t mode = 0600) {
    const std::string path = (dir.path() / name).string();
    write_bytes(path, bytes);
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
}

std::string load_error(const std::vector<std::string>& files) {
    auto keys = TokenKeys::load(files);
    if (keys) return "loaded";
    EXPECT_FALSE(keys.error().is_temporary());
    return keys.error().message;
}

TEST(TokenKeyFile, OneTrailingNewlineIsStripped) {
    TempDir dir;
    const TokenClaims claims{TokenPurpose::citizen_reply, 1, 2};
    const std::string token = TokenKeys::from_secrets({secret_a}).mint(claims);
    for (const char* ending : {"", "\n", "\r\n"}) {
        auto keys = TokenKeys::load({key_file(dir, "k", secret_a + ending)});
        ASSERT_TRUE(keys) << keys.error().message;
        EXPECT_EQ(keys->verify(token), claims) << "ending " << ending;
    }
    auto two = TokenKeys::load({key_file(dir, "k", secret_a + "\n\n")});
    ASSERT_TRUE(two);
    EXPECT_FALSE(two->verify(token));  // only one newline goes: the other is secret
}

TEST(TokenKeyFile, LengthAtTheBoundsAndPastThem) {
    TempDir dir;
    const std::string short_key = key_file(dir, "short", secret_a.substr(1) + "\n");
    EXPECT_EQ(load_error({short_key}), short_key + ": 31 octets of secret, at least 32 needed");
    EXPECT_EQ(load_error({key_file(dir, "exact", secret_a + "\r\n")}), "loaded");
    EXPECT_EQ(load_error({key_file(dir, "empty", "")}),
              (dir.path() / "empty").string() + ": 0 octets of secret, at least 32 needed");
    EXPECT_EQ(load_error({key_file(dir, "max", std::string(max_secret_octets, 'm') + "\n")}),
              "loaded");
    const std::string long_key = key_file(dir, "long", std::string(max_secret_octets + 1, 'm'));
    EXPECT_EQ(load_error({long_key}), long_key + ": more than 4096 octets of secret");
}

TEST(TokenKeyFile, ReadableByGroupOrOthersIsRefused) {
    TempDir dir;
    const mode_t modes[] = {0644, 0640, 0604, 0660, 0601};
    for (mode_t mode : modes) {
        const std::string path = key_file(dir, "secret.key", secret_a, mode);
        EXPECT_EQ(load_error({path}), path + ": readable by group or others (chmod 600)")
            << std::oct << mode;
    }
    EXPECT_EQ(load_error({key_file(dir, "secret.key", secret_a, 0400)}), "loaded");
}

TEST(TokenKeyFile, MissingNotRegularAndEmptyList) {
    TempDir dir;
    const std::string missing = (dir.path() / "nope.key").string();
    EXPECT_EQ(load_error({missing}),
              missing + ": No such file or directory (create one with referentctl keygen)");
    const std::string good = key_file(dir, "good", secret_a);
    EXPECT_EQ(load_error({good, missing}).substr(0, missing.size() + 1), missing + ":");
    EXPECT_EQ(load_error({dir.path().string()}), dir.path().string() + ": not a regular file");
    EXPECT_EQ(load_error({}), "gateway.secret_files: no secret file");
}

TEST(TokenKeyFile, EveryFileVerifiesAndTheFirstSigns) {
    TempDir dir;
    const std::string a = key_file(dir, "a", secret_a + "\n");
    const std::string b = key_file(dir, "b", secret_b + "\n");
    auto keys = TokenKeys::load({b, a});
    ASSERT_TRUE(keys);
    const TokenClaims claims{TokenPurpose::agent_reply, 3, 4};
    EXPECT_EQ(keys->mint(claims), TokenKeys::from_secrets({secret_b}).mint(claims));
    EXPECT_EQ(keys->verify(TokenKeys::from_secrets({secret_a}).mint(claims)), claims);
}

// -- addresses and new secrets -----------------------------------------------------------

TEST(TokenAddress, LocalPartOfSixtyFourOctetsAndOnePast) {
    const std::string token = TokenKeys::from_secrets({secret_a}).mint({});
    const std::string local31(31, 'a');
    auto at_bound = token_address(local31, token, "agents.example.gov");
    ASSERT_TRUE(at_bound) << at_bound.error().message;
    EXPECT_EQ(*at_bound, local31 + "+" + token + "@agents.example.gov");
    EXPECT_EQ(at_bound->find('@'), 64u);
    auto past = token_address(local31 + "a", token, "agents.example.gov");
    ASSERT_FALSE(past);
    EXPECT_FALSE(past.error().is_temporary());
    EXPECT_NE(past.error().message.find("65 octets"), std::string::npos) << past.error().message;
}

TEST(WriteNewSecret, CreatesAPrivateHexFileAndRefusesToOverwrite) {
    TempDir dir;
    const std::string path = (dir.path() / "secret.key").string();
    util::Status st = write_new_secret(path);
    ASSERT_TRUE(st) << st.error().message;
    struct stat info {};
    ASSERT_EQ(::stat(path.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    const std::string first = read_bytes(path);
    ASSERT_EQ(first.size(), 129u);
    EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), 128u);
    EXPECT_EQ(first.back(), '\n');
    EXPECT_TRUE(TokenKeys::load({path}));

    util::Status again = write_new_secret(path);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().message, path + ": exists; refusing to overwrite a secret");
    EXPECT_EQ(read_bytes(path), first);

    const std::string other = (dir.path() / "other.key").string();
    ASSERT_TRUE(write_new_secret(other));
    EXPECT_NE(read_bytes(other), first);
}

TEST(WriteNewSecret, ErrorsNameThePath) {
    TempDir dir;
    const std::string path = (dir.path() / "no-such-dir" / "secret.key").string();
    util::Status st = write_new_secret(path);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().message, path + ": No such file or directory");
}

}  // namespace
}  // namespace referent::cases
