#include "scenario/units.hpp"

#include <gtest/gtest.h>

using namespace trainsim::units;

TEST(Units, BandwidthInBitsAndBytes) {
  EXPECT_DOUBLE_EQ(*parse_bandwidth("400Gb/s"), 50e9);
  EXPECT_DOUBLE_EQ(*parse_bandwidth("50GB/s"), 50e9);
  EXPECT_DOUBLE_EQ(*parse_bandwidth("1.6Tb/s"), 200e9);
  EXPECT_DOUBLE_EQ(*parse_bandwidth("200 Gbps"), 25e9);
  EXPECT_DOUBLE_EQ(*parse_bandwidth("3.35TB/s"), 3.35e12);
  EXPECT_FALSE(parse_bandwidth("fast"));
  EXPECT_FALSE(parse_bandwidth("400Gb"));
  EXPECT_FALSE(parse_bandwidth("-1GB/s"));
}

TEST(Units, SizesDecimalAndBinary) {
  EXPECT_DOUBLE_EQ(*parse_bytes("80GiB"), 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(*parse_bytes("141GB"), 141e9);
  EXPECT_DOUBLE_EQ(*parse_bytes("1e9"), 1e9);
  EXPECT_DOUBLE_EQ(*parse_bytes("8Mb"), 1e6);
  EXPECT_FALSE(parse_bytes("80 GiBs"));
  EXPECT_FALSE(parse_bytes("nan"));
  EXPECT_FALSE(parse_bytes("inf"));
}

TEST(Units, DurationsAndCounts) {
  EXPECT_DOUBLE_EQ(*parse_duration("2us"), 2e-6);
  EXPECT_DOUBLE_EQ(*parse_duration("130ns"), 130e-9);
  EXPECT_DOUBLE_EQ(*parse_duration("1.5ms"), 1.5e-3);
  EXPECT_DOUBLE_EQ(*parse_duration("3h"), 10800);
  EXPECT_FALSE(parse_duration("2 weeks"));
  EXPECT_DOUBLE_EQ(*parse_count("300e9"), 300e9);
  EXPECT_DOUBLE_EQ(*parse_count("300B"), 300e9);
  EXPECT_DOUBLE_EQ(*parse_count("1.2T"), 1.2e12);
  EXPECT_DOUBLE_EQ(*parse_count("2M"), 2e6);
  EXPECT_FALSE(parse_count("2Mi"));
  EXPECT_FALSE(parse_count("0x10"));
  EXPECT_DOUBLE_EQ(*parse_rate("312TFLOP/s"), 312e12);
  EXPECT_DOUBLE_EQ(*parse_rate("65GFLOP/s"), 65e9);
}

TEST(Units, FormatsRoundTripReadably) {
  EXPECT_EQ(format_bandwidth(50e9), "50 GB/s");
  EXPECT_EQ(format_bytes(80.0 * 1024 * 1024 * 1024), "80 GiB");
  EXPECT_EQ(format_duration(0.0042), "4.2 ms");
  EXPECT_EQ(format_duration(3 * 86400), "3.0 days");
}

TEST(Units, TableFormsHaveSeparatorsAndNoExponent) {
  EXPECT_EQ(format_count(300e9), "300B");
  EXPECT_EQ(format_count(26e9), "26B");
  EXPECT_EQ(format_count(1.5e12), "1.5T");
  EXPECT_EQ(format_count(512), "512");
  EXPECT_EQ(format_thousands(1262286), "1,262,286");
  EXPECT_EQ(format_thousands(-1234.5, 1), "-1,234.5");
  EXPECT_EQ(format_thousands(999), "999");
  EXPECT_EQ(format_money(1262286), "$1.26M");
  EXPECT_EQ(format_money(12345.4), "$12,345");
  EXPECT_EQ(format_money(0.0412), "$0.04");
  EXPECT_EQ(format_percent(0.4123), "41.2%");
  // Absurd durations in years, with separators rather than an exponent.
  EXPECT_EQ(format_duration(45033490229.9 * 86400), "123,294,977 years");
  EXPECT_EQ(format_duration(3 * 365.25 * 86400), "3.0 years");
  for (const double v : {1e-15, 1e-7, 0.5, 999.96, 1e7, 1e21}) {
    for (const std::string& text : {format_number(v), format_count(v), format_duration(v), format_thousands(v)}) {
      EXPECT_EQ(text.find("e+"), std::string::npos) << v << " -> " << text;
      EXPECT_EQ(text.find("e-"), std::string::npos) << v << " -> " << text;
    }
  }
}

TEST(Units, TextTableAlignsColumns) {
  TextTable t({TextTable::Align::left, TextTable::Align::right});
  t.add({"compute", "21.5 s"});
  t.add({"dp comm (exposed)", "59.4 ms"});
  t.title("section");
  const std::string text = t.str();
  EXPECT_EQ(text, "  compute             21.5 s\n  dp comm (exposed)  59.4 ms\nsection\n");
  EXPECT_EQ(t.width(), std::string("  dp comm (exposed)  59.4 ms").size());
}

// Bandwidths as NIC datasheets write them.
TEST(Units, BandwidthInBitsPerSecondAndBytesPerSecondSpellings) {
  EXPECT_DOUBLE_EQ(*parse_bandwidth("400Gbit/s"), 50e9);
  EXPECT_DOUBLE_EQ(*parse_bandwidth("50GBps"), 50e9);
  EXPECT_DOUBLE_EQ(*parse_bandwidth("400Gbps"), 50e9);
}
