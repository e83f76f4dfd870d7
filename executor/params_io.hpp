#pragma once
// compare-params: the parameters two runs wrote with --dump-params, put back
// together from their tensor-parallel shards and pipeline stages, compared
// tensor by tensor. This is how a parallel run is checked against one process.
#include <string>

namespace trainsim::exec {

// Prints the largest relative difference per tensor; returns 0 when every
// tensor is within rtol, 1 when one is not or a tensor is missing, 2 when a
// directory cannot be read.
int compare_params(const std::string& dir_a, const std::string& dir_b, double rtol);

}  // namespace trainsim::exec
