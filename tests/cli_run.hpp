#pragma once
// Runs the trainsim binary as a user would, for the CLI tests: exit code and output.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

namespace trainsim_test {

struct CommandResult {
  int code;
  std::string output;  // stdout and stderr together
};

// A sanitizer build's runtime prints notices of its own into stderr ("==PID==WARNING: ASan is
// ignoring requested __asan_handle_no_return ..." and two lines after it): not the program's.
inline std::string without_sanitizer_notices(const std::string& output) {
  std::string kept;
  std::size_t start = 0;
  while (start < output.size()) {
    const std::size_t end = std::min(output.find('\n', start), output.size());
    const std::string line = output.substr(start, end - start);
    const bool notice = line.rfind("==", 0) == 0 || line == "False positive error reports may follow" ||
                        line.rfind("For details see https://github.com/google/sanitizers/", 0) == 0;
    if (!notice) kept += line + (end < output.size() ? "\n" : "");
    start = end + 1;
  }
  return kept;
}

inline CommandResult run_command(const std::string& command_line) {
  const std::string command = command_line + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string output;
  std::array<char, 4096> buffer{};
  while (const auto n = fread(buffer.data(), 1, buffer.size(), pipe.get())) output.append(buffer.data(), n);
  const int status = pclose(pipe.release());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, without_sanitizer_notices(output)};
}

// `trainsim ARGUMENTS`.
inline CommandResult run(const std::string& arguments) {
  return run_command(std::string(TRAINSIM_BINARY) + " " + arguments);
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline const std::string kSource = TRAINSIM_SOURCE_DIR;

}  // namespace trainsim_test
