#pragma once
// SimGrid allows one engine per process, and a simulation that aborts takes its process with it.
// run_isolated() runs a function in a forked child and returns the JSON it produced, so callers
// (tests, the plan search, the GUI) can simulate any number of times and survive a failure.
#include <nlohmann/json.hpp>

#include <functional>
#include <vector>

namespace trainsim {

// Throws std::runtime_error with the child's message if it failed or died.
nlohmann::json run_isolated(const std::function<nlohmann::json()>& work);

// Runs each function in its own child, at most `parallel` at a time. Every fork happens on the
// calling thread: call it when no other thread of this process is working (forking while
// another thread holds a lock, a sanitizer's allocator lock say, can deadlock the child).
// A failed child gives {"error": message} in its slot; `stop`, when it turns true, starts no new
// child and kills the running ones (their slots say "stopped").
std::vector<nlohmann::json> run_isolated_batch(const std::vector<std::function<nlohmann::json()>>& work,
                                               int parallel, const std::function<bool()>& stop = {},
                                               const std::function<void(std::size_t)>& on_done = {});

}  // namespace trainsim
