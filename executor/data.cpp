#include "data.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace trainsim::exec {

namespace {

GlobalBatch finish(torch::Tensor tokens, torch::Tensor targets) {
  GlobalBatch b;
  b.real = torch::ones_like(tokens, torch::kBool);
  b.labelled = (targets != -100).sum().item<int64_t>();
  b.tokens = std::move(tokens);
  b.targets = std::move(targets);
  return b;
}

class Synthetic : public Dataset {
 public:
  explicit Synthetic(const ModelShape& s) : s_(s) {}
  GlobalBatch batch(int64_t step, int64_t sequences) const override {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(1000 + step);
    const auto seq = torch::randint(s_.vocab, {sequences, s_.seq_len + 1}, generator, torch::kLong);
    if (s_.arch == Arch::bert) {  // token classification: a random class per token
      return finish(seq.narrow(1, 0, s_.seq_len).contiguous(), seq.narrow(1, 1, s_.seq_len).remainder(s_.labels));
    }
    return finish(seq.narrow(1, 0, s_.seq_len).contiguous(), seq.narrow(1, 1, s_.seq_len).contiguous());
  }
  std::string describe() const override { return "synthetic tokens"; }

 private:
  ModelShape s_;
};

// Next-token prediction over one long stream of token ids; sequence i of step s
// starts at a fixed stride through the stream, wrapping around.
class Stream : public Dataset {
 public:
  Stream(std::vector<int64_t> ids, const ModelShape& s, std::string what)
      : ids_(std::move(ids)), s_(s), what_(std::move(what)) {}
  GlobalBatch batch(int64_t step, int64_t sequences) const override {
    const int64_t T = s_.seq_len, span = int64_t(ids_.size()) - T - 1;
    auto tokens = torch::empty({sequences, T}, torch::kLong), targets = torch::empty({sequences, T}, torch::kLong);
    auto tok = tokens.accessor<int64_t, 2>(), tgt = targets.accessor<int64_t, 2>();
    for (int64_t i = 0; i < sequences; ++i) {
      const int64_t start = ((step * sequences + i) * T) % span;
      for (int64_t t = 0; t < T; ++t) {
        tok[i][t] = ids_[start + t];
        tgt[i][t] = ids_[start + t + 1];
      }
    }
    return finish(tokens, targets);
  }
  std::string describe() const override { return what_; }

 private:
  std::vector<int64_t> ids_;
  ModelShape s_;
  std::string what_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the data file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<Dataset> text_stream(const std::string& path, const ModelShape& s) {
  if (s.vocab < 256) throw std::runtime_error(path + ": text is read as bytes; the model's vocab must be at least 256");
  const std::string text = read_file(path);
  if (int64_t(text.size()) < s.seq_len + 2) {
    throw std::runtime_error(path + ": " + std::to_string(text.size()) + " bytes, fewer than one sequence of " +
                             std::to_string(s.seq_len + 1));
  }
  std::vector<int64_t> ids(text.begin(), text.end());
  for (auto& id : ids) id = static_cast<unsigned char>(id);
  return std::make_unique<Stream>(std::move(ids), s, "bytes of " + path);
}

std::unique_ptr<Dataset> token_stream(const std::string& path, const ModelShape& s) {
  std::string raw = read_file(path);
  std::size_t offset = 0;
  if (raw.size() >= 1024) {  // llm.c's header: 256 int32, magic 20240520, version, token count
    int32_t magic = 0;
    std::memcpy(&magic, raw.data(), 4);
    if (magic == 20240520) offset = 1024;
  }
  if ((raw.size() - offset) % 2 != 0) throw std::runtime_error(path + ": not a file of uint16 tokens (odd byte count)");
  std::vector<int64_t> ids((raw.size() - offset) / 2);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    uint16_t v = 0;
    std::memcpy(&v, raw.data() + offset + 2 * i, 2);
    if (v >= s.vocab) {
      throw std::runtime_error(path + ": token " + std::to_string(v) + " at position " + std::to_string(i) +
                               " is outside the model's vocab of " + std::to_string(s.vocab));
    }
    ids[i] = v;
  }
  if (int64_t(ids.size()) < s.seq_len + 2) throw std::runtime_error(path + ": fewer tokens than one sequence");
  return std::make_unique<Stream>(std::move(ids), s, "tokens of " + path);
}

// Sentences of a CoNLL-2003 file; a word's id is a hash of its lower-case form
// into the vocab (ids 0 and 1 are kept for padding and unknown).
class Conll : public Dataset {
 public:
  Conll(const std::string& path, const ModelShape& s) : s_(s), path_(path) {
    std::istringstream in(read_file(path));
    std::string line;
    std::vector<std::pair<int64_t, int64_t>> sentence;
    int line_no = 0;
    auto flush = [&] {
      if (!sentence.empty()) sentences_.push_back(sentence);
      sentence.clear();
    };
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::istringstream fields(line);
      std::vector<std::string> f;
      for (std::string w; fields >> w;) f.push_back(w);
      if (f.empty()) {
        flush();
        continue;
      }
      if (f[0] == "-DOCSTART-") continue;
      if (f.size() < 2) throw std::runtime_error(path + ":" + std::to_string(line_no) + ": expected \"word ... TAG\"");
      const auto& tags = conll_tags();
      const auto tag = std::find(tags.begin(), tags.end(), f.back());
      if (tag == tags.end()) {
        throw std::runtime_error(path + ":" + std::to_string(line_no) + ": unknown tag \"" + f.back() +
                                 "\" (expected one of O, B-PER, I-PER, B-ORG, "
                                 "I-ORG, B-LOC, I-LOC, B-MISC, I-MISC)");
      }
      std::string word = f[0];
      std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
      std::uint64_t h = 1469598103934665603ULL;
      for (const char ch : word) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
      sentence.emplace_back(2 + int64_t(h % std::uint64_t(s.vocab - 2)), int64_t(tag - tags.begin()));
    }
    flush();
    if (sentences_.empty()) throw std::runtime_error(path + ": no sentences");
    if (s.labels != int(conll_tags().size()))
      throw std::runtime_error(path + ": the model needs 9 labels for CoNLL tags");
  }
  GlobalBatch batch(int64_t step, int64_t sequences) const override {
    const int64_t T = s_.seq_len;
    auto tokens = torch::zeros({sequences, T}, torch::kLong), targets = torch::full({sequences, T}, -100, torch::kLong);
    auto real = torch::zeros({sequences, T}, torch::kBool);
    auto tok = tokens.accessor<int64_t, 2>(), tgt = targets.accessor<int64_t, 2>();
    auto re = real.accessor<bool, 2>();
    for (int64_t i = 0; i < sequences; ++i) {
      const auto& sentence = sentences_[std::size_t((step * sequences + i) % int64_t(sentences_.size()))];
      for (int64_t t = 0; t < std::min<int64_t>(T, int64_t(sentence.size())); ++t) {
        tok[i][t] = sentence[t].first;
        tgt[i][t] = sentence[t].second;
        re[i][t] = true;
      }
    }
    GlobalBatch b;
    b.labelled = (targets != -100).sum().item<int64_t>();
    b.tokens = tokens;
    b.targets = targets;
    b.real = real;
    return b;
  }
  std::string describe() const override { return std::to_string(sentences_.size()) + " CoNLL sentences of " + path_; }

 private:
  ModelShape s_;
  std::string path_;
  std::vector<std::vector<std::pair<int64_t, int64_t>>> sentences_;
};

}  // namespace

const std::vector<std::string>& conll_tags() {
  static const std::vector<std::string> tags{"O",     "B-PER", "I-PER",  "B-ORG", "I-ORG",
                                             "B-LOC", "I-LOC", "B-MISC", "I-MISC"};
  return tags;
}

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const ModelShape& s) {
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), path = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (spec == "synthetic") return std::make_unique<Synthetic>(s);
  if (path.empty())
    throw std::runtime_error("--data " + spec + ": expected synthetic, text:FILE, tokens:FILE or conll:FILE");
  if (s.arch == Arch::bert && kind != "conll")
    throw std::runtime_error("--data " + spec + ": a bert model trains on conll:FILE or synthetic data");
  if (kind == "text") return text_stream(path, s);
  if (kind == "tokens") return token_stream(path, s);
  if (kind == "conll") {
    if (s.arch != Arch::bert) throw std::runtime_error("--data conll: NER fine-tuning needs a bert model");
    return std::make_unique<Conll>(path, s);
  }
  throw std::runtime_error("--data " + spec + ": expected synthetic, text:FILE, tokens:FILE or conll:FILE");
}

}  // namespace trainsim::exec
