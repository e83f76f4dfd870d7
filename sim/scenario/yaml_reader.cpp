#include "scenario/yaml_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "scenario/units.hpp"

namespace trainsim {
namespace {

// Hand-written files stay small; anything bigger is a mistake, refused before parsing.
constexpr std::size_t kMaxInputBytes = 4 << 20;

// The offset of the first byte that is not part of well-formed UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or npos. Text read from a file ends up in
// messages and JSON output, which must be valid UTF-8.
std::size_t invalid_utf8(const std::string& text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > n || s[i + 1] < low || s[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::string::npos;
}

YAML::Node parse(const std::string& text, const std::string& name) {
  if (text.size() > kMaxInputBytes) {
    throw InputError(
        {name, 0, 0}, "",
        "file is " + std::to_string(text.size()) + " bytes; scenario and topology files are limited to 4 MiB");
  }
  if (const std::size_t bad = invalid_utf8(text); bad != std::string::npos) {
    const auto line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + bad, '\n'));
    const int column = static_cast<int>(bad - (line_start == std::string::npos || bad == 0 ? 0 : line_start + 1)) + 1;
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    throw InputError({name, line, column}, "",
                     std::string("invalid UTF-8 (byte ") + byte + "): save the file as UTF-8 text");
  }
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw InputError({name, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg);
  }
}

std::string quoted(const std::string& s) {
  constexpr std::size_t kShown = 60;
  return "\"" + (s.size() > kShown ? s.substr(0, kShown) + "..." : s) + "\"";
}

}  // namespace

std::string read_input_file(const std::string& path, const std::string& what) {
  std::error_code error;
  if (std::filesystem::exists(path, error) && !std::filesystem::is_regular_file(path, error)) {
    throw InputError({path, 0, 0}, "", "expected a regular file");
  }
  if (const auto size = std::filesystem::file_size(path, error); !error && size > kMaxInputBytes) {
    throw InputError({path, 0, 0}, "", "file is " + std::to_string(size) + " bytes; input files are limited to 4 MiB");
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int reason = errno;  // set by the failed open on POSIX systems
    throw InputError({path, 0, 0}, "",
                     "cannot open " + what + (reason != 0 ? std::string(": ") + std::strerror(reason) : ""));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

bool path_exists(const std::string& path) noexcept {
  std::error_code error;
  const bool found = std::filesystem::exists(path, error);
  if (!error) return found;
  // A path that cannot be looked at (a directory without search permission, an I/O error) is
  // there as far as the user can tell: reading it then says why it cannot be read, where "no
  // such file" would mislead. Names that cannot exist (too long, through a file) are not there.
  return error != std::errc::no_such_file_or_directory && error != std::errc::not_a_directory &&
         error != std::errc::filename_too_long && error != std::errc::invalid_argument;
}

YAML::Node load_yaml_file(const std::string& path) { return parse(read_input_file(path), path); }

YAML::Node load_yaml_text(const std::string& text, const std::string& name) { return parse(text, name); }

SourceLocation location_of(const YAML::Node& node, const std::string& file) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar: {
      // A number is shown as a number (0, 1e9), text in quotes ("eight").
      const std::string& text = node.Scalar();
      const bool number =
          !text.empty() && units::parse_count(text) && text.find_first_not_of("0123456789.eE+-") == std::string::npos;
      return number ? text : quoted(text);
    }
    case YAML::NodeType::Sequence:  // its length: what a list of the wrong size got wrong
      return node.size() == 0   ? "an empty list"
             : node.size() == 1 ? "a list of 1 item"
                                : "a list of " + std::to_string(node.size()) + " items";
    case YAML::NodeType::Map:
      return "a map";
    default:
      return "an undefined value";
  }
}

MapReader::MapReader(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {
  if (!node_.IsMap()) {
    throw InputError(trainsim::location_of(node_, file_), path_, "expected a map of keys, found " + describe(node_));
  }
  std::set<std::string> seen;
  for (const auto& entry : node_) {
    if (!entry.first.IsScalar()) {
      throw InputError(trainsim::location_of(entry.first, file_), path_, "keys must be plain words");
    }
    if (!seen.insert(entry.first.Scalar()).second) {
      throw InputError(trainsim::location_of(entry.first, file_), key_path(entry.first.Scalar()),
                       "key appears twice in the same map");
    }
  }
}

std::string MapReader::key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

SourceLocation MapReader::location_of(const std::string& key) const {
  for (const auto& entry : node_) {
    if (entry.first.Scalar() == key) return trainsim::location_of(entry.second, file_);
  }
  return trainsim::location_of(node_, file_);
}

void MapReader::fail(const std::string& key, const std::string& problem) const {
  throw InputError(location_of(key), key_path(key), problem);
}

void MapReader::fail_missing(const std::string& key, const std::string& problem) const {
  for (const auto& entry : node_) {
    const std::string& written = entry.first.Scalar();
    if (known_.count(written) || did_you_mean(written, {key}).empty()) continue;
    throw InputError(trainsim::location_of(entry.first, file_), key_path(written),
                     "unknown key (did you mean '" + key + "'?); " + problem);
  }
  fail(key, problem);
}

bool MapReader::has(const std::string& key) const { return static_cast<bool>(node_[key]); }

bool MapReader::is_map(const std::string& key) const {
  const YAML::Node value = node_[key];
  return value && value.IsMap();
}

void MapReader::accept(const std::string& key) { known_.insert(key); }

YAML::Node MapReader::scalar_node(const std::string& key, const char* expected) {
  known_.insert(key);
  YAML::Node value = node_[key];
  if (!value) return value;
  if (!value.IsScalar()) fail(key, std::string("expected ") + expected + ", found " + describe(value));
  return value;
}

std::optional<std::int64_t> MapReader::integer(const std::string& key, std::int64_t min, std::int64_t max) {
  const auto expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  const YAML::Node value = scalar_node(key, expected.c_str());
  if (!value) return std::nullopt;
  // Accept "1e3" and "2K" too, as long as the value is a whole number.
  const auto parsed = units::parse_count(value.Scalar());
  if (!parsed || *parsed != std::floor(*parsed) || *parsed < static_cast<double>(min) ||
      *parsed > static_cast<double>(max)) {
    fail(key, "expected " + expected + ", found " + describe(value));
  }
  return static_cast<std::int64_t>(*parsed);
}

std::optional<std::int64_t> MapReader::dimension(const std::string& key, std::int64_t min, std::int64_t max) {
  const auto expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  const YAML::Node value = scalar_node(key, expected.c_str());
  if (!value) return std::nullopt;
  const std::string& text = value.Scalar();
  if (!text.empty() && std::isalpha(static_cast<unsigned char>(text.back()))) {
    // Both readings of a whole number with a prefix: its powers of 1024 and of 1000, those in range.
    const auto parsed = units::parse_count(text);
    const double mantissa = std::strtod(text.c_str(), nullptr);
    std::string hint;
    if (parsed && mantissa >= 1 && mantissa == std::floor(mantissa)) {
      const int power = static_cast<int>(std::lround(std::log10(*parsed / mantissa) / 3));
      const double binary = mantissa * std::pow(1024.0, power);
      std::vector<std::string> readings;
      if (binary >= double(min) && binary <= double(max)) {
        readings.push_back(std::to_string(std::int64_t(binary)) + " (" + std::to_string(std::int64_t(mantissa)) +
                           " x 1024" + (power > 1 ? "^" + std::to_string(power) : "") + ")");
      }
      if (*parsed >= double(min) && *parsed <= double(max)) readings.push_back(std::to_string(std::int64_t(*parsed)));
      for (std::size_t i = 0; i < readings.size(); ++i) hint += (i == 0 ? ": write " : " or ") + readings[i];
    }
    fail(key, "expected " + expected + " written out, found " + describe(value) + " (ambiguous" + hint + ")");
  }
  return integer(key, min, max);
}

std::optional<double> MapReader::number(const std::string& key, double min, double max) {
  const YAML::Node value = scalar_node(key, "a number");
  if (!value) return std::nullopt;
  const auto parsed = units::parse_count(value.Scalar());
  if (!parsed || *parsed < min || *parsed > max) {
    std::ostringstream expected;
    expected << "expected a number from " << min << " to " << max << ", found " << describe(value);
    fail(key, expected.str());
  }
  return parsed;
}

std::optional<double> MapReader::share(const std::string& key, double most) {
  const YAML::Node value = scalar_node(key, "a share");
  if (!value) return std::nullopt;
  const std::string& text = value.Scalar();
  const bool percent = !text.empty() && text.back() == '%';
  const auto parsed = units::parse_count(percent ? text.substr(0, text.size() - 1) : text);
  const double fraction = parsed ? *parsed / (percent ? 100 : 1) : -1;
  if (!parsed || fraction < 0 || fraction > most) {
    fail(key, "expected a share from 0 to " + units::format_percent(most, 0) + ", such as 1% or 0.01, found " + text);
  }
  return fraction;
}

std::optional<std::string> MapReader::string(const std::string& key) {
  const YAML::Node value = scalar_node(key, "a text");
  if (!value) return std::nullopt;
  return value.Scalar();
}

std::optional<bool> MapReader::boolean(const std::string& key) {
  const YAML::Node value = scalar_node(key, "true or false");
  if (!value) return std::nullopt;
  const std::string& s = value.Scalar();
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(key, "expected true or false, found " + describe(value));
}

std::optional<std::string> MapReader::choice(const std::string& key, const std::vector<std::string>& allowed) {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  const YAML::Node value = scalar_node(key, ("one of " + list).c_str());
  if (!value) return std::nullopt;
  for (const auto& a : allowed) {
    if (value.Scalar() == a) return a;
  }
  std::string problem = "expected one of " + list + ", found " + describe(value);
  // A near miss, a value in another case or a start of one ("BF16", "deepspeed"), or the longest
  // value written inside it ("bf16-mixed": bf16; "1f1b-interleaved": interleaved).
  std::string hint = name_hint(value.Scalar(), allowed);
  if (hint.empty()) {
    for (const auto& a : allowed) {
      if (a.size() >= 3 && a.size() > hint.size() && value.Scalar().find(a) != std::string::npos) hint = a;
    }
  }
  if (!hint.empty()) problem += " (did you mean " + hint + "?)";
  fail(key, problem);
}

namespace {
// True when the text is a number alone ("400", "1e9"): a quantity without its unit.
bool bare_number(const std::string& text) {
  const auto value = units::parse_count(text);
  return value && text.find_first_not_of("0123456789.eE+- \t") == std::string::npos;
}

// The values a quantity may take besides 0: wide of any machine, yet narrow enough that products
// and quotients of them stay finite (a 1e-300 GB/s link made an infinite transfer, which stalled
// the simulation; 1e19 W overflowed a warning's integer).
struct Envelope {
  double least, most;
  const char* words;  // the range as written in errors
};

// `unit` is the unit to suggest when a bare number is written ("Gb/s" for 400 -> "400Gb/s").
template <typename Parse>
std::optional<double> read_unit(MapReader& reader, const YAML::Node& value, const std::string& key, Parse parse,
                                const char* expected, const char* unit, const Envelope& envelope) {
  if (!value) return std::nullopt;
  // A bare number is ambiguous (bits or bytes? GB or GiB? seconds or microseconds?): refused.
  if (bare_number(value.Scalar())) {
    reader.fail(key, value.Scalar() + " needs a unit: " + value.Scalar() + unit + " (" + expected + ")");
  }
  const auto parsed = parse(value.Scalar());
  if (!parsed) reader.fail(key, std::string("expected ") + expected + ", found " + describe(value));
  if (!std::isfinite(*parsed) || *parsed < 0 ||
      (*parsed > 0 && (*parsed < envelope.least || *parsed > envelope.most))) {
    reader.fail(key,
                std::string("expected ") + expected + ", 0 or from " + envelope.words + ", found " + describe(value));
  }
  return parsed;
}
}  // namespace

std::optional<double> MapReader::bytes(const std::string& key, const char* usual) {
  return read_unit(*this, scalar_node(key, "a size"), key, units::parse_bytes, "a size such as 80GiB or 40GB", usual,
                   {1, 1e18, "1B to 1EB"});
}
std::optional<double> MapReader::bandwidth(const std::string& key) {
  return read_unit(*this, scalar_node(key, "a bandwidth"), key, units::parse_bandwidth,
                   "a bandwidth such as 400Gb/s or 50GB/s", "Gb/s", {1e3, 1e15, "1kB/s to 1PB/s"});
}
std::optional<double> MapReader::watts(const std::string& key) {
  return read_unit(*this, scalar_node(key, "a power"), key, units::parse_watts, "a power such as 500W or 1.2kW", "W",
                   {1e-3, 1e7, "1mW to 10MW"});
}
std::optional<double> MapReader::duration(const std::string& key) {
  return read_unit(*this, scalar_node(key, "a duration"), key, units::parse_duration,
                   "a duration such as 2us, 1.5ms or 3h", "s", {1e-12, 1e12, "1ps to 1e12s (31,700 years)"});
}
std::optional<double> MapReader::rate(const std::string& key) {
  return read_unit(*this, scalar_node(key, "a rate"), key, units::parse_rate, "a rate such as 312TFLOP/s", "TFLOP/s",
                   {1e6, 1e19, "1MFLOP/s to 10EFLOP/s"});
}
std::optional<double> MapReader::count(const std::string& key, double min, double max) {
  const YAML::Node node = scalar_node(key, "a count");
  if (!node) return std::nullopt;
  const auto value = units::parse_count(node.Scalar());
  if (!value) fail(key, "expected a count such as 300e9, 1.2T or 300B, found " + describe(node));
  if (value && (*value < min || *value > max)) {
    std::ostringstream problem;
    problem << "expected a count from " << min << " to " << max << ", found " << *value;
    fail(key, problem.str());
  }
  return value;
}

std::optional<MapReader> MapReader::map(const std::string& key) {
  known_.insert(key);
  YAML::Node value = node_[key];
  if (!value) return std::nullopt;
  if (!value.IsMap()) fail(key, "expected a map of keys, found " + describe(value));
  return MapReader(value, file_, key_path(key));
}

std::optional<std::vector<MapReader>> MapReader::map_list(const std::string& key) {
  known_.insert(key);
  YAML::Node value = node_[key];
  if (!value) return std::nullopt;
  if (!value.IsSequence()) fail(key, "expected a list of maps, found " + describe(value));
  std::vector<MapReader> items;
  for (std::size_t i = 0; i < value.size(); ++i) {
    items.emplace_back(value[i], file_, key_path(key) + "[" + std::to_string(i) + "]");
  }
  return items;
}

std::optional<std::vector<std::int64_t>> MapReader::integer_list(const std::string& key, std::int64_t min,
                                                                 std::int64_t max) {
  known_.insert(key);
  YAML::Node value = node_[key];
  if (!value) return std::nullopt;
  const auto expected = "a list of integers from " + std::to_string(min) + " to " + std::to_string(max);
  if (!value.IsSequence()) fail(key, "expected " + expected + ", found " + describe(value));
  std::vector<std::int64_t> out;
  for (const auto& item : value) {
    const auto parsed = item.IsScalar() ? units::parse_count(item.Scalar()) : std::nullopt;
    if (!parsed || *parsed != std::floor(*parsed) || *parsed < static_cast<double>(min) ||
        *parsed > static_cast<double>(max)) {
      throw InputError(trainsim::location_of(item, file_), key_path(key),
                       "expected " + expected + ", found " + describe(item));
    }
    out.push_back(static_cast<std::int64_t>(*parsed));
  }
  return out;
}

void MapReader::finish(const std::map<std::string, std::string>& elsewhere) const {
  const std::vector<std::string> known(known_.begin(), known_.end());
  for (const auto& entry : node_) {
    const std::string& key = entry.first.Scalar();
    if (known_.count(key)) continue;
    std::string problem = "unknown key";
    if (const auto section = elsewhere.find(key); section != elsewhere.end()) {
      problem += " here: " + key + " belongs under " + section->second + ":";
    } else if (const auto hint = did_you_mean(key, known); !hint.empty()) {
      problem += " (did you mean '" + hint + "'?)";
    } else {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      problem += "; known keys here: " + list;
    }
    throw InputError(trainsim::location_of(entry.first, file_), key_path(key), problem);
  }
}

}  // namespace trainsim
