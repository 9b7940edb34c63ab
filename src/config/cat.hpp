// config/cat.hpp — join strings for diagnostics: util::cat (util/cat.hpp), named here for the
// config code that has always spelt it config::cat.
#pragma once

#include "util/cat.hpp"

namespace referent::config {

using util::cat;

}  // namespace referent::config
