// The metrics endpoint: see metrics_http.hpp.
#include "server/metrics_http.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::server {

namespace {

constexpr std::size_t max_request = 8 << 10;
constexpr int idle_ms = 5000;

// "host:port" or "[v6]:port" → host, port; false when malformed.
bool split_endpoint(const std::string& e, std::string& host, std::string& port) {
    std::size_t colon = e.rfind(':');
    if (colon == std::string::npos || colon + 1 == e.size()) return false;
    host = e.substr(0, colon);
    port = e.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return !host.empty();
}

void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the client went away: nothing to keep
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string response(int code, std::string_view reason, std::string_view type,
                     const std::string& body, bool head) {
    std::string r =
        util::cat("HTTP/1.1 ", std::to_string(code), " ", reason, "\r\nContent-Type: ", type,
                  "\r\nContent-Length: ", std::to_string(body.size()),
                  "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n");
    if (!head) r += body;
    return r;
}

}  // namespace

MetricsHttp::MetricsHttp(std::function<std::string()> metrics, std::function<Health()> health)
    : metrics_(std::move(metrics)), health_(std::move(health)) {}

MetricsHttp::~MetricsHttp() {
    stop();
}

util::Status MetricsHttp::start(const std::string& endpoint) {
    std::string host, port;
    if (!split_endpoint(endpoint, host, port))
        return util::Error::permanent(util::cat("metrics: bad endpoint ", endpoint));
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* ai = nullptr;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &ai); rc != 0)
        return util::Error::permanent(util::cat("metrics: ", endpoint, ": ", gai_strerror(rc)));
    int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    const bool ok = fd >= 0 && ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                    ::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 16) == 0;
    const int err = errno;
    ::freeaddrinfo(ai);
    if (!ok) {
        if (fd >= 0) ::close(fd);
        return util::Error::permanent(
            util::cat("metrics: cannot listen on ", endpoint, ": ", std::strerror(err)));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    listen_fd_ = fd;
    thread_ = std::thread([this] { run(); });
    return {};
}

void MetricsHttp::run() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;  // a timeout or EINTR: look at stopping_ again
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        serve(fd);
        ::close(fd);
    }
}

void MetricsHttp::serve(int fd) {
    std::string req;
    char buf[2048];
    while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
        if (req.size() > max_request)
            return send_all(
                fd, response(400, "Bad Request", "text/plain", "request too large\n", false));
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, idle_ms) <= 0 || stopping_) return;
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        req.append(buf, static_cast<std::size_t>(n));
    }
    // "METHOD SP target SP HTTP/x.y"
    const std::string line = req.substr(0, req.find_first_of("\r\n"));
    const std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1 || !line.substr(sp2 + 1).starts_with("HTTP/1."))
        return send_all(fd,
                        response(400, "Bad Request", "text/plain", "bad request line\n", false));
    const std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    const bool head = method == "HEAD";
    if (method != "GET" && !head)
        return send_all(fd,
                        response(405, "Method Not Allowed", "text/plain", "GET or HEAD\n", false));
    if (target == "/metrics")
        return send_all(
            fd, response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", metrics_(), head));
    if (target == "/healthz") {
        const Health h = health_();
        return send_all(fd, response(h.ok ? 200 : 503, h.ok ? "OK" : "Service Unavailable",
                                     "text/plain; charset=utf-8", h.text, head));
    }
    send_all(fd, response(404, "Not Found", "text/plain", "/metrics or /healthz\n", head));
}

void MetricsHttp::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
}

}  // namespace referent::server
