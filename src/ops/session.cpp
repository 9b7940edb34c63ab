// referentctl's shared plumbing: see session.hpp.
#include "ops/session.hpp"

#include "cases/open_store.hpp"
#include "ops/check.hpp"

namespace referent::ops {

Args Args::parse(const std::vector<std::string>& args, const std::set<std::string>& flags,
                 const std::set<std::string>& options) {
    Args a;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& s = args[i];
        if (s == "--help" || flags.count(s)) {
            a.flags.insert(s);
        } else if (options.count(s)) {
            if (i + 1 >= args.size()) {
                a.error = s + " needs a value";
                return a;
            }
            if (!a.options.emplace(s, args[++i]).second) {
                a.error = s + " given twice";
                return a;
            }
        } else if (s.size() > 1 && s[0] == '-') {
            a.error = "unknown option " + s;
            return a;
        } else {
            a.positional.push_back(s);
        }
    }
    return a;
}

std::optional<std::string> Args::option(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

std::unique_ptr<StoreSession> open_store(const std::string& config_path, const char* command,
                                         std::ostream& err, int& rc) {
    Checked checked = load_checked(config_path);
    if (!checked.config) {
        for (const auto& p : checked.problems) err << p << '\n';
        rc = 2;
        return nullptr;
    }
    auto s = std::make_unique<StoreSession>();
    s->config = std::make_shared<const config::Config>(std::move(*checked.config));
    auto store = cases::open_case_store(s->config, s->clock);
    if (!store) {
        err << "referentctl: " << command << ": " << store.error().message << '\n';
        rc = 1;
        return nullptr;
    }
    s->store = std::move(store).value();
    rc = 0;
    return s;
}

int store_error(const util::Error& e, const char* command, std::ostream& err) {
    err << "referentctl: " << command << ": " << e.message << '\n';
    return e.is_temporary() ? 1 : 2;
}

}  // namespace referent::ops
