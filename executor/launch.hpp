#pragma once
// `trainsim-exec --nproc N`: starts N local ranks of this program (RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT set as torchrun does) and watches them.
// Each rank reports the steps it finishes through a pipe; when one fails or
// hangs, the others are stopped and the message names the rank and how far each
// got. SIGINT/SIGTERM are passed on to the ranks.
#include <string>

namespace trainsim::exec {

// Returns the exit code for the launcher: 0, 1 (a rank failed or hung), 130
// (interrupted).
int launch_local_ranks(int nproc, int timeout_s, char** argv);
// In a rank: tells the launcher (if any) that `step` is finished.
void report_progress(int rank, long step);

}  // namespace trainsim::exec
