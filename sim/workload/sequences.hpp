#pragma once
// What one micro-batch holds when the data's sequences differ in length (scenario/data.hpp):
// the lengths micro-batches are padded to, with the share of micro-batches padded to each, and
// the real (unpadded) tokens and model FLOPs of an average sequence.
#include <vector>

#include "scenario/data.hpp"
#include "scenario/model.hpp"

namespace trainsim {

struct PaddedLength {
  double tokens = 0;  // per sequence, padding included
  double share = 0;   // of micro-batches
};

// Full rows: one entry, seq_len. padded and packed: seq_len. longest: the expected longest of
// `micro_batch` sequences drawn from the dataset. binned: one entry per non-empty bin, its share
// of the sequences and the expected longest of `micro_batch` sequences drawn from it.
std::vector<PaddedLength> padded_lengths(const DataSpec& data, int seq_len, int micro_batch);

// Keys each query attends to, on average, in a row: seq_len, or, packed, E[s^2] / E[s] over the
// dataset's lengths (a token of a sequence of s tokens sees s of them).
double attention_span(const DataSpec& data, int seq_len);

// Mean tokens of the dataset's sequences (seq_len for full rows).
double mean_length(const DataSpec& data, int seq_len);

// Mean tokens of data in one of the plan's sequences, padding excluded: mean_length, or, packed,
// a full row (seq_len).
double mean_sequence_tokens(const DataSpec& data, int seq_len);

// Mean model FLOPs of training on one of the plan's sequences (model_flops_per_sequence over the
// lengths; packed: a full row with the attention span above).
double mean_model_flops_per_sequence(const ModelSpec& model, const DataSpec& data);
// The same with attention counted whole within each document (model_flops_per_sequence_unmasked):
// PaLM's convention, over the data's own lengths.
double mean_model_flops_per_sequence_unmasked(const ModelSpec& model, const DataSpec& data);

}  // namespace trainsim
