#include "engine/isolated.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace trainsim {

nlohmann::json run_isolated(const std::function<nlohmann::json()>& work) {
  // Unwritten output would be inherited by the child and could be written twice.
  std::fflush(stdout);
  std::fflush(stderr);
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("cannot create a pipe for the simulation");
  const pid_t child = fork();
  if (child < 0) throw std::runtime_error("cannot fork the simulation");
  if (child == 0) {
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
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (text.empty()) {
    const std::string how = WIFSIGNALED(status) ? "was killed by signal " + std::to_string(WTERMSIG(status))
                                                : "exited with status " + std::to_string(WEXITSTATUS(status));
    throw std::runtime_error("the simulation process " + how + " without a result");
  }
  auto result = nlohmann::json::parse(text);
  if (result.contains("error")) throw std::runtime_error("simulation failed: " + result["error"].get<std::string>());
  return result;
}

}  // namespace trainsim
