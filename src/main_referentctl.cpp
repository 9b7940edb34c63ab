// referentctl — operations command line for Référent.
//
// Usage: referentctl [-c FILE] COMMAND [ARGS]
// Commands: check-config. Exit codes: 0 ok, 1 environment, 2 configuration or usage.
#include <iostream>
#include <string>
#include <vector>

#include "config/check.hpp"

namespace {

constexpr const char* default_config = "/etc/referent/referent.yaml";

void usage(std::ostream& out) {
    out << "usage: referentctl [-c FILE] COMMAND\n"
           "  -c, --config FILE   configuration file (default "
        << default_config
        << ")\n"
           "  --version           print the version and exit\n"
           "commands:\n"
           "  check-config        validate the configuration; print every problem as\n"
           "                      FILE:LINE:COL: key: reason; exit 0 (valid) or 2 (invalid)\n";
}

}  // namespace

int main(int argc, char** argv) {
    std::string path = default_config;
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "-c" || a == "--config") && i + 1 < argc)
            path = argv[++i];
        else if (a == "--version") {
            std::cout << "referentctl " REFERENT_VERSION "\n";
            return 0;
        } else if (a == "--help" || a == "-h") {
            usage(std::cout);
            return 0;
        } else
            rest.push_back(a);
    }
    if (rest.empty()) {
        usage(std::cerr);
        return 2;
    }
    if (rest[0] == "check-config" && rest.size() == 1)
        return referent::config::check_config_command(path, std::cout, std::cerr);
    std::cerr << "referentctl: unknown command: " << rest[0] << "\n";
    usage(std::cerr);
    return 2;
}
