#include "launch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace trainsim::exec {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

}  // namespace

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

std::string rendezvous_file() {
  if (const char* file = std::getenv("TRAINSIM_EXEC_STORE_FILE")) return file;
  const char* world = std::getenv("WORLD_SIZE");
  if (!world || std::atoi(world) <= 1) return "";
  const std::string addr = std::getenv("MASTER_ADDR") ? std::getenv("MASTER_ADDR") : "127.0.0.1";
  if (addr != "127.0.0.1" && addr != "localhost" && addr != "::1") return "";
  const std::string dir = "/tmp/trainsim-exec-" + std::to_string(getuid());
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return "";
  struct stat info {};
  if (stat(dir.c_str(), &info) != 0 || info.st_uid != getuid() || (info.st_mode & 077) != 0) return "";  // not ours
  const char* port = std::getenv("MASTER_PORT");
  return dir + "/store-" + std::to_string(getppid()) + "-" + (port ? port : "29500");
}

void report_progress(int rank, long step) {
  const char* fd_text = std::getenv("TRAINSIM_EXEC_PROGRESS_FD");
  if (!fd_text) return;
  const std::string line = std::to_string(rank) + " " + std::to_string(step) + "\n";
  [[maybe_unused]] const auto n = ::write(std::atoi(fd_text), line.data(), line.size());
}

int launch_local_ranks(int nproc, int timeout_s, char** argv) {
  const int port = 20000 + static_cast<int>(getpid() % 20000);
  // Local ranks meet through a file in a private directory: nothing listens on
  // a port.
  char store_dir[] = "/tmp/trainsim-exec-XXXXXX";
  if (!mkdtemp(store_dir)) {
    std::perror("trainsim-exec: mkdtemp");
    return 1;
  }
  const std::string store_file = std::string(store_dir) + "/store";
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::remove((dir + "/store").c_str());
      rmdir(dir.c_str());
    }
  } remove_dir{store_dir};
  int progress[2];
  if (pipe(progress) != 0) {
    std::perror("trainsim-exec: pipe");
    return 1;
  }
  std::vector<pid_t> children;
  for (int rank = 0; rank < nproc; ++rank) {
    const pid_t pid = fork();
    if (pid == 0) {
      close(progress[0]);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 0);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("TRAINSIM_EXEC_CHILD", "1", 1);
      // Each rank is one device with its share of the cores; OpenBLAS would
      // otherwise start a thread per core in every rank.
      const long cores = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN) / nproc);
      setenv("OPENBLAS_NUM_THREADS", std::to_string(cores).c_str(), 0);
      setenv("OMP_NUM_THREADS", std::to_string(cores).c_str(), 0);
      setenv("TRAINSIM_EXEC_STORE_FILE", store_file.c_str(), 1);
      setenv("TRAINSIM_EXEC_PROGRESS_FD", std::to_string(progress[1]).c_str(), 1);
      execv("/proc/self/exe", argv);
      std::perror("trainsim-exec: exec");
      _exit(127);
    }
    children.push_back(pid);
  }
  close(progress[1]);
  fcntl(progress[0], F_SETFL, O_NONBLOCK);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  using Clock = std::chrono::steady_clock;
  std::vector<long> last_step(std::size_t(nproc), -1);
  std::vector<bool> done(std::size_t(nproc), false);
  auto last_change = Clock::now();
  std::string pending;
  auto read_progress = [&] {
    char buffer[4096];
    ssize_t n;
    while ((n = read(progress[0], buffer, sizeof buffer)) > 0) pending.append(buffer, std::size_t(n));
    std::size_t eol;
    while ((eol = pending.find('\n')) != std::string::npos) {
      std::istringstream line(pending.substr(0, eol));
      pending.erase(0, eol + 1);
      int rank = -1;
      long step = -1;
      if (line >> rank >> step && rank >= 0 && rank < nproc) {
        last_step[std::size_t(rank)] = step;
        last_change = Clock::now();
      }
    }
  };
  auto progress_report = [&] {
    std::ostringstream out;
    out << "last finished step by rank:";
    for (int r = 0; r < nproc; ++r) out << " " << r << ":" << last_step[std::size_t(r)];
    return out.str();
  };
  auto stop_all = [&](int signal) {
    for (std::size_t r = 0; r < children.size(); ++r) {
      if (!done[r]) kill(children[r], signal);
    }
  };

  // The first rank to fail is named. Ranks that merely timed out waiting for a
  // hung peer fail too, so the others get a grace period: a rank still running
  // after it, while others failed, is the one that stopped responding.
  int failed_rank = -1;
  std::string how;
  bool interrupted = false;
  std::size_t running = children.size();
  auto grace_end = Clock::time_point::max(), kill_deadline = Clock::time_point::max();
  std::vector<int> hung;
  while (running > 0) {
    read_progress();
    const auto now = Clock::now();
    if (g_interrupted && !interrupted) {
      interrupted = true;
      std::cerr << "trainsim-exec: interrupted; stopping the ranks\n";
      stop_all(SIGTERM);
      kill_deadline = now + std::chrono::seconds(10);
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      --running;
      const auto r = std::size_t(std::find(children.begin(), children.end(), pid) - children.begin());
      done[r] = true;
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!ok && failed_rank < 0 && !interrupted) {
        failed_rank = int(r);
        how = WIFEXITED(status) ? "exited with code " + std::to_string(WEXITSTATUS(status))
                                : "was killed by signal " + std::to_string(WTERMSIG(status));
        grace_end = now + std::chrono::seconds(3);
      }
      continue;
    }
    if (now > grace_end) {
      for (int r = 0; r < nproc; ++r) {
        if (!done[std::size_t(r)]) hung.push_back(r);
      }
      stop_all(SIGTERM);
      grace_end = Clock::time_point::max();
      kill_deadline = now + std::chrono::seconds(5);
    }
    if (now > kill_deadline) {
      stop_all(SIGKILL);
      kill_deadline = Clock::time_point::max();
    }
    // No rank finishing a step for the timeout (plus a margin for start-up):
    // all of them hang.
    if (failed_rank < 0 && !interrupted && now - last_change > std::chrono::seconds(timeout_s + 30)) {
      std::cerr << "trainsim-exec: no rank finished a step in " << timeout_s + 30 << " s; stopping them ("
                << progress_report() << ")\n";
      stop_all(SIGKILL);
      failed_rank = nproc;
    }
    poll(nullptr, 0, 20);
  }
  close(progress[0]);
  if (interrupted) return 130;
  if (failed_rank < 0) return 0;
  if (failed_rank < nproc) {
    if (!hung.empty() && how.find("signal") == std::string::npos) {
      std::cerr << "trainsim-exec: rank";
      for (const int r : hung) std::cerr << " " << r;
      std::cerr << " stopped responding: rank " << failed_rank << " " << how
                << " after waiting for it; all ranks were stopped (" << progress_report() << ")\n";
    } else {
      std::cerr << "trainsim-exec: rank " << failed_rank << " " << how << "; the other ranks were stopped ("
                << progress_report() << ")\n";
    }
  }
  return 1;
}

}  // namespace trainsim::exec
