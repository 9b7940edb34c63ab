// ops/case_commands.hpp — referentctl's commands on cases and absences, against the store.
//
//   cases [--service S] [--agent A] [--status open|closed] [--overdue] [--limit N] [--json]
//   show CASE [--json]        the case, its messages in order, its referents, its events
//   close CASE / reopen CASE  (reopen: a new due date from today)
//   absence add AGENT --from DATE --to DATE [--delegate AGENT] [--json]
//   absence list [--json]     stored and configured absences
//   absence end AGENT         stored absences covering today end yesterday; future ones go
//
// Contract: each prints a table (or with --json one JSON document) on `out` and returns the
// exit code of session.hpp; `--help` prints the command's usage and returns 0. Changes are one
// store transaction each, with their event, and take effect in a running referentd at its
// next decision (it reads absences and cases from the store).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace referent::ops {

int cases_command(const std::string& config_path, const std::vector<std::string>& args,
                  std::ostream& out, std::ostream& err);
int show_command(const std::string& config_path, const std::vector<std::string>& args,
                 std::ostream& out, std::ostream& err);
// `close` or `reopen`, by `verb`.
int status_command(const std::string& verb, const std::string& config_path,
                   const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int absence_command(const std::string& config_path, const std::vector<std::string>& args,
                    std::ostream& out, std::ostream& err);

}  // namespace referent::ops
