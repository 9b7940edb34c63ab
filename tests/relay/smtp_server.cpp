#include "smtp_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <tuple>

namespace referent::relay::test {

namespace {

// libcurl is told to leave signals alone: like referentd, a binary that talks to this server
// ignores SIGPIPE.
const struct IgnoreSigpipe {
    IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }
} kIgnoreSigpipe;

std::string upper(std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string strip_crlf(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

std::string base64_decode(const std::string& in) {
    static const std::string kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (char c : in) {
        const std::size_t v = kAlphabet.find(c);
        if (v == std::string::npos) continue;  // '=' and anything else
        bits = (bits << 6) | static_cast<unsigned>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xff);
        }
    }
    return out;
}

// "MAIL FROM:<a@b> SIZE=1" → {"<a@b>", "SIZE=1"}
std::pair<std::string, std::string> path_and_params(const std::string& line) {
    const std::size_t colon = line.find(':');
    const std::string rest = colon == std::string::npos ? "" : line.substr(colon + 1);
    const std::size_t space = rest.find(' ');
    if (space == std::string::npos) return {rest, ""};
    return {rest.substr(0, space), rest.substr(space + 1)};
}

void check(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(what);
}

}  // namespace

// --- TestCertificate --------------------------------------------------------------------------

TestCertificate::TestCertificate() {
    std::string pattern = "/tmp/referent-cert-XXXXXX";
    check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    dir_ = pattern;
    cert_ = dir_ + "/cert.pem";
    key_ = dir_ + "/key.pem";
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* x = X509_new();
    check(key != nullptr && x != nullptr, "key or certificate");
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    const std::string cn = "localhost";
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        check(ext != nullptr, "extension");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    check(X509_sign(x, key, EVP_sha256()) > 0, "X509_sign");
    FILE* cf = std::fopen(cert_.c_str(), "w");
    FILE* kf = std::fopen(key_.c_str(), "w");
    check(cf != nullptr && kf != nullptr, "fopen");
    check(PEM_write_X509(cf, x) == 1, "PEM_write_X509");
    check(PEM_write_PrivateKey(kf, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM key");
    std::fclose(cf);
    std::fclose(kf);
    X509_free(x);
    EVP_PKEY_free(key);
}

TestCertificate::~TestCertificate() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

// --- Connection -------------------------------------------------------------------------------

class SmtpServer::Connection {
public:
    Connection(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}
    ~Connection() {
        if (ssl_ != nullptr) SSL_free(ssl_);
        if (ctx_ != nullptr) SSL_CTX_free(ctx_);
        ::close(fd_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    bool tls() const { return ssl_ != nullptr; }

    bool start_tls(const TestCertificate& certificate) {
        buf_.clear();  // nothing sent in clear before the handshake counts after it
        pos_ = 0;
        ctx_ = SSL_CTX_new(TLS_server_method());
        if (ctx_ == nullptr ||
            SSL_CTX_use_certificate_file(ctx_, certificate.cert_file().c_str(), SSL_FILETYPE_PEM) !=
                1 ||
            SSL_CTX_use_PrivateKey_file(ctx_, certificate.key_file().c_str(), SSL_FILETYPE_PEM) !=
                1)
            return false;
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        const bool ok = SSL_accept(ssl_) == 1;
        ERR_clear_error();
        return ok;
    }

    bool send(const std::string& text) {
        std::size_t done = 0;
        while (done < text.size()) {
            const std::size_t left = text.size() - done;
            const long n = ssl_ != nullptr
                               ? SSL_write(ssl_, text.data() + done, static_cast<int>(left))
                               : ::send(fd_, text.data() + done, left, MSG_NOSIGNAL);
            if (n <= 0) return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }

    // The next line with its line end, or nullopt at the end of the connection.
    std::optional<std::string> line() {
        for (;;) {
            const std::size_t lf = buf_.find('\n', pos_);
            if (lf != std::string::npos) {
                std::string out = buf_.substr(pos_, lf + 1 - pos_);
                pos_ = lf + 1;
                if (pos_ > (1u << 16)) {
                    buf_.erase(0, pos_);
                    pos_ = 0;
                }
                return out;
            }
            if (!fill()) return std::nullopt;
        }
    }

    void drain() {
        while (fill()) {
            buf_.clear();
            pos_ = 0;
        }
    }

private:
    bool fill() {
        if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
            std::array<pollfd, 2> p{pollfd{fd_, POLLIN, 0}, pollfd{stop_fd_, POLLIN, 0}};
            if (::poll(p.data(), p.size(), -1) < 0 || p[1].revents != 0) return false;
        }
        std::array<char, 65536> chunk{};
        const long n = ssl_ != nullptr ? SSL_read(ssl_, chunk.data(), chunk.size())
                                       : ::recv(fd_, chunk.data(), chunk.size(), 0);
        if (n <= 0) return false;
        buf_.append(chunk.data(), static_cast<std::size_t>(n));
        return true;
    }

    int fd_;
    int stop_fd_;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string buf_;
    std::size_t pos_ = 0;
};

// --- SmtpServer -------------------------------------------------------------------------------

SmtpServer::SmtpServer(Script script) : script_(std::move(script)) {
    check(::pipe2(stop_pipe_, O_CLOEXEC) == 0, "pipe2");
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(listen_fd_ >= 0, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    check(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    check(::listen(listen_fd_, 16) == 0, "listen");
    check(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "name");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

SmtpServer::~SmtpServer() {
    stopping_ = true;
    const char byte = 'x';
    if (::write(stop_pipe_[1], &byte, 1) != 1) std::abort();
    if (const int fd = active_fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);  // a blocked SSL_read
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
}

std::string SmtpServer::url(const std::string& host) const {
    return std::string(script_.implicit_tls ? "smtps://" : "smtp://") + host + ":" +
           std::to_string(port_);
}

std::vector<Transaction> SmtpServer::messages() const {
    std::lock_guard lock(mu_);
    return messages_;
}

std::vector<std::string> SmtpServer::conversation() const {
    std::lock_guard lock(mu_);
    return conversation_;
}

bool SmtpServer::saw_command(const std::string& verb) const {
    std::lock_guard lock(mu_);
    for (const std::string& line : conversation_)
        if (line.starts_with("C: " + verb)) return true;
    return false;
}

void SmtpServer::note(const std::string& line) {
    std::lock_guard lock(mu_);
    conversation_.push_back(line);
}

void SmtpServer::serve() {
    while (!stopping_) {
        std::array<pollfd, 2> p{pollfd{listen_fd_, POLLIN, 0}, pollfd{stop_pipe_[0], POLLIN, 0}};
        if (::poll(p.data(), p.size(), -1) < 0 || p[1].revents != 0) return;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++connections_;
        active_fd_ = fd;
        {
            Connection c(fd, stop_pipe_[0]);
            session(c);
            active_fd_ = -1;
        }
        note("-- closed");
    }
}

const Act* SmtpServer::act_for(At at, bool consume) {
    const auto it = script_.at.find(at);
    if (it == script_.at.end()) return nullptr;
    const int n = consume ? used_[at]++ : used_[at];
    const Act& a = it->second;
    return n >= a.after && (a.times < 0 || n - a.after < a.times) ? &a : nullptr;
}

std::optional<std::string> SmtpServer::respond(Connection& c, At at, const std::string& normal) {
    const Act* scripted = act_for(at, true);
    const Act act = scripted != nullptr ? *scripted : Act{};
    if (act.stall) {
        note("S: (stalls)");
        c.drain();
        return std::nullopt;
    }
    const std::string reply = !act.reply.empty() ? act.reply : act.close ? "" : normal;
    if (!reply.empty()) {
        for (std::size_t at_line = 0; at_line < reply.size();) {
            const std::size_t end = reply.find("\r\n", at_line);
            note("S: " + reply.substr(at_line, end - at_line));
            at_line = end == std::string::npos ? reply.size() : end + 2;
        }
        if (!c.send(reply + "\r\n")) return std::nullopt;
    }
    if (act.close) {
        note("S: (closes the connection)");
        return std::nullopt;
    }
    return reply;
}

bool SmtpServer::authenticate(Connection& c, const std::string& line, std::string& user) {
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = line.find(' ', sp1 + 1);
    const std::string mechanism = upper(line.substr(sp1 + 1, sp2 - sp1 - 1));
    note("C: AUTH " + mechanism + (sp2 == std::string::npos ? "" : " <credentials>"));
    if (!script_.auth || mechanism != "PLAIN")
        return respond(c, At::auth, "504 5.5.4 Unrecognized authentication type").has_value();
    std::string encoded = sp2 == std::string::npos ? "" : line.substr(sp2 + 1);
    if (encoded.empty()) {
        note("S: 334 ");
        if (!c.send("334 \r\n")) return false;
        auto response = c.line();
        if (!response) return false;
        note("C: <credentials>");
        encoded = strip_crlf(*response);
    }
    const std::string plain = base64_decode(encoded);  // authzid NUL user NUL password
    const std::size_t nul1 = plain.find('\0');
    const std::size_t nul2 = plain.find('\0', nul1 + 1);
    const bool ok = nul1 != std::string::npos && nul2 != std::string::npos &&
                    plain.substr(nul1 + 1, nul2 - nul1 - 1) == script_.auth->first &&
                    plain.substr(nul2 + 1) == script_.auth->second;
    if (ok) user = script_.auth->first;
    return respond(c, At::auth,
                   ok ? "235 2.7.0 Authentication successful"
                      : "535 5.7.8 Error: authentication failed")
        .has_value();
}

void SmtpServer::session(Connection& c) {
    if (script_.implicit_tls && !c.start_tls(*script_.certificate)) return;
    if (!respond(c, At::greeting, "220 test.example ESMTP scripted")) return;
    Transaction tx;
    std::string helo, user;
    int queued = 0;
    while (auto raw = c.line()) {
        const std::string line = strip_crlf(*raw);
        const std::string verb = upper(line.substr(0, line.find(' ')));
        if (verb != "AUTH") note("C: " + line);
        if (verb == "EHLO" || verb == "HELO") {
            helo = line.size() > 5 ? line.substr(5) : "";
            std::string r = "250-test.example\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n";
            if (script_.starttls && !c.tls()) r += "250-STARTTLS\r\n";
            if (script_.auth) r += "250-AUTH PLAIN\r\n";
            if (!respond(c, At::ehlo, r + "250 ENHANCEDSTATUSCODES")) return;
        } else if (verb == "STARTTLS") {
            const auto sent = respond(c, At::starttls, "220 2.0.0 Ready to start TLS");
            if (!sent) return;
            if (sent->starts_with("220")) {
                if (!c.start_tls(*script_.certificate)) return;
                note("-- TLS");
                helo.clear();
                user.clear();
            }
        } else if (verb == "AUTH") {
            if (!authenticate(c, line, user)) return;
        } else if (verb == "MAIL") {
            tx = Transaction{};
            std::tie(tx.mail_from, tx.mail_params) = path_and_params(line);
            if (!respond(c, At::mail, "250 2.1.0 Ok")) return;
        } else if (verb == "RCPT") {
            tx.rcpts.push_back(path_and_params(line).first);
            if (!respond(c, At::rcpt, "250 2.1.5 Ok")) return;
        } else if (verb == "DATA") {
            const auto sent = respond(c, At::data, "354 End data with <CR><LF>.<CR><LF>");
            if (!sent) return;
            if (!sent->starts_with("354")) continue;
            for (;;) {
                auto data_line = c.line();
                if (!data_line) return;
                if (*data_line == ".\r\n") break;
                if (data_line->starts_with('.')) data_line->erase(0, 1);
                tx.data += *data_line;
            }
            note("C: <" + std::to_string(tx.data.size()) + " octets>");
            note("C: .");
            tx.helo = helo;
            tx.tls = c.tls();
            tx.user = user;
            const std::string normal = "250 2.0.0 Ok: queued as Q" + std::to_string(++queued);
            const Act* scripted = act_for(At::end_of_data, false);
            tx.reply = scripted != nullptr ? scripted->reply : normal;
            {
                std::lock_guard lock(mu_);
                messages_.push_back(tx);
            }
            if (!respond(c, At::end_of_data, normal)) return;
            if (script_.close_after_message) {
                note("S: (closes the connection)");
                return;
            }
        } else if (verb == "RSET" || verb == "NOOP") {
            note("S: 250 2.0.0 Ok");
            if (!c.send("250 2.0.0 Ok\r\n")) return;
        } else if (verb == "QUIT") {
            note("S: 221 2.0.0 Bye");
            c.send("221 2.0.0 Bye\r\n");
            return;
        } else {
            note("S: 502 5.5.2 Error: command not recognized");
            if (!c.send("502 5.5.2 Error: command not recognized\r\n")) return;
        }
    }
}

std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(fd >= 0, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    check(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "bind");
    check(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0, "getsockname");
    ::close(fd);
    return ntohs(addr.sin_port);
}

}  // namespace referent::relay::test
