#pragma once
// Reading hand-written YAML maps strictly: each value is checked for its kind and range, each
// error names file, line, key, what was expected and what was found, and every key the reader
// was not asked for is an error with a did-you-mean hint (finish()).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scenario/errors.hpp"

namespace trainsim {

// The text of a small input file (scenario, topology, histogram, config.json, profile,
// measurement): a regular file of at most 4 MiB, checked before reading (a device such as
// /dev/zero would be read forever). Throws InputError naming the file.
std::string read_input_file(const std::string& path, const std::string& what = "the file");

// Whether something exists at `path`; false, not an exception, where the name cannot be there (too
// long, through a file, not a name: a scenario value that was never meant as a path); true where it
// cannot be looked at (no search permission), so that reading it says why.
bool path_exists(const std::string& path) noexcept;

// Parses a whole YAML file or text; syntax errors become InputError with the line.
YAML::Node load_yaml_file(const std::string& path);
YAML::Node load_yaml_text(const std::string& text, const std::string& name);

class MapReader {
 public:
  // `path` is the dotted key of this map in the document ("plan", "cluster.network").
  MapReader(YAML::Node node, std::string file, std::string path);

  bool has(const std::string& key) const;
  // Whether the key holds a map (rather than a scalar or a list).
  bool is_map(const std::string& key) const;
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t min, std::int64_t max);
  // A model dimension (tokens, widths, vocabulary): an integer written out in full. "8k" is
  // refused, not read: for a sequence length it usually means 8192, for a count 8000.
  std::optional<std::int64_t> dimension(const std::string& key, std::int64_t min, std::int64_t max);
  std::optional<double> number(const std::string& key, double min, double max);
  // A share written as a fraction (0.015) or a percentage ("1.5%"), from 0 to `most`.
  std::optional<double> share(const std::string& key, double most);
  std::optional<std::string> string(const std::string& key);
  std::optional<bool> boolean(const std::string& key);
  std::optional<std::string> choice(const std::string& key, const std::vector<std::string>& allowed);
  // `usual`: the unit a bare number is most likely meant in, suggested in the error ("25 needs a
  // unit: 25MB" for a gradient bucket, GiB for a GPU's memory).
  std::optional<double> bytes(const std::string& key, const char* usual = "GiB");
  std::optional<double> bandwidth(const std::string& key);
  std::optional<double> watts(const std::string& key);
  std::optional<double> duration(const std::string& key);
  std::optional<double> count(const std::string& key, double min, double max);
  std::optional<double> rate(const std::string& key);
  std::optional<MapReader> map(const std::string& key);
  // A list of maps, each read with its own reader ("key[2].field" in errors).
  std::optional<std::vector<MapReader>> map_list(const std::string& key);
  std::optional<std::vector<std::int64_t>> integer_list(const std::string& key, std::int64_t min, std::int64_t max);
  // Marks a key as known without reading it (read by someone else).
  void accept(const std::string& key);

  // Errors on any key not read or accepted, suggesting the nearest known key, or the section a
  // key belongs to where `elsewhere` (key -> section) has it ("seq_len" in plan: "model").
  void finish(const std::map<std::string, std::string>& elsewhere = {}) const;

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;
  // A required key is missing: when a key of the map not read yet is a near miss of it
  // ("modle" for "model"), the error is at that key with a did-you-mean; otherwise `problem`.
  [[noreturn]] void fail_missing(const std::string& key, const std::string& problem) const;
  SourceLocation location_of(const std::string& key) const;
  const std::string& file() const { return file_; }
  std::string key_path(const std::string& key) const;

 private:
  YAML::Node scalar_node(const std::string& key, const char* expected);
  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string> known_;
};

SourceLocation location_of(const YAML::Node& node, const std::string& file);
std::string describe(const YAML::Node& node);  // "the text \"abc\"", "a list", "a map"

}  // namespace trainsim
