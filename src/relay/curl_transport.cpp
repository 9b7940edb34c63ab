#include "relay/curl_transport.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string_view>
#include <vector>

#include "relay/outbound_check.hpp"
#include "util/cat.hpp"

namespace referent::relay {

namespace {

constexpr std::size_t kMaxPassword = 4096;
constexpr std::size_t kMaxReplyShown = 512;  // octets of a relay's reply kept for the log

// curl_global_init is not thread-safe and must run once before any handle exists.
CURLcode global_init() {
    static std::once_flag once;
    static CURLcode result = CURLE_OK;
    std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
    return result;
}

util::Error password_error(const std::string& path, std::string_view what) {
    return util::Error::permanent(util::cat("relay.password_file: ", path, ": ", what));
}

util::Result<std::string> read_password(const std::string& path) {
    int fd;
    do {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return password_error(path, std::strerror(errno));
    std::string text;
    std::string problem;
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        problem = std::strerror(errno);
    else if (!S_ISREG(st.st_mode))
        problem = "not a regular file";
    else if ((st.st_mode & 077) != 0)
        problem = "readable by group or others (chmod 600)";
    std::array<char, 1024> chunk{};
    while (problem.empty() && text.size() <= kMaxPassword + 2) {
        const ssize_t n = ::read(fd, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) problem = std::strerror(errno);
        if (n <= 0) break;
        text.append(chunk.data(), static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (!problem.empty()) return password_error(path, problem);
    if (text.ends_with("\r\n"))
        text.resize(text.size() - 2);
    else if (text.ends_with('\n'))
        text.pop_back();
    if (text.empty()) return password_error(path, "empty");
    if (text.size() > kMaxPassword) return password_error(path, "longer than 4096 octets");
    if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
        return password_error(path, "holds a line break or NUL: the password is one line");
    return text;
}

// smtp://host:port/<ehlo name>: libcurl takes the EHLO name from the URL's path.
std::string url_with_ehlo(std::string_view url, std::string_view ehlo) {
    const std::size_t scheme = url.find("://");
    const std::size_t path = url.find('/', scheme == std::string_view::npos ? 0 : scheme + 3);
    std::string out(url.substr(0, path));
    if (ehlo.empty()) return out;  // libcurl then sends the local host name
    out += '/';
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char c : ehlo) {
        const auto u = static_cast<unsigned char>(c);
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
        if (plain) {
            out += c;
        } else {
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
    return out;
}

// What the conversation with the relay was at when a transfer ended, as seen through
// libcurl's debug callback: the command last sent and the last reply line received.
enum class Step { greeting, ehlo, starttls, auth, mail, rcpt, data };

const char* step_name(Step s) {
    switch (s) {
        case Step::greeting:
            return "the greeting";
        case Step::ehlo:
            return "EHLO";
        case Step::starttls:
            return "STARTTLS";
        case Step::auth:
            return "AUTH";
        case Step::mail:
            return "MAIL";
        case Step::rcpt:
            return "RCPT";
        case Step::data:
            return "DATA";
    }
    return "?";
}

class Trace {
public:
    // A command line as libcurl sent it. SASL continuations (after a 334) and the data are no
    // commands, and the credentials they carry are never kept. libcurl says QUIT when it
    // closes a connection after a failure: that changes nothing about the message.
    void command(std::string_view line) {
        if (step_ == Step::auth && code_ == 334) return;
        const std::string_view verb = line.substr(0, line.find_first_of(" \r\n"));
        if (verb == "QUIT") quitting_ = true;
        static constexpr std::pair<std::string_view, Step> kVerbs[] = {
            {"EHLO", Step::ehlo}, {"HELO", Step::ehlo}, {"STARTTLS", Step::starttls},
            {"AUTH", Step::auth}, {"MAIL", Step::mail}, {"RCPT", Step::rcpt},
            {"DATA", Step::data}};
        for (const auto& [name, step] : kVerbs)
            if (verb == name && !quitting_) step_ = step;
    }

    // One or more reply lines; the answer to QUIT is ignored.
    void replies(std::string_view text) {
        while (!text.empty() && !quitting_) {
            const std::size_t end = text.find('\n');
            reply_line(text.substr(0, end));
            text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        }
    }

    Step step() const { return step_; }
    int code() const { return code_; }
    const std::string& last_reply() const { return last_reply_; }

private:
    void reply_line(std::string_view line) {
        while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
        if (line.empty()) return;
        last_reply_.assign(line.substr(0, kMaxReplyShown));
        for (char& c : last_reply_)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        code_ = 0;
        if (line.size() >= 3 && std::all_of(line.begin(), line.begin() + 3,
                                            [](char c) { return c >= '0' && c <= '9'; }))
            code_ = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    }

    Step step_ = Step::greeting;
    bool quitting_ = false;
    int code_ = 0;
    std::string last_reply_;
};

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* userp) {
    auto* trace = static_cast<Trace*>(userp);
    if (type == CURLINFO_HEADER_OUT) trace->command(std::string_view(data, size));
    if (type == CURLINFO_HEADER_IN) trace->replies(std::string_view(data, size));
    return 0;
}

struct Upload {
    std::string_view bytes;
    std::size_t sent = 0;
};

size_t on_read(char* buffer, size_t size, size_t nitems, void* userp) {
    auto* up = static_cast<Upload*>(userp);
    const std::size_t n = std::min(size * nitems, up->bytes.size() - up->sent);
    std::memcpy(buffer, up->bytes.data() + up->sent, n);
    up->sent += n;
    return n;
}

// The sockets of the handle's connections (the connection cache holds at most one: the relay's).
// After a failed transfer libcurl keeps the connection to say QUIT later, waiting for the
// answer up to relay.timeout again: a relay that stalls would hold a worker twice as long.
// Shutting the socket down first makes that QUIT fail at once; the connection was done anyway.
struct Sockets {
    std::vector<curl_socket_t> open;

    void shut_down() const {
        for (curl_socket_t fd : open) ::shutdown(fd, SHUT_RDWR);
    }
};

curl_socket_t on_open_socket(void* userp, curlsocktype, curl_sockaddr* address) {
    const curl_socket_t fd =
        ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd >= 0) static_cast<Sockets*>(userp)->open.push_back(fd);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

int on_close_socket(void* userp, curl_socket_t fd) {
    auto& open = static_cast<Sockets*>(userp)->open;
    open.erase(std::remove(open.begin(), open.end(), fd), open.end());
    return ::close(fd);
}

long millis(std::chrono::seconds s) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(s).count());
}

long use_ssl(config::StartTls t) {
    switch (t) {
        case config::StartTls::never:
            return CURLUSESSL_NONE;
        case config::StartTls::opportunistic:
            return CURLUSESSL_TRY;
        case config::StartTls::required:
            return CURLUSESSL_ALL;
    }
    return CURLUSESSL_ALL;
}

// A refusal of this message by the relay, as opposed to a problem of the connection or of
// the gateway's own configuration (greeting, EHLO, STARTTLS, AUTH, 530 at MAIL).
bool refuses_the_message(const Trace& t) {
    const bool message_step =
        t.step() == Step::mail || t.step() == Step::rcpt || t.step() == Step::data;
    return message_step && t.code() >= 500 && t.code() <= 599 && t.code() != 530;
}

DeliveryResult outcome_of(CURLcode rc, const Trace& t, const char* error) {
    if (rc == CURLE_OK) return {Outcome::delivered, t.last_reply()};
    const Outcome outcome = refuses_the_message(t) ? Outcome::permanent : Outcome::temporary;
    if (t.code() >= 400)
        return {outcome, util::cat(t.last_reply(), " (reply to ", step_name(t.step()), ")")};
    const std::string_view detail = *error != '\0' ? error : curl_easy_strerror(rc);
    if (t.code() == 0 && t.step() == Step::greeting)
        return {outcome, util::cat(detail, " (connecting)")};
    return {outcome, util::cat(detail, " (after ", step_name(t.step()), ")")};
}

}  // namespace

struct CurlTransport::State {
    CurlSettings settings;
    CURL* easy = nullptr;
    std::array<char, CURL_ERROR_SIZE> error{};
    Upload upload;
    Trace trace;
    Sockets sockets;

    State() = default;
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
        if (easy != nullptr) curl_easy_cleanup(easy);  // sends QUIT on an open connection
    }

    // One transfer, with the options deliver() set; the per-transfer state starts afresh.
    CURLcode perform(std::string_view bytes) {
        upload = Upload{bytes, 0};
        trace = Trace{};
        error[0] = '\0';
        const CURLcode rc = curl_easy_perform(easy);
        if (rc != CURLE_OK) sockets.shut_down();
        return rc;
    }

    // A reused connection that failed before the relay said a word (it closed it as MAIL went
    // out): the relay cannot have taken anything, so a new connection may try at once. Not
    // after a timeout: that would double the time a silent relay holds the worker.
    bool dead_on_reuse(CURLcode rc) const {
        long connects = 1;
        return rc != CURLE_OK && rc != CURLE_OPERATION_TIMEDOUT && trace.last_reply().empty() &&
               curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK &&
               connects == 0;
    }

    // The options every transfer shares; a failure means this libcurl lacks a feature.
    CURLcode configure() {
        const CurlSettings& s = settings;
        const std::string url = url_with_ehlo(s.url, s.ehlo_name);
        CURLcode first = CURLE_OK;
        auto check = [&first](CURLcode rc) {
            if (first == CURLE_OK) first = rc;
        };
        check(curl_easy_setopt(easy, CURLOPT_URL, url.c_str()));
        check(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps"));
        check(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
        check(curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error.data()));
        check(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, millis(s.connect_timeout)));
        check(curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, millis(s.timeout)));
        check(curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                               static_cast<long>(s.timeout.count())));
        check(curl_easy_setopt(easy, CURLOPT_USE_SSL, use_ssl(s.starttls)));
        check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L));
        check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L));
        check(curl_easy_setopt(easy, CURLOPT_SSLVERSION, long{CURL_SSLVERSION_TLSv1_2}));
        if (!s.ca_file.empty()) check(curl_easy_setopt(easy, CURLOPT_CAINFO, s.ca_file.c_str()));
        if (s.username) {
            check(curl_easy_setopt(easy, CURLOPT_USERNAME, s.username->c_str()));
            check(curl_easy_setopt(easy, CURLOPT_PASSWORD, s.password.c_str()));
        }
        check(curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L));
        check(curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read));
        check(curl_easy_setopt(easy, CURLOPT_READDATA, &upload));
        check(curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, on_open_socket));
        check(curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &sockets));
        check(curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket));
        check(curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, &sockets));
        check(curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, on_debug));
        check(curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &trace));
        check(curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L));  // feeds on_debug, prints nothing
        return first;
    }
};

CurlTransport::CurlTransport(std::unique_ptr<State> state) : state_(std::move(state)) {}

CurlTransport::~CurlTransport() = default;

util::Result<std::unique_ptr<CurlTransport>> CurlTransport::create(CurlSettings settings) {
    if (const CURLcode rc = global_init(); rc != CURLE_OK)
        return util::Error::temporary(util::cat("libcurl: ", curl_easy_strerror(rc)));
    auto state = std::make_unique<State>();
    state->settings = std::move(settings);
    state->easy = curl_easy_init();
    if (state->easy == nullptr) return util::Error::temporary("libcurl: curl_easy_init failed");
    if (const CURLcode rc = state->configure(); rc != CURLE_OK)
        return util::Error::permanent(util::cat("libcurl: ", curl_easy_strerror(rc)));
    return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(state)));
}

DeliveryResult CurlTransport::deliver(const OutboundMessage& m) {
    if (auto refused = refusal(m)) return *refused;
    State& s = *state_;
    const std::string from = util::cat("<", m.mail_from, ">");  // "<>": the null sender
    const std::string to = util::cat("<", m.rcpt, ">");
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> rcpt(
        curl_slist_append(nullptr, to.c_str()), &curl_slist_free_all);
    if (!rcpt) return {Outcome::temporary, "libcurl: out of memory"};
    CURLcode rc = curl_easy_setopt(s.easy, CURLOPT_MAIL_FROM, from.c_str());
    if (rc == CURLE_OK) rc = curl_easy_setopt(s.easy, CURLOPT_MAIL_RCPT, rcpt.get());
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(s.easy, CURLOPT_INFILESIZE_LARGE,
                              static_cast<curl_off_t>(m.bytes.size()));
    if (rc == CURLE_OK) {
        rc = s.perform(m.bytes);
        if (s.dead_on_reuse(rc)) rc = s.perform(m.bytes);
    }
    // The list dies with this call: the handle must not keep pointing at it.
    curl_easy_setopt(s.easy, CURLOPT_MAIL_RCPT, static_cast<curl_slist*>(nullptr));
    DeliveryResult result = outcome_of(rc, s.trace, s.error.data());
    if (rc != CURLE_OK && s.trace.code() == 0) {
        long code = 0;  // what libcurl saw if the trace did not (it always should)
        if (curl_easy_getinfo(s.easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code != 0)
            result.reply = util::cat(std::to_string(code), " ", result.reply);
    }
    return result;
}

util::Result<CurlSettings> curl_settings(const config::Relay& relay, const std::string& hostname) {
    if (!relay.url) return util::Error::permanent("relay.url is not set");
    CurlSettings s;
    s.url = *relay.url;
    s.ehlo_name = hostname;
    s.starttls = relay.starttls;
    s.connect_timeout = relay.connect_timeout;
    s.timeout = relay.timeout;
    if (relay.username) {
        if (!relay.password_file)
            return util::Error::permanent("relay.username requires relay.password_file");
        auto password = read_password(*relay.password_file);
        if (!password) return password.error();
        s.username = relay.username;
        s.password = std::move(password).value();
    }
    return s;
}

util::Result<std::unique_ptr<Transport>> make_curl_transport(const config::Relay& relay,
                                                             const std::string& hostname) {
    auto settings = curl_settings(relay, hostname);
    if (!settings) return settings.error();
    auto transport = CurlTransport::create(std::move(settings).value());
    if (!transport) return transport.error();
    return std::unique_ptr<Transport>(std::move(transport).value());
}

}  // namespace referent::relay
