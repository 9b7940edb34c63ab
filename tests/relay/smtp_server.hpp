// tests/relay/smtp_server.hpp — a scripted SMTP server on 127.0.0.1, for the transport tests.
//
// Contract: SmtpServer listens on a free port (port 0) and serves one connection at a time on
// its own thread with plain POSIX sockets (and OpenSSL once STARTTLS or smtps is asked for).
// By default it accepts everything; a Script makes it answer differently at one step, close
// the connection, or stall there (read and never answer, until the client gives up). It records
// the conversation as C:/S: lines (AUTH credentials elided, the data summarised) and every
// transaction that reached the end of the data, with the data un-dot-stuffed, so tests compare
// bytes exactly. Records are complete before the server answers, so a test that has its reply
// can read them. The destructor stops the thread, cutting any open connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace referent::relay::test {

// A self-signed certificate for "localhost" (and no IP address) with its key, as PEM files in
// a directory of its own, removed by the destructor.
class TestCertificate {
public:
    TestCertificate();
    ~TestCertificate();
    TestCertificate(const TestCertificate&) = delete;
    TestCertificate& operator=(const TestCertificate&) = delete;
    const std::string& cert_file() const { return cert_; }
    const std::string& key_file() const { return key_; }

private:
    std::string dir_, cert_, key_;
};

enum class At { greeting, ehlo, starttls, auth, mail, rcpt, data, end_of_data };

struct Act {
    std::string reply;   // instead of the normal reply ("" = the normal one)
    bool close = false;  // then close the connection (without a reply when `reply` is "")
    bool stall = false;  // never answer: read and discard until the client closes
    int times = -1;      // how many times this applies (-1 = always); then the normal reply
    int after = 0;       // occurrences answered normally first (counted over all connections)
};

struct Script {
    std::map<At, Act> at;
    bool starttls = false;      // offer STARTTLS (needs `certificate`)
    bool implicit_tls = false;  // smtps: TLS from the first octet (needs `certificate`)
    const TestCertificate* certificate = nullptr;
    // Offer AUTH PLAIN and accept only this user and password.
    std::optional<std::pair<std::string, std::string>> auth;
    bool close_after_message = false;  // drop the connection after each 250 to the data
};

struct Transaction {
    std::string helo;                // argument of the last EHLO/HELO
    std::string mail_from;           // the reverse-path as written, "<a@b>" or "<>"
    std::string mail_params;         // what followed it ("SIZE=123")
    std::vector<std::string> rcpts;  // forward-paths as written
    std::string data;                // un-dot-stuffed, without the final ".\r\n"
    bool tls = false;
    std::string user;   // authenticated user, "" = none
    std::string reply;  // the answer to the end of the data
};

class SmtpServer {
public:
    explicit SmtpServer(Script script = {});
    ~SmtpServer();
    SmtpServer(const SmtpServer&) = delete;
    SmtpServer& operator=(const SmtpServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(const std::string& host = "127.0.0.1") const;  // smtp:// or smtps://

    std::vector<Transaction> messages() const;
    std::vector<std::string> conversation() const;
    int connections() const { return connections_.load(); }
    bool saw_command(const std::string& verb) const;  // "MAIL", "STARTTLS", ...

private:
    class Connection;
    void serve();
    void session(Connection& c);
    // Sends `normal` unless the script says otherwise at `at`; returns the reply sent ("" for
    // none) or nullopt when the connection is over.
    std::optional<std::string> respond(Connection& c, At at, const std::string& normal);
    // The scripted act for the next occurrence of `at` (counted when `consume`), or nullptr.
    const Act* act_for(At at, bool consume);
    bool authenticate(Connection& c, const std::string& line, std::string& user);
    void note(const std::string& line);

    Script script_;
    std::map<At, int> used_;  // server thread only
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::atomic<int> connections_{0};
    std::atomic<int> active_fd_{-1};
    std::atomic<bool> stopping_{false};
    mutable std::mutex mu_;
    std::vector<Transaction> messages_;
    std::vector<std::string> conversation_;
    std::thread thread_;
};

// A port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t closed_port();

}  // namespace referent::relay::test
