#include "server/connection_registry.hpp"

#include <vector>

namespace referent::server {

ConnectionRegistry::Id ConnectionRegistry::admit(const std::string& ip,
                                                 std::function<void()> on_shutdown,
                                                 std::function<void()> on_force) {
    if (live_.size() >= max_total_) return 0;
    auto& count = per_ip_[ip];
    if (count >= max_per_ip_) return 0;
    ++count;
    Id id = next_++;
    live_.emplace(id, Entry{ip, std::move(on_shutdown), std::move(on_force)});
    return id;
}

void ConnectionRegistry::release(Id id) {
    auto it = live_.find(id);
    if (it == live_.end()) return;
    auto ip = per_ip_.find(it->second.ip);
    if (ip != per_ip_.end() && --ip->second == 0) per_ip_.erase(ip);
    live_.erase(it);
    if (live_.empty() && on_empty_) on_empty_();
}

void ConnectionRegistry::shutdown_all() {
    stopping_ = true;
    // Callbacks may release entries; iterate over a snapshot of ids.
    std::vector<Id> ids;
    for (const auto& [id, e] : live_) ids.push_back(id);
    for (Id id : ids)
        if (auto it = live_.find(id); it != live_.end()) it->second.on_shutdown();
}

void ConnectionRegistry::force_all() {
    std::vector<Id> ids;
    for (const auto& [id, e] : live_) ids.push_back(id);
    for (Id id : ids)
        if (auto it = live_.find(id); it != live_.end()) it->second.on_force();
}

}  // namespace referent::server
