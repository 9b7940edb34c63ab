// ops/case_json.hpp — a case and its history as JSON, the same for `show --json` and `export`.
#pragma once

#include <string>
#include <vector>

#include "cases/model.hpp"

namespace referent::ops {

std::string case_json(const cases::Case& c);
std::string referents_json(const std::vector<cases::ReferentPeriod>& periods);
std::string events_json(const std::vector<cases::Event>& events);

}  // namespace referent::ops
