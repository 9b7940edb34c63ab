#include "ops/check.hpp"

#include <sstream>

#include "cases/token.hpp"
#include "config/load.hpp"
#include "mail/template.hpp"

namespace referent::ops {

namespace {

void split_lines(const std::string& text, std::vector<std::string>& out) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
}

}  // namespace

Checked load_checked(const std::string& path) {
    Checked checked;
    config::LoadResult loaded = config::load_file(path);
    if (!loaded.ok()) {
        for (const auto& d : loaded.diagnostics()) checked.problems.push_back(d.to_string());
        return checked;
    }
    auto templates = mail::TemplateSet::load(loaded.config().organisation);
    if (!templates) {
        split_lines(templates.error().message, checked.problems);
        return checked;
    }
    // The reply-token keys: a missing, short or world-readable key file is the operator's to fix.
    if (auto keys = cases::TokenKeys::load(loaded.config().gateway.secret_files); !keys) {
        checked.problems.push_back(keys.error().message);
        return checked;
    }
    checked.config = std::move(loaded.config());
    return checked;
}

int check_config_command(const std::string& path, std::ostream& out, std::ostream& err) {
    Checked checked = load_checked(path);
    if (!checked.config) {
        for (const auto& p : checked.problems) err << p << '\n';
        return 2;
    }
    out << path << ": ok\n";
    return 0;
}

}  // namespace referent::ops
