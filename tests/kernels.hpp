// Looking up a kernel of a built workload block by name, for tests that price one.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "workload/work.hpp"

namespace trainsim_test {

// The kernel of a block by name (an empty one, and a failure, if it has none).
inline trainsim::Kernel kernel_named(const trainsim::Block& b, const std::string& name) {
  const auto it =
      std::find_if(b.kernels.begin(), b.kernels.end(), [&](const trainsim::Kernel& k) { return k.name == name; });
  EXPECT_NE(it, b.kernels.end()) << name;
  return it == b.kernels.end() ? trainsim::Kernel{} : *it;
}

}  // namespace trainsim_test
