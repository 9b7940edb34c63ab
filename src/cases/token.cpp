#include "cases/token.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "util/fd.hpp"

namespace referent::cases {

namespace {

constexpr std::uint8_t token_version = 1;
constexpr std::size_t signed_octets = 10;  // version|purpose, key id, case id, party
constexpr std::size_t mac_octets = 10;     // HMAC-SHA256 truncated to 80 bits
constexpr std::size_t token_octets = signed_octets + mac_octets;
static_assert(token_octets * 8 == token_length * 5, "base32 without padding or spare bits");

constexpr std::string_view alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::size_t new_secret_octets = 64;

using Raw = std::array<std::uint8_t, token_octets>;
using Mac = std::array<std::uint8_t, EVP_MAX_MD_SIZE>;

[[noreturn]] void bug(const char* what) {
    std::fprintf(stderr, "fatal: cases/token: %s\n", what);
    std::abort();
}

std::uint8_t key_id_of(const std::string& secret) {
    std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
    SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest.data());
    return digest[0];
}

// The full HMAC-SHA256 of the signed prefix of `raw`.
Mac mac_of(const std::string& secret, const Raw& raw) {
    Mac mac{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), raw.data(),
             signed_octets, mac.data(), &len) == nullptr ||
        len < mac_octets)
        bug("HMAC-SHA256 failed");
    return mac;
}

void put_u32(std::uint8_t* out, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) {
        out[i] = static_cast<std::uint8_t>(v & 0xffu);
        v >>= 8;
    }
}

std::uint32_t get_u32(const std::uint8_t* in) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | in[i];
    return v;
}

std::string base32(const Raw& raw) {
    std::string out;
    out.reserve(token_length);
    std::uint32_t buffer = 0;
    int bits = 0;
    for (std::uint8_t octet : raw) {
        buffer = (buffer << 8) | octet;
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out += alphabet[(buffer >> bits) & 31u];
        }
    }
    return out;
}

int base32_value(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

std::optional<Raw> unbase32(std::string_view text) {
    if (text.size() != token_length) return std::nullopt;
    Raw raw{};
    std::size_t at = 0;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        int v = base32_value(c);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 5) | static_cast<std::uint32_t>(v);
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            raw[at++] = static_cast<std::uint8_t>((buffer >> bits) & 0xffu);
        }
    }
    return raw;
}

bool known_purpose(unsigned p) {
    return p == static_cast<unsigned>(TokenPurpose::citizen_reply) ||
           p == static_cast<unsigned>(TokenPurpose::agent_reply) ||
           p == static_cast<unsigned>(TokenPurpose::bounce);
}

using util::Fd;
using util::open_retrying;

util::Error file_error(const std::string& path, const std::string& what, int err) {
    std::string msg = path + ": " + what + std::strerror(err);
    // A full or failing disk may recover; the rest needs the operator.
    if (err == ENOSPC || err == EIO || err == EDQUOT) return util::Error::temporary(msg);
    return util::Error::permanent(msg);
}

// Reads at most max_secret_octets + 2 (a trailing CRLF), enough to tell "too long".
util::Result<std::string> read_secret(const std::string& path) {
    Fd fd(open_retrying(path, O_RDONLY));
    if (fd.get() < 0) {
        int err = errno;
        std::string hint = err == ENOENT ? " (create one with referentctl keygen)" : "";
        return util::Error::permanent(path + ": " + std::strerror(err) + hint);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return file_error(path, "", errno);
    if (!S_ISREG(st.st_mode)) return util::Error::permanent(path + ": not a regular file");
    if ((st.st_mode & 077) != 0)
        return util::Error::permanent(path + ": readable by group or others (chmod 600)");
    std::string secret;
    std::array<char, 1024> chunk{};
    while (secret.size() <= max_secret_octets + 2) {
        ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return file_error(path, "", errno);
        if (n == 0) break;
        secret.append(chunk.data(), static_cast<std::size_t>(n));
    }
    if (secret.ends_with("\r\n"))
        secret.resize(secret.size() - 2);
    else if (secret.ends_with('\n'))
        secret.pop_back();
    if (secret.size() < min_secret_octets)
        return util::Error::permanent(path + ": " + std::to_string(secret.size()) +
                                      " octets of secret, at least " +
                                      std::to_string(min_secret_octets) + " needed");
    if (secret.size() > max_secret_octets)
        return util::Error::permanent(path + ": more than " + std::to_string(max_secret_octets) +
                                      " octets of secret");
    return secret;
}

util::Status write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return file_error(path, "write: ", errno);
        if (n == 0) return file_error(path, "write: ", EIO);
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

util::Status fsync_retrying(int fd, const std::string& path) {
    int rc;
    do {
        rc = ::fsync(fd);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return file_error(path, "fsync: ", errno);
    return {};
}

// The new file's name must be durable too: a token minted with a key that a crash then
// loses could never be verified.
util::Status fsync_parent(const std::string& path) {
    std::size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    Fd fd(open_retrying(dir, O_RDONLY | O_DIRECTORY));
    if (fd.get() < 0) return file_error(dir, "open: ", errno);
    return fsync_retrying(fd.get(), dir);
}

std::string new_secret_hex() {
    std::array<std::uint8_t, new_secret_octets> octets{};
    if (RAND_bytes(octets.data(), static_cast<int>(octets.size())) != 1)
        bug("RAND_bytes failed: no entropy");
    static constexpr std::string_view hex = "0123456789abcdef";
    std::string out;
    out.reserve(2 * octets.size() + 1);
    for (std::uint8_t o : octets) {
        out += hex[o >> 4];
        out += hex[o & 15u];
    }
    out += '\n';
    OPENSSL_cleanse(octets.data(), octets.size());
    return out;
}

}  // namespace

util::Result<TokenKeys> TokenKeys::load(const std::vector<std::string>& files) {
    if (files.empty()) return util::Error::permanent("gateway.secret_files: no secret file");
    std::vector<std::string> secrets;
    for (const auto& file : files) {
        auto secret = read_secret(file);
        if (!secret) return secret.error();
        secrets.push_back(std::move(*secret));
    }
    return from_secrets(std::move(secrets));
}

TokenKeys TokenKeys::from_secrets(std::vector<std::string> secrets) {
    if (secrets.empty()) bug("TokenKeys::from_secrets: no secret");
    TokenKeys keys;
    for (auto& s : secrets) {
        if (s.size() < min_secret_octets || s.size() > max_secret_octets)
            bug("TokenKeys::from_secrets: secret size out of bounds");
        std::uint8_t id = key_id_of(s);
        keys.keys_.push_back({id, std::move(s)});
    }
    return keys;
}

std::string TokenKeys::mint(const TokenClaims& claims) const {
    const Key& key = keys_.front();
    Raw raw{};
    raw[0] = static_cast<std::uint8_t>((token_version << 4) |
                                       (static_cast<unsigned>(claims.purpose) & 15u));
    raw[1] = key.id;
    put_u32(&raw[2], claims.case_id);
    put_u32(&raw[6], claims.party);
    Mac mac = mac_of(key.secret, raw);
    std::memcpy(&raw[signed_octets], mac.data(), mac_octets);
    return base32(raw);
}

std::optional<TokenClaims> TokenKeys::verify(std::string_view token) const {
    std::optional<Raw> raw = unbase32(token);
    if (!raw) return std::nullopt;
    const Raw& r = *raw;
    unsigned purpose = r[0] & 15u;
    if ((r[0] >> 4) != token_version || !known_purpose(purpose)) return std::nullopt;
    bool valid = false;
    // Every key with this id (two secrets may share the first octet of their digest).
    for (const Key& key : keys_) {
        if (key.id != r[1]) continue;
        Mac mac = mac_of(key.secret, r);
        if (CRYPTO_memcmp(mac.data(), &r[signed_octets], mac_octets) == 0) valid = true;
    }
    if (!valid) return std::nullopt;
    return TokenClaims{static_cast<TokenPurpose>(purpose), get_u32(&r[2]), get_u32(&r[6])};
}

util::Result<std::string> token_address(std::string_view local, std::string_view token,
                                        std::string_view domain) {
    std::string out;
    out.reserve(local.size() + 1 + token.size() + 1 + domain.size());
    out.append(local).append("+").append(token);
    if (out.size() > 64)
        return util::Error::permanent("local part of " + std::to_string(out.size()) +
                                      " octets, more than 64: " + out);
    out.append("@").append(domain);
    return out;
}

util::Status write_new_secret(const std::string& path) {
    Fd fd(open_retrying(path, O_CREAT | O_EXCL | O_WRONLY, 0600));
    if (fd.get() < 0) {
        int err = errno;
        if (err == EEXIST)
            return util::Error::permanent(path + ": exists; refusing to overwrite a secret");
        return file_error(path, "", err);
    }
    std::string hex = new_secret_hex();
    util::Status st = write_all(fd.get(), hex, path);
    OPENSSL_cleanse(hex.data(), hex.size());
    if (st) st = fsync_retrying(fd.get(), path);
    if (st && ::close(fd.release()) != 0 && errno != EINTR) st = file_error(path, "close: ", errno);
    if (st) st = fsync_parent(path);
    if (!st) ::unlink(path.c_str());  // ours (O_EXCL): never leave a half-written secret
    return st;
}

}  // namespace referent::cases
