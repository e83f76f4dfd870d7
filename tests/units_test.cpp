#include <gtest/gtest.h>

#include "scenario/units.hpp"

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
