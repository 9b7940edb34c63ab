// ops/stats_command.hpp — `referentctl stats [--since YYYY-MM-DD] [--json]`.
//
// Contract: over the cases opened since the date (default: 30 days before today), per service
// and current referent ("-": the fallback mailbox), prints: cases, open, overdue (open and past
// their due date), answered (a referent's reply sent), the median time to the first reply in
// working hours (calendar.hpp's working_hours_between, organisation.holidays; "-" when none
// was answered), and the cases handed over at least once. Exit codes as session.hpp.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace referent::ops {

int stats_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);

}  // namespace referent::ops
