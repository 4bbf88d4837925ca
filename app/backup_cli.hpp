// `edgeway backup FILE` and `edgeway restore FILE`: the node's state (databases, configuration,
// certificates and keys) to a file and back, through the backup library.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace edgeway::app {

// args are the words after `edgeway backup` / `edgeway restore`. Reports go to out (to err
// when the backup itself goes to standard output), errors to err as one line starting
// "edgeway backup: " / "edgeway restore: ". Exit code: 0 done, 1 failed or refused (nothing
// changed), 2 invalid usage.
int run_backup_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err);
int run_restore_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                        std::ostream& err);

}  // namespace edgeway::app
