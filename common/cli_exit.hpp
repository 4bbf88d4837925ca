// The exit codes every `edgeway` command shares, as the man page lists them: 0 done, 1 the
// command could not do it (refused, unreachable, failed), 2 a wrong call (unknown option, a
// missing or malformed value); the message then says what, and points at --help.
#pragma once

namespace edgeway {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

}  // namespace edgeway
