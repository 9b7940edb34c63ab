// config/config.cpp — lookups on a loaded configuration (see config.hpp).
#include "config/config.hpp"

#include <algorithm>

namespace referent::config {

namespace {

// Linear: a configuration holds tens of services and hundreds of agents, looked up rarely.
template <class T>
const T* find_by_id(const std::vector<T>& items, const std::string& id) {
    auto it = std::find_if(items.begin(), items.end(), [&](const T& t) { return t.id == id; });
    return it == items.end() ? nullptr : &*it;
}

}  // namespace

const Agent* Config::find_agent(const std::string& id) const {
    return find_by_id(agents, id);
}

const Service* Config::find_service(const std::string& id) const {
    return find_by_id(services, id);
}

}  // namespace referent::config
