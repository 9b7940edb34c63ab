// referentd — the Référent mail gateway daemon.
//
// Usage: referentd [-c FILE] [--check-config] [--version] [--help]
// Exit codes: 0 ok, 1 environment (port in use, spool unwritable), 2 configuration or usage.
#include <cstdlib>
#include <iostream>
#include <string>

#include "app/daemon.hpp"
#include "mail/message.hpp"
#include "ops/check.hpp"
#include "util/log.hpp"

namespace {

constexpr const char* default_config = "/etc/referent/referent.yaml";

void usage(std::ostream& out) {
    out << "usage: referentd [-c FILE] [--check-config] [--version]\n"
           "  -c, --config FILE   configuration file (default "
        << default_config
        << ")\n"
           "  --check-config      validate the configuration, print every problem, and exit\n"
           "                      (0 valid, 2 invalid)\n"
           "  --version           print the version and exit\n"
           "exit codes: 0 ok, 1 environment (port in use, spool unwritable), 2 configuration\n";
}

referent::util::LogLevel level_of(referent::config::LogLevelName n) {
    using referent::config::LogLevelName;
    using referent::util::LogLevel;
    switch (n) {
        case LogLevelName::debug:
            return LogLevel::debug;
        case LogLevelName::info:
            return LogLevel::info;
        case LogLevelName::warning:
            return LogLevel::warning;
        case LogLevelName::error:
            return LogLevel::error;
    }
    return LogLevel::info;
}

}  // namespace

int main(int argc, char** argv) {
    referent::mail::init();  // GMime, once, before any thread (guide/MIME.md)
    std::string path = default_config;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc) {
            path = argv[++i];
        } else if (a == "--check-config") {
            check_only = true;
        } else if (a == "--version") {
            std::cout << "referentd " REFERENT_VERSION "\n";
            return 0;
        } else if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        } else {
            std::cerr << "referentd: unknown argument: " << a << "\n";
            usage(std::cerr);
            return 2;
        }
    }
    if (check_only) return referent::ops::check_config_command(path, std::cout, std::cerr);

    referent::util::set_log_priority_prefix(std::getenv("JOURNAL_STREAM") != nullptr);
    auto checked = referent::ops::load_checked(path);
    if (!checked.config) {
        for (const auto& p : checked.problems) std::cerr << p << "\n";
        return 2;
    }
    referent::util::set_log_level(level_of(checked.config->ops.log_level));
    return referent::app::run_daemon(*checked.config);
}
