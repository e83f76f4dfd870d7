#pragma once
// Quantities as people write them: "400Gb/s", "50GB/s", "2us", "80GiB", "300e9", "1.5T".
// Everything is stored in SI base units: bytes, bytes per second, seconds, plain counts.
#include <optional>
#include <string>
#include <vector>

namespace trainsim::units {

// Each returns nullopt when the text is not a quantity of that kind; callers add the location.
std::optional<double> parse_bytes(const std::string& text);      // "80GiB", "40GB", "1e9"
std::optional<double> parse_bandwidth(const std::string& text);  // bytes/s: "400Gb/s", "50GB/s"
std::optional<double> parse_watts(const std::string& text);      // W: "500W", "1.2kW" (a unit is required)
std::optional<double> parse_duration(const std::string& text);   // seconds: "2us", "1.5ms", "3h"
std::optional<double> parse_count(const std::string& text);      // "300e9", "1.2T", "2M"
std::optional<double> parse_rate(const std::string& text);       // FLOP/s: "312TFLOP/s", "989e12"

// Readable forms for tables (the CLI's and the GUI's): never scientific notation.
std::string format_bytes(double bytes);                         // "75.3 GiB"
std::string format_bandwidth(double bytes_per_s);               // "50 GB/s"
std::string format_duration(double seconds);                    // "1.23 s", "4.5 ms", "12.0 days", "3.4 years"
std::string format_count(double count);                         // "175B", "1.2T", "62.1K", "512"
std::string format_rate(double flops_per_s);                    // "312 TFLOP/s"
std::string format_thousands(double value, int decimals = 0);   // "1,262,286", "62,120.5"
std::string format_money(double dollars);                       // "$1.26M", "$12,345", "$3.50"
std::string format_percent(double fraction, int decimals = 1);  // 0.4123 -> "41.2%"
std::string format_number(double value);                        // a plain value for a table: "0.412", "1,234", "12.5"

// A text table: rows of cells, each column padded to its widest cell, numbers right-aligned.
// Rows with a single cell (section titles, blank lines) are printed as they are.
class TextTable {
 public:
  enum class Align { left, right };
  // Alignment per column (missing: left). `indent` starts every row.
  explicit TextTable(std::vector<Align> align = {}, std::string indent = "  ", std::string gap = "  ");
  void add(std::vector<std::string> cells);
  void title(std::string text);  // a line of its own, not aligned
  std::string str() const;
  // The widest line str() writes.
  std::size_t width() const;

 private:
  std::vector<Align> align_;
  std::string indent_, gap_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> is_title_;
};

// Display width of UTF-8 text (code points; the tables use no wide characters).
std::size_t display_width(const std::string& text);

}  // namespace trainsim::units
