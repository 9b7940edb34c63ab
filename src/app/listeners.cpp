// The listening sockets: see listeners.hpp.
#include "app/listeners.hpp"

#include <algorithm>

#include "util/cat.hpp"
#include "util/log.hpp"

namespace referent::app {

namespace {

const char* role_name(config::Role r) {
    return r == config::Role::public_ ? "public" : "internal";
}

std::string key_of(const config::Listen& l) {
    return util::cat(l.address, "|", std::to_string(l.port), "|",
                     l.protocol == config::Protocol::lmtp ? "lmtp" : "smtp", "|",
                     role_name(l.role));
}

std::shared_ptr<const server::ConnectionSettings> settings_for(
    const config::Config& c, const config::Listen& l, const SpoolSink& sink,
    server::asio::ssl::context* tls, const server::TokenCheck& check_token,
    util::Registry& metrics) {
    const config::Limits& lim = c.gateway.limits;
    server::ConnectionSettings s;
    s.role = role_name(l.role);
    s.idle_timeout = lim.idle_timeout;
    s.tls = tls;
    smtp::SessionOptions& o = s.session;
    o.dialect = l.protocol == config::Protocol::lmtp ? smtp::Dialect::lmtp : smtp::Dialect::smtp;
    o.hostname = c.gateway.hostname;
    o.max_message_size = lim.max_message_size;
    o.max_header_size = lim.max_header_size;
    o.max_data_in_memory = lim.max_data_in_memory;
    o.max_recipients = lim.max_recipients;
    o.max_errors = lim.max_errors;
    o.max_nonmail_commands = lim.max_nonmail_commands;
    o.max_command_length = lim.max_command_length;
    o.tls_available = tls != nullptr;
    auto policy = std::make_shared<server::RecipientPolicy>(c, l.role, check_token);
    o.check_recipient = [policy](const smtp::Address& a) { return policy->check(a); };
    o.has_space = [&sink](std::uint64_t declared) { return sink.has_space(declared); };
    o.on_refusal = [&metrics, role = s.role](const smtp::Reply& r) {
        metrics
            .counter("referent_smtp_refusals_total",
                     "4xx and 5xx replies sent to SMTP/LMTP clients, by listener role, reply "
                     "code and enhanced status code.",
                     {{"role", role},
                      {"code", std::to_string(r.code)},
                      {"status", r.enhanced.empty() ? "none" : r.enhanced}})
            .inc();
    };
    return std::make_shared<const server::ConnectionSettings>(std::move(s));
}

}  // namespace

ListenerSet::ListenerSet(server::asio::io_context& io, SpoolSink& sink,
                         server::ConnectionRegistry& registry, server::asio::ssl::context* tls,
                         util::Registry& metrics)
    : io_(io), sink_(sink), registry_(registry), tls_(tls), metrics_(metrics) {}

util::Status ListenerSet::apply(const config::Config& c, const server::TokenCheck& check_token,
                                bool start) {
    auto known = [this](const std::string& key) {
        return std::find_if(entries_.begin(), entries_.end(),
                            [&key](const Entry& e) { return e.key == key; });
    };
    // First the new sockets: a bind that fails leaves everything as it was.
    std::vector<std::shared_ptr<const server::ConnectionSettings>> settings;
    std::vector<Entry> fresh;
    for (const config::Listen& l : c.gateway.listen) {
        settings.push_back(settings_for(c, l, sink_, tls_, check_token, metrics_));
        const std::string key = key_of(l);
        if (known(key) != entries_.end()) continue;
        auto bound =
            server::Listener::bind(io_, l.address, l.port, settings.back(), sink_, registry_);
        if (!bound) {
            for (Entry& e : fresh) e.listener->close();
            return bound.error();
        }
        auto ep = (*bound)->local_endpoint();
        const std::string addr =
            ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
        util::log_info(
            "referentd",
            util::cat("listening on ", addr, ":", std::to_string(ep.port()),
                      " protocol=", l.protocol == config::Protocol::lmtp ? "lmtp" : "smtp",
                      " role=", role_name(l.role)));
        fresh.push_back({key, std::move(*bound)});
    }
    // Then, committed: in the configuration's order, kept listeners with their new settings.
    std::vector<Entry> next;
    for (std::size_t i = 0; i < c.gateway.listen.size(); ++i) {
        const std::string key = key_of(c.gateway.listen[i]);
        auto kept = known(key);
        if (kept != entries_.end()) {
            kept->listener->set_settings(settings[i]);
            next.push_back(std::move(*kept));
            entries_.erase(kept);
            continue;
        }
        auto made = std::find_if(fresh.begin(), fresh.end(),
                                 [&key](const Entry& e) { return e.key == key; });
        if (made == fresh.end()) continue;  // listed twice: bound once
        if (start) made->listener->start();
        next.push_back(std::move(*made));
        fresh.erase(made);
    }
    for (Entry& e : entries_) {  // no longer listed
        util::log_info("referentd", "no longer listening: " + e.key);
        e.listener->close();
    }
    entries_ = std::move(next);
    return {};
}

void ListenerSet::start_all() {
    for (auto& e : entries_) e.listener->start();
}

void ListenerSet::close_all() {
    for (auto& e : entries_) e.listener->close();
}

}  // namespace referent::app
