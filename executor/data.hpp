#pragma once
// Where a step's tokens come from. Every rank can build the whole global batch
// of any step from the step number alone, so data-parallel ranks take disjoint
// rows without talking, runs are reproducible, and a resumed run continues with
// the same data.
//   synthetic          uniform random tokens (timing runs)
//   text:FILE          a text file as bytes (vocabulary of at least 256),
//   next-byte prediction tokens:FILE        uint16 token ids (raw, or llm.c's
//   .bin with its 1024-byte header) conll:FILE         CoNLL-2003 NER: "word
//   ... TAG" per line, a blank line between sentences
#include <torch/torch.h>

#include <memory>
#include <string>

#include "model.hpp"

namespace trainsim::exec {

struct GlobalBatch {
  torch::Tensor tokens, targets,
      real;              // [sequences, seq_len]; targets -100 where there is no loss
  int64_t labelled = 0;  // targets that count, over the whole global batch
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual GlobalBatch batch(int64_t step, int64_t sequences) const = 0;
  virtual std::string describe() const = 0;
};

// Throws std::runtime_error naming the file (and line) for unreadable or
// ill-formed data.
std::unique_ptr<Dataset> open_dataset(const std::string& spec, const ModelShape& shape);

// The tag set of CoNLL-2003 (Tjong Kim Sang and De Meulder 2003), in the order
// of the label ids.
const std::vector<std::string>& conll_tags();

}  // namespace trainsim::exec
