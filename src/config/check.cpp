// config/check.cpp — see check.hpp.
#include "config/check.hpp"

#include "config/load.hpp"

namespace referent::config {

int check_config_command(const std::string& path, std::ostream& out, std::ostream& err) {
    const LoadResult result = load_file(path);
    if (result.ok()) {
        out << path << ": ok\n";
        return 0;
    }
    for (const Diagnostic& d : result.diagnostics()) err << d.to_string() << '\n';
    return 2;
}

}  // namespace referent::config
