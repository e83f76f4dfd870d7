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
// In a rank: the file store to meet the other ranks through, or "" for LibTorch's TCP store.
// Ranks started by `--nproc` get one from the launcher; ranks of an external launcher (torchrun,
// mpirun, SLURM) whose MASTER_ADDR is a loopback address all run on this host under one parent
// process, so they meet in a private directory keyed by that parent and MASTER_PORT, and nothing
// listens on a port. A non-loopback MASTER_ADDR means the user asked for the network.
std::string rendezvous_file();
// An integer from the environment (RANK, WORLD_SIZE, ...), or `fallback` when unset.
int env_int(const char* name, int fallback);
// In a rank: tells the launcher (if any) that `step` is finished.
void report_progress(int rank, long step);

}  // namespace trainsim::exec
