#pragma once
// SimGrid allows one engine per process, and a simulation that aborts takes its process with it.
// run_isolated() runs a function in a forked child and returns the JSON it produced, so callers
// (tests, the plan search, the GUI) can simulate any number of times and survive a failure.
#include <nlohmann/json.hpp>

#include <functional>

namespace trainsim {

// Throws std::runtime_error with the child's message if it failed or died.
nlohmann::json run_isolated(const std::function<nlohmann::json()>& work);

}  // namespace trainsim
