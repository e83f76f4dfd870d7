#include "workload/sequences.hpp"

#include <algorithm>
#include <cmath>

namespace trainsim {

namespace {

// Expected longest of n sequences drawn from counts[first..last] (counts[i]: length i + 1), as
// E[max] = sum over l >= 1 of P(max >= l): 1 up to the bin's shortest length first + 1, then
// 1 - F(l - 1)^n, F being the bin's cumulative share; `total`: the bin's sequences.
double expected_longest(const std::vector<double>& counts, std::size_t first, std::size_t last, double total, int n) {
  double below = 0, longest = double(first);  // every sequence has at least first + 1 tokens
  for (std::size_t i = first; i <= last; ++i) {
    longest += 1 - std::pow(below / total, n);  // P(max >= i + 1)
    below += counts[i];
  }
  return longest;
}

}  // namespace

std::vector<PaddedLength> padded_lengths(const DataSpec& data, int seq_len, int micro_batch) {
  if (data.full_rows() || data.batching == Batching::padded || data.batching == Batching::packed) {
    return {{double(seq_len), 1.0}};
  }
  const auto& counts = data.length_counts;
  const std::size_t bin = data.batching == Batching::binned ? std::size_t(data.bin_size) : counts.size();
  double total = 0;
  for (double c : counts) total += c;
  std::vector<PaddedLength> lengths;
  for (std::size_t first = 0; first < counts.size(); first += bin) {
    const std::size_t last = std::min(counts.size(), first + bin) - 1;
    double in_bin = 0;
    for (std::size_t i = first; i <= last; ++i) in_bin += counts[i];
    if (in_bin == 0) continue;
    lengths.push_back({expected_longest(counts, first, last, in_bin, micro_batch), in_bin / total});
  }
  return lengths;
}

double mean_length(const DataSpec& data, int seq_len) {
  if (data.full_rows()) return seq_len;
  double total = 0, tokens = 0;
  for (std::size_t i = 0; i < data.length_counts.size(); ++i) {
    total += data.length_counts[i];
    tokens += data.length_counts[i] * double(i + 1);
  }
  return tokens / total;
}

double attention_span(const DataSpec& data, int seq_len) {
  if (data.full_rows() || data.batching != Batching::packed) return seq_len;
  double tokens = 0, squares = 0;
  for (std::size_t i = 0; i < data.length_counts.size(); ++i) {
    tokens += data.length_counts[i] * double(i + 1);
    squares += data.length_counts[i] * double(i + 1) * double(i + 1);
  }
  return squares / tokens;
}

double mean_sequence_tokens(const DataSpec& data, int seq_len) {
  return data.batching == Batching::packed ? seq_len : mean_length(data, seq_len);
}

namespace {

// `flops(model, length, span)` of one of the plan's sequences, on average over the data.
template <class Flops>
double mean_over_the_data(const ModelSpec& model, const DataSpec& data, const Flops& flops) {
  if (data.full_rows()) return flops(model, model.seq_len, model.seq_len);
  if (data.batching == Batching::packed) {
    return flops(model, model.seq_len, attention_span(data, model.seq_len));
  }
  double total = 0, sum = 0;
  for (std::size_t i = 0; i < data.length_counts.size(); ++i) {
    total += data.length_counts[i];
    sum += data.length_counts[i] * flops(model, double(i + 1), double(i + 1));
  }
  return sum / total;
}

}  // namespace

double mean_model_flops_per_sequence(const ModelSpec& model, const DataSpec& data) {
  return mean_over_the_data(model, data, [](const ModelSpec& m, double length, double span) {
    return model_flops_per_sequence(m, length, span);
  });
}

double mean_model_flops_per_sequence_unmasked(const ModelSpec& model, const DataSpec& data) {
  return mean_over_the_data(model, data, [](const ModelSpec& m, double length, double span) {
    return model_flops_per_sequence_unmasked(m, length, span);
  });
}

}  // namespace trainsim
