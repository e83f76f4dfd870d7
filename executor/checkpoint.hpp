#pragma once
// Checkpoints a run can resume from, written so that a crash, a kill or a full
// disk at any moment leaves the previous checkpoint intact:
//   DIR/step-000040/rank-00003.bin   one file per rank: header, tensors, FNV-1a
//   checksum DIR/step-000040/COMPLETE         written by rank 0 once every
//   rank's file is in place
// Each file is written to a temporary name, flushed to disk and renamed. The
// two newest complete checkpoints are kept.
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace trainsim::exec {

struct CheckpointState {
  int64_t step = 0;  // steps completed
  std::vector<torch::Tensor> tensors;
};

// Throws std::runtime_error naming the file when it cannot be written
// completely.
void write_rank_file(const std::string& dir, int64_t step, int rank, const CheckpointState& state);
// Rank 0, after every rank has written: marks the step complete and drops older
// checkpoints.
void mark_complete(const std::string& dir, int64_t step, int keep = 2);
// Complete checkpoints, newest first.
std::vector<int64_t> complete_steps(const std::string& dir);
// This rank's state at `step`, or the reason it cannot be used (missing,
// damaged, wrong shape).
std::optional<CheckpointState> read_rank_file(const std::string& dir, int64_t step, int rank,
                                              const std::vector<torch::Tensor>& like, std::string& problem);
std::string step_dir(const std::string& dir, int64_t step);
// Temporary file, fsync, rename: readers see the old file or the whole new one.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace trainsim::exec
