#include "scenario/units.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace trainsim::units {
namespace {

// Splits "  400 Gb/s " into 400 and "Gb/s". Fails on an empty or non-finite number.
std::optional<std::pair<double, std::string>> split(const std::string& text) {
  std::size_t begin = 0;
  while (begin < text.size() && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  const char* start = text.c_str() + begin;
  char* end = nullptr;
  const double value = std::strtod(start, &end);
  if (end == start || !std::isfinite(value)) return std::nullopt;
  // strtod accepts "inf", "nan" and hex; the finite check above and this one keep it to decimals.
  for (const char* c = start; c != end; ++c) {
    if (std::isalpha(static_cast<unsigned char>(*c)) && *c != 'e' && *c != 'E') return std::nullopt;
  }
  std::string unit(end);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.back()))) unit.pop_back();
  return std::make_pair(value, unit);
}

// Decimal SI prefix ("k", "M", "G", "T", "P"; "" = 1) or binary ("Ki", "Mi", ...).
std::optional<double> prefix_factor(const std::string& prefix) {
  if (prefix.empty()) return 1.0;
  if (prefix.size() == 2 && prefix[1] == 'i') {
    switch (prefix[0]) {
      case 'K':
        return 1024.0;
      case 'M':
        return 1024.0 * 1024;
      case 'G':
        return 1024.0 * 1024 * 1024;
      case 'T':
        return 1024.0 * 1024 * 1024 * 1024;
      case 'P':
        return 1024.0 * 1024 * 1024 * 1024 * 1024;
      default:
        return std::nullopt;
    }
  }
  if (prefix.size() != 1) return std::nullopt;
  switch (prefix[0]) {
    case 'k':
    case 'K':
      return 1e3;
    case 'M':
      return 1e6;
    case 'G':
      return 1e9;
    case 'T':
      return 1e12;
    case 'P':
      return 1e15;
    default:
      return std::nullopt;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string printf_string(const char* format, double value, const char* unit) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value, unit);
  return buffer;
}

// Picks the largest prefix that keeps the mantissa >= 1.
std::string with_prefix(double value, const char* unit, double base = 1000.0, bool binary = false) {
  static const char* decimal[] = {"", "k", "M", "G", "T", "P", "E"};
  static const char* binary_names[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  int index = 0;
  double scaled = value;
  while (std::fabs(scaled) >= base && index < 6) {
    scaled /= base;
    ++index;
  }
  const std::string suffix = std::string(binary ? binary_names[index] : decimal[index]) + unit;
  return printf_string(std::fabs(scaled) >= 100 ? "%.0f %s" : "%.3g %s", scaled, suffix.c_str());
}

}  // namespace

std::optional<double> parse_bytes(const std::string& text) {
  const auto parts = split(text);
  if (!parts || parts->first < 0) return std::nullopt;
  auto [value, unit] = *parts;
  if (unit.empty()) return value;
  double per_unit = 1.0;
  if (ends_with(unit, "B")) {
    unit.pop_back();
  } else if (ends_with(unit, "b")) {  // bits
    unit.pop_back();
    per_unit = 1.0 / 8;
  } else {
    return std::nullopt;
  }
  const auto factor = prefix_factor(unit);
  if (!factor) return std::nullopt;
  return value * *factor * per_unit;
}

std::optional<double> parse_bandwidth(const std::string& text) {
  const auto parts = split(text);
  if (!parts || parts->first < 0) return std::nullopt;
  auto [value, unit] = *parts;
  if (unit.empty()) return value;  // bytes per second
  double per_unit = 0;
  if (ends_with(unit, "bps")) {
    unit.resize(unit.size() - 3);
    per_unit = 1.0 / 8;
  } else if (ends_with(unit, "Bps")) {
    unit.resize(unit.size() - 3);
    per_unit = 1.0;
  } else if (ends_with(unit, "bit/s")) {
    unit.resize(unit.size() - 5);
    per_unit = 1.0 / 8;
  } else if (ends_with(unit, "b/s")) {
    unit.resize(unit.size() - 3);
    per_unit = 1.0 / 8;
  } else if (ends_with(unit, "B/s")) {
    unit.resize(unit.size() - 3);
    per_unit = 1.0;
  } else {
    return std::nullopt;
  }
  const auto factor = prefix_factor(unit);
  if (!factor) return std::nullopt;
  return value * *factor * per_unit;
}

std::optional<double> parse_duration(const std::string& text) {
  const auto parts = split(text);
  if (!parts || parts->first < 0) return std::nullopt;
  const auto& [value, unit] = *parts;
  static const std::pair<const char*, double> units[] = {
      {"", 1.0},     {"s", 1.0},    {"ns", 1e-9},   {"us", 1e-6},      {"\xC2\xB5s", 1e-6}, {"ms", 1e-3},
      {"min", 60.0}, {"h", 3600.0}, {"d", 86400.0}, {"days", 86400.0}, {"day", 86400.0},    {"hours", 3600.0}};
  for (const auto& [name, factor] : units) {
    if (unit == name) return value * factor;
  }
  return std::nullopt;
}

std::optional<double> parse_watts(const std::string& text) {
  const auto parts = split(text);
  if (!parts || parts->first < 0) return std::nullopt;
  const auto& [value, unit] = *parts;
  if (unit == "W") return value;
  if (unit == "kW") return value * 1e3;
  return std::nullopt;
}

std::optional<double> parse_count(const std::string& text) {
  const auto parts = split(text);
  if (!parts) return std::nullopt;
  const auto& [value, unit] = *parts;
  if (unit == "B") return value * 1e9;  // "175B" parameters, "300B" tokens
  const auto factor = prefix_factor(unit);
  if (!factor || unit.size() == 2) return std::nullopt;  // no binary prefixes on counts
  return value * *factor;
}

std::optional<double> parse_rate(const std::string& text) {
  const auto parts = split(text);
  if (!parts || parts->first < 0) return std::nullopt;
  auto [value, unit] = *parts;
  if (unit.empty()) return value;
  for (const char* suffix : {"FLOP/s", "FLOPS", "flop/s"}) {
    if (ends_with(unit, suffix)) {
      unit.resize(unit.size() - std::string(suffix).size());
      const auto factor = prefix_factor(unit);
      if (!factor || unit.size() == 2) return std::nullopt;
      return value * *factor;
    }
  }
  return std::nullopt;
}

std::string format_bytes(double bytes) { return with_prefix(bytes, "B", 1024.0, true); }
std::string format_bandwidth(double bytes_per_s) { return with_prefix(bytes_per_s, "B/s"); }
std::string format_count(double count) {
  // Counts as people write them: 300B tokens, 1.2T, 62.1K (B for billions, not G).
  static const std::pair<double, const char*> scales[] = {{1e15, "Q"}, {1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}};
  const double magnitude = std::fabs(count);
  if (magnitude >= 1e18) return format_thousands(count / 1e15) + "Q";
  for (const auto& [scale, suffix] : scales) {
    if (magnitude >= scale) {
      const double scaled = count / scale;
      return printf_string(std::fabs(scaled) >= 100 ? "%.0f%s" : "%.3g%s", scaled, suffix);  // no exponent
    }
  }
  if (count == std::floor(count)) return printf_string("%.0f%s", count, "");
  return format_number(count);
}

std::string format_thousands(double value, int decimals) {
  if (!std::isfinite(value)) return value > 0 ? "inf" : value < 0 ? "-inf" : "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, std::fabs(value));
  std::string digits(buffer);
  const auto point = digits.find('.');
  std::string whole = digits.substr(0, point), fraction = point == std::string::npos ? "" : digits.substr(point);
  std::string grouped;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  const bool negative = value < 0 && (grouped + fraction).find_first_not_of("0.,") != std::string::npos;
  return (negative ? "-" : "") + grouped + fraction;
}

std::string format_money(double dollars) {
  const double magnitude = std::fabs(dollars);
  const std::string sign = dollars < 0 ? "-" : "";
  if (magnitude >= 1e12) return sign + "$" + format_thousands(magnitude / 1e9, 0) + "B";
  if (magnitude >= 1e9) return sign + printf_string("$%.2f%s", magnitude / 1e9, "B");
  if (magnitude >= 1e6) return sign + printf_string("$%.2f%s", magnitude / 1e6, "M");
  if (magnitude >= 100) return sign + "$" + format_thousands(magnitude);
  return sign + printf_string("$%.2f%s", magnitude, "");
}

std::string format_percent(double fraction, int decimals) {
  char buffer[64];
  const double percent = 100 * fraction;
  if (std::fabs(percent) >= 1e5) return format_thousands(percent) + "%";
  std::snprintf(buffer, sizeof buffer, "%.*f%%", decimals, percent);
  return buffer;
}

std::string format_number(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 1000) return format_thousands(value, magnitude >= 1e5 ? 0 : 1);
  if (magnitude == 0) return "0";
  if (magnitude >= 100) return printf_string("%.1f%s", value, "");
  if (magnitude >= 1) return printf_string("%.2f%s", value, "");
  if (magnitude >= 1e-4) return printf_string("%.4f%s", value, "");
  return "0.0000";
}

std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (const unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

TextTable::TextTable(std::vector<Align> align, std::string indent, std::string gap)
    : align_(std::move(align)), indent_(std::move(indent)), gap_(std::move(gap)) {}

void TextTable::add(std::vector<std::string> cells) {
  rows_.push_back(std::move(cells));
  is_title_.push_back(false);
}

void TextTable::title(std::string text) {
  rows_.push_back({std::move(text)});
  is_title_.push_back(true);
}

std::string TextTable::str() const {
  std::vector<std::size_t> widths;
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    if (is_title_[r]) continue;
    const auto& row = rows_[r];
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::string out;
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    const auto& row = rows_[r];
    if (is_title_[r]) {
      out += row.front() + "\n";
      continue;
    }
    std::string line = indent_;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::size_t pad = widths[c] - display_width(row[c]);
      const bool right = c < align_.size() && align_[c] == Align::right;
      const bool last = c + 1 == row.size();
      if (c > 0) line += gap_;
      if (right) line += std::string(pad, ' ');
      line += row[c];
      if (!right && !last) line += std::string(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::size_t TextTable::width() const {
  std::size_t widest = 0;
  const std::string text = str();
  std::size_t start = 0;
  for (std::size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    widest = std::max(widest, display_width(text.substr(start, end - start)));
    start = end + 1;
  }
  return widest;
}
std::string format_rate(double flops_per_s) { return with_prefix(flops_per_s, "FLOP/s"); }

std::string format_duration(double seconds) {
  constexpr double kYear = 365.25 * 86400;
  if (!std::isfinite(seconds)) return "forever";
  if (seconds >= 1000 * kYear) return format_thousands(seconds / kYear) + " years";
  if (seconds >= 2 * kYear) return printf_string("%.1f %s", seconds / kYear, "years");
  if (seconds >= 2 * 86400) return printf_string("%.1f %s", seconds / 86400, "days");
  if (seconds >= 2 * 3600) return printf_string("%.1f %s", seconds / 3600, "h");
  if (seconds >= 120) return printf_string("%.1f %s", seconds / 60, "min");
  if (seconds >= 1) return printf_string("%.3g %s", seconds, "s");
  if (seconds >= 1e-3) return printf_string("%.3g %s", seconds * 1e3, "ms");
  if (seconds >= 1e-6) return printf_string("%.3g %s", seconds * 1e6, "us");
  if (seconds < 1e-11) return "0 ns";
  return printf_string("%.3g %s", seconds * 1e9, "ns");
}

}  // namespace trainsim::units
