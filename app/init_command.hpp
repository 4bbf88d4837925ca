// `edgeway init`: prepares a node for its first start (certificates, state, first account).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace edgeway::app {

// args are the words after `edgeway init`. Returns the exit code: 0 done, 1 a file or database
// could not be written, 2 a usage or configuration error.
int run_init_command(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace edgeway::app
