#pragma once
// Input errors: everything a person wrote wrong gets one of these, which the CLI turns into a
// message naming the file, line and key, and exit code 2.
#include <stdexcept>
#include <string>
#include <vector>

namespace trainsim {

struct SourceLocation {
  std::string file;  // "" when the value did not come from a file
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
};

class InputError : public std::runtime_error {
 public:
  InputError(SourceLocation where, std::string key, std::string problem);
  const SourceLocation& where() const { return where_; }
  const std::string& key() const { return key_; }
  const std::string& problem() const { return problem_; }

 private:
  SourceLocation where_;
  std::string key_;
  std::string problem_;
};

// The closest of `candidates` to `word` (edit distance at most 3), or "" when none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// For a preset name: the one that differs only in case; else the names that begin with `word`
// (two characters or more) in any case, where two to four do ("h100-sxm-80gb or
// h100-sxm-96gb"); "" where more do; else did_you_mean's; else the one name that begins with it;
// else "". (Keys keep did_you_mean: a key's prefix names other keys, not the one meant.)
std::string name_hint(const std::string& word, const std::vector<std::string>& names);

}  // namespace trainsim
