#pragma once
// The training data as the step sees it: how long its sequences are and how the loader batches
// them. Without a `data` section every sequence fills the model's seq_len (text concatenated and
// cut into rows, as LLM pretraining does); with one, a micro-batch holds sequences of the
// dataset's lengths, padded as the loader pads them.
#include <string>
#include <vector>

namespace trainsim {

// How a micro-batch of sequences of different lengths is padded:
// padded: every sequence to seq_len; longest: to the longest sequence of the micro-batch;
// binned: the loader draws each micro-batch from one length bin (sequences of (i-1)*bin_size+1
// to i*bin_size tokens, the bin chosen in proportion to its sequences) and pads to the longest
// of the micro-batch (NVIDIA LDDL's sequence binning); packed: sequences end to end in rows of
// seq_len, attention kept inside each sequence (Krell et al. 2021; document masks): a plan's
// "sequence" is then a row.
enum class Batching { padded, longest, binned, packed };
const char* batching_name(Batching b);

struct DataSpec {
  std::string lengths;                // the histogram's preset name or file; empty: full rows
  std::vector<double> length_counts;  // length_counts[i]: sequences of i + 1 tokens
  Batching batching = Batching::padded;
  int bin_size = 0;  // binned only

  bool full_rows() const { return length_counts.empty(); }
};

// A sequence-length histogram by preset name (sim/presets/datasets.yaml) or from a YAML file
// holding `counts: [...]` (counts[i]: sequences of i + 1 tokens). Throws InputError located in
// the preset or the file (a missing file: "cannot open").
std::vector<double> load_length_histogram(const std::string& name_or_path);
std::vector<std::string> dataset_preset_names();
bool has_dataset_preset(const std::string& name);

}  // namespace trainsim
