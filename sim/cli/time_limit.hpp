#pragma once
// --time-limit for the commands that search: a watcher thread that sets a cancel flag once the
// limit has passed (the search keeps the best plans found so far), joined when this goes out of
// scope. A limit of 0 or less starts nothing.
#include <atomic>
#include <chrono>
#include <thread>

namespace trainsim::cli {

class TimeLimit {
 public:
  TimeLimit(double seconds, std::atomic<bool>& cancel) {
    if (seconds <= 0) return;
    watcher_ = std::thread([this, seconds, &cancel] {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
      while (!finished_ && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (!finished_) {
        reached_ = true;
        cancel = true;
      }
    });
  }
  ~TimeLimit() {
    finished_ = true;
    if (watcher_.joinable()) watcher_.join();
  }
  TimeLimit(const TimeLimit&) = delete;
  TimeLimit& operator=(const TimeLimit&) = delete;
  // Whether the limit passed before the work finished.
  bool reached() const { return reached_; }

 private:
  std::atomic<bool> finished_{false}, reached_{false};
  std::thread watcher_;
};

}  // namespace trainsim::cli
