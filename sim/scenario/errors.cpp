#include "scenario/errors.hpp"

#include <algorithm>
#include <cctype>

namespace trainsim {
namespace {

std::string format(const SourceLocation& where, const std::string& key, const std::string& problem) {
  std::string text;
  if (!where.file.empty()) {
    text += where.file;
    if (where.line > 0) text.append(":").append(std::to_string(where.line));
    if (where.column > 0) text.append(":").append(std::to_string(where.column));
    text += ": ";
  }
  if (!key.empty()) text += "'" + key + "': ";
  return text + problem;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

InputError::InputError(SourceLocation where, std::string key, std::string problem)
    : std::runtime_error(format(where, key, problem)),
      where_(std::move(where)),
      key_(std::move(key)),
      problem_(std::move(problem)) {}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  // Ties go to the candidate that shares the longest start with the word ("tpp": tp, not pp).
  const auto common_start = [&](const std::string& candidate) {
    std::size_t n = 0;
    while (n < word.size() && n < candidate.size() && word[n] == candidate[n]) ++n;
    return n;
  };
  std::string best;
  std::size_t best_distance = 4;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance || (d == best_distance && !best.empty() && common_start(candidate) > common_start(best))) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

std::string name_hint(const std::string& word, const std::vector<std::string>& names) {
  const auto lower = [](std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return text;
  };
  const std::string wanted = lower(word);
  std::vector<std::string> starting;
  for (const auto& name : names) {
    const std::string candidate = lower(name);
    if (candidate == wanted) return name;
    if (wanted.size() >= 2 && candidate.size() > wanted.size() && candidate.rfind(wanted, 0) == 0) {
      starting.push_back(name);
    }
  }
  if (starting.size() >= 2 && starting.size() <= 4) {
    std::string hint = starting.front();
    for (std::size_t i = 1; i < starting.size(); ++i) hint += (i + 1 == starting.size() ? " or " : ", ") + starting[i];
    return hint;
  }
  if (starting.size() > 4) return "";  // "gpt3", "dgx": the whole list says more than the nearest
  if (auto close = did_you_mean(word, names); !close.empty()) return close;
  return starting.size() == 1 ? starting.front() : "";
}

}  // namespace trainsim
