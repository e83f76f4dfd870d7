#include "engine/isolated.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace trainsim {

namespace {

struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::size_t slot = 0;
  std::string text;
};

// Forks a child that runs `work` and writes its JSON to a pipe.
Child spawn(const std::function<nlohmann::json()>& work, std::size_t slot) {
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("cannot create a pipe for the simulation");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("cannot fork the simulation");
  if (pid == 0) {
    close(fds[0]);
    int code = 0;
    std::string out;
    try {
      out = work().dump();
    } catch (const std::exception& e) {
      out = nlohmann::json{{"error", e.what()}}.dump();
      code = 1;
    }
    std::size_t written = 0;
    while (written < out.size()) {
      const ssize_t n = write(fds[1], out.data() + written, out.size() - written);
      if (n <= 0) break;
      written += static_cast<std::size_t>(n);
    }
    close(fds[1]);
    _exit(code);
  }
  close(fds[1]);
  return {pid, fds[0], slot, {}};
}

nlohmann::json finish(Child& child) {
  close(child.fd);
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (child.text.empty()) {
    const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                : "exited with status " + std::to_string(WEXITSTATUS(status));
    return nlohmann::json{{"error", "the simulation process " + how + " without a result"}};
  }
  try {
    return nlohmann::json::parse(child.text);
  } catch (const nlohmann::json::exception& e) {
    return nlohmann::json{{"error", std::string("unreadable simulation result: ") + e.what()}};
  }
}

}  // namespace

std::vector<nlohmann::json> run_isolated_batch(const std::vector<std::function<nlohmann::json()>>& work, int parallel,
                                               const std::function<bool()>& stop,
                                               const std::function<void(std::size_t)>& on_done) {
  std::vector<nlohmann::json> results(work.size(), nlohmann::json{{"error", "not run"}});
  std::vector<Child> running;
  std::size_t next = 0, done = 0;
  while (next < work.size() || !running.empty()) {
    while (next < work.size() && int(running.size()) < std::max(1, parallel) && !(stop && stop())) {
      running.push_back(spawn(work[next], next));
      ++next;
    }
    if (running.empty()) break;  // stopped
    // A stop ends the simulations in flight too (a search's time limit or Ctrl-C answers within
    // a tenth of a second, not when the slowest running simulation ends).
    if (stop && stop()) {
      for (auto& c : running) {
        kill(c.pid, SIGKILL);
        close(c.fd);
        waitpid(c.pid, nullptr, 0);
        results[c.slot] = nlohmann::json{{"error", "stopped"}};
      }
      running.clear();
      break;
    }
    std::vector<pollfd> fds;
    for (const auto& c : running) fds.push_back({c.fd, POLLIN, 0});
    if (poll(fds.data(), fds.size(), stop ? 100 : -1) <= 0) continue;
    for (std::size_t i = running.size(); i-- > 0;) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[65536];
      const ssize_t n = read(running[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        running[i].text.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      results[running[i].slot] = finish(running[i]);
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
      if (on_done) on_done(++done);
    }
  }
  return results;
}

nlohmann::json run_isolated(const std::function<nlohmann::json()>& work) {
  auto result = run_isolated_batch({work}, 1).front();
  if (result.contains("error")) throw std::runtime_error("simulation failed: " + result["error"].get<std::string>());
  return result;
}

}  // namespace trainsim
