// ops/directory.hpp — `referentctl directory --out DIR`: who handles what, published.
//
// Contract: render_directory() turns the configuration into a static page and its data: for
// each service, its name and public address, and the referents of that service who are
// `public: true` and not `anonymous` (an anonymous agent's name is not published: the service
// speaks for it, CRPA L111-2's exception), with title, phone and hours — never an agent's own
// address (citizens write to the service). The HTML is one accessible document: `lang` from
// organisation.language, a title and one h1, a section with an h2 per service, a table with a
// caption and column headers per service, every text escaped. directory_command() writes
// DIR/index.html and DIR/directory.json (each to a temporary file, then renamed) and returns
// 0, 1 when DIR cannot be written, 2 for a usage or configuration error.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace referent::ops {

struct Directory {
    std::string html;
    std::string json;
};

Directory render_directory(const config::Config& c);

int directory_command(const std::string& config_path, const std::vector<std::string>& args,
                      std::ostream& out, std::ostream& err);

}  // namespace referent::ops
