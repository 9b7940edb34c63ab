// What a reload may change: see reload.hpp.
#include "app/reload.hpp"

namespace referent::app {

namespace {

bool same_tls(const std::optional<config::Tls>& a, const std::optional<config::Tls>& b) {
    if (a.has_value() != b.has_value()) return false;
    return !a || (a->certificate == b->certificate && a->key == b->key);
}

bool same_relay(const config::Relay& a, const config::Relay& b) {
    return a.url == b.url && a.starttls == b.starttls && a.username == b.username &&
           a.password_file == b.password_file && a.workers == b.workers && a.retry == b.retry &&
           a.max_queue_lifetime == b.max_queue_lifetime && a.connect_timeout == b.connect_timeout &&
           a.timeout == b.timeout && a.maildir == b.maildir;
}

}  // namespace

std::vector<std::string> restart_only_changes(const config::Config& a, const config::Config& b) {
    std::vector<std::string> out;
    auto check = [&out](bool same, const char* key) {
        if (!same) out.emplace_back(key);
    };
    check(a.store.sqlite == b.store.sqlite && a.store.postgresql == b.store.postgresql, "store");
    check(a.gateway.spool == b.gateway.spool, "gateway.spool");
    check(a.gateway.hostname == b.gateway.hostname, "gateway.hostname");
    check(same_tls(a.gateway.tls, b.gateway.tls), "gateway.tls");
    check(same_relay(a.relay, b.relay), "relay");
    check(a.gateway.processor_workers == b.gateway.processor_workers, "gateway.processor_workers");
    check(a.gateway.processor_batch == b.gateway.processor_batch, "gateway.processor_batch");
    const config::Limits &la = a.gateway.limits, &lb = b.gateway.limits;
    check(la.max_connections == lb.max_connections, "gateway.limits.max_connections");
    check(la.max_connections_per_ip == lb.max_connections_per_ip,
          "gateway.limits.max_connections_per_ip");
    check(la.min_free_space == lb.min_free_space, "gateway.limits.min_free_space");
    check(la.shutdown_grace == lb.shutdown_grace, "gateway.limits.shutdown_grace");
    check(a.ops.metrics_listen == b.ops.metrics_listen, "ops.metrics_listen");
    return out;
}

}  // namespace referent::app
