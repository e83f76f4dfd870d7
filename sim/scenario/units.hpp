#pragma once
// Quantities as people write them: "400Gb/s", "50GB/s", "2us", "80GiB", "300e9", "1.5T".
// Everything is stored in SI base units: bytes, bytes per second, seconds, plain counts.
#include <optional>
#include <string>

namespace trainsim::units {

// Each returns nullopt when the text is not a quantity of that kind; callers add the location.
std::optional<double> parse_bytes(const std::string& text);      // "80GiB", "40GB", "1e9"
std::optional<double> parse_bandwidth(const std::string& text);  // bytes/s: "400Gb/s", "50GB/s"
std::optional<double> parse_watts(const std::string& text);      // W: "500W", "1.2kW" (a unit is required)
std::optional<double> parse_duration(const std::string& text);   // seconds: "2us", "1.5ms", "3h"
std::optional<double> parse_count(const std::string& text);      // "300e9", "1.2T", "2M"
std::optional<double> parse_rate(const std::string& text);       // FLOP/s: "312TFLOP/s", "989e12"

// Readable forms for tables.
std::string format_bytes(double bytes);          // "75.3 GiB"
std::string format_bandwidth(double bytes_per_s);  // "50 GB/s"
std::string format_duration(double seconds);     // "1.23 s", "4.5 ms", "12 days"
std::string format_count(double count);          // "175.0 B"
std::string format_rate(double flops_per_s);     // "312 TFLOP/s"

}  // namespace trainsim::units
