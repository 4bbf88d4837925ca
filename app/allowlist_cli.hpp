// `edgeway allowlist ...`: shows and edits the core's rule database from the command line.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace edgeway::app {

// args are the words after `edgeway allowlist`. Results go to out, errors (one line each,
// starting "edgeway allowlist: ") to err. Returns the exit code: 0 done (or allowed, for
// `test`), 1 refused by `test` or a database error, 2 a usage error or invalid input.
int run_allowlist_command(const std::vector<std::string>& args, std::ostream& out,
                          std::ostream& err);

}  // namespace edgeway::app
