#include "workload/work.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>

#include "scenario/plan.hpp"
#include "workload/memory.hpp"
#include "workload/sequences.hpp"

namespace trainsim {

double Block::time() const {
  double t = 0;
  for (const auto& k : kernels) t += k.time;
  return t;
}

bool at_launch_interval(const Kernel& k, double launch_interval) {
  return std::abs(k.time - launch_interval) <= 1e-9 * launch_interval;
}

double host_bound_share(const LayerWork& layer, double launch_interval) {
  double all = 0, host = 0;
  for (const Block* b : {&layer.attention_forward, &layer.mlp_forward, &layer.recompute, &layer.attention_backward,
                         &layer.mlp_backward}) {
    for (const auto& k : b->kernels) {
      all += k.time;
      if (k.host_bound || at_launch_interval(k, launch_interval)) host += k.time;
    }
  }
  return all > 0 ? host / all : 0.0;
}

namespace {
bool linear_gemm(const Kernel& k) {
  return k.bytes == 0 && k.flops > 0 && k.name.find("attention") == std::string::npos &&
         k.name.find("router") == std::string::npos;
}
}  // namespace

double Block::linear_gemm_time() const {
  double t = 0;
  for (const auto& k : kernels) {
    if (linear_gemm(k)) t += k.time;
  }
  return t;
}

int Block::linear_gemms() const { return static_cast<int>(std::count_if(kernels.begin(), kernels.end(), linear_gemm)); }

int zero3_collectives(const ModelSpec& model, const PlanSpec& plan, const LayerWork& layer) {
  if (plan.zero3_unit != Zero3Unit::parameter) return 1;
  // Every parameter tensor of the layer: the weight matrices (a fused projection is one), a bias
  // beside each where the architecture has them, the two norms' scales (and LayerNorm's shifts),
  // MLA's latent norms, the router. GPT's layer: QKV, projection, up, down, 4 biases, 2 x 2
  // LayerNorm tensors, 12 in all; Llama's: 4 fused weights and 2 RMSNorm scales.
  const int weights = layer.attention_forward.linear_gemms() + layer.mlp_forward.linear_gemms();
  const int biases = model.biases() ? weights : 0;
  const int norms = 2 * model.norm_tensors() + (model.mla ? (model.q_lora_rank > 0 ? 2 : 1) : 0);
  const int router = model.moe() ? 1 : 0;
  return std::max(1, weights + biases + norms + router);
}

namespace {
bool weight_gradient(const Kernel& k) {
  return k.name.ends_with(" wgrad") && k.name.find("attention") == std::string::npos;
}
Block part_of(const Block& block, bool weights, const char* suffix) {
  Block part{block.name + suffix, {}};
  for (const auto& k : block.kernels) {
    if (weight_gradient(k) == weights) part.kernels.push_back(k);
  }
  return part;
}
}  // namespace

Block Block::input_gradients() const { return part_of(*this, false, " (input gradients)"); }
Block Block::weight_gradients() const { return part_of(*this, true, " (weight gradients)"); }

double Block::flops() const {
  double f = 0;
  for (const auto& k : kernels) f += k.flops;
  return f;
}

int padded_vocab(int vocab, int tp) {
  const int multiple = 128 * tp;
  return (vocab + multiple - 1) / multiple * multiple;
}

std::vector<int> layers_per_stage(const ModelSpec& model, const PlanSpec& plan) {
  return stage_layers(model.layers, plan);
}

// Layers of one kind run alike, so the next layer's compute is this layer's.
double offload_stall_forward(const LayerWork& L, double slowdown) {
  return std::max(0.0, L.offload_copy - slowdown * (L.attention_forward.time() + L.mlp_forward.time()));
}
double offload_stall_backward(const LayerWork& L, double slowdown) {
  return std::max(0.0, L.offload_copy - slowdown * (L.attention_backward.time() + L.mlp_backward.time()));
}

std::vector<int> dense_layers_per_stage(const ModelSpec& model, const PlanSpec& plan) {
  std::vector<int> dense(std::max(1, plan.pp), 0);
  if (!model.moe()) return dense;
  const std::vector<int> chunks = chunk_layers(model.layers, plan);
  const std::vector<int> first = first_layers(chunks);
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    for (int l = first[c]; l < first[c] + chunks[c]; ++l) dense[c % dense.size()] += model.moe_layer(l) ? 0 : 1;
  }
  return dense;
}

std::vector<int> recomputed_layers_per_stage(const ModelSpec& model, const PlanSpec& plan) {
  std::vector<int> recomputed(std::max(1, plan.pp), 0);
  const std::vector<int> chunks = chunk_layers(model.layers, plan);
  const std::vector<int> first = first_layers(chunks);
  for (std::size_t c = 0; c < chunks.size(); ++c)
    recomputed[c % recomputed.size()] += plan.recomputed_layers(first[c], chunks[c]);
  return recomputed;
}

namespace {

// Rotary embedding written as PyTorch operations on complex numbers (Llama's reference code,
// torchtitan's apply_rotary_emb): x.float() (2 + 4 bytes an element), the complex product with
// the frequencies (4 + 4), type_as (4 + 2): 20 bytes an element.
constexpr double kRopeEagerBytes = 20.0;

// Helpers that price one kernel and append it to a block.
struct BlockBuilder {
  const CostModel& cost;
  Block& block;
  bool eager = false;  // unfused element-wise kernels (plan.kernels)
  // Share of the micro-batches whose forward casts the weights (1 / micro-batches with
  // plan.fp8_weight_cache: the cast copies are made once a step).
  double weight_casts = 1;
  const PlanSpec* overlap = nullptr;  // gemm_beside_tp: the plan, where it overlaps tp communication
  // Slices a column-parallel layer's input is quantized in before its all-gather
  // (PlanSpec::quantized_tp_gather: tp); 1: quantized whole, after it.
  double gather_shards = 1;
  Part part = Part::other;  // of the kernels added from here on
  void add(Kernel k) {
    k.part = part;
    block.kernels.push_back(std::move(k));
  }
  // Linear layers in a low-precision recipe first quantize their input and weight (the backward
  // quantizes the output gradient); other GEMMs run in 16 bits. `gathered_input`: the input is
  // the sequence-parallel all-gather's output.
  void gemm(const std::string& name, double m, double n, double k, double batch = 1, GemmKind kind = GemmKind::linear,
            bool gathered_input = false) {
    const GemmShape shape{m, n, k, batch};
    if (kind == GemmKind::linear && cost.quantize_bytes(1) > 0) {
      const double input = batch * m * k;
      const double weights = batch * k * n * weight_casts;
      const double shards = gathered_input ? gather_shards : 1;
      Kernel cast{name + " quantize", 0, cost.quantize_bytes(input, shards) + cost.quantize_bytes(weights),
                  cost.quantize_time(input, shards) + cost.quantize_time(weights), batch * m * n};
      if (cost.rescales_gradient_gemms()) cast.rescaled_values = batch * (m * k + k * n);
      add(cast);
    }
    add({name, 2 * batch * m * n * k, 0, cost.gemm_time(shape, kind)});
  }
  // A linear layer next to a tensor-parallel collective: after its all-gather (`gathered_input`:
  // QKV, FC1) or before its reduce-scatter (projection, FC2). With plan.tp_comm_overlap the GEMM
  // runs in chunks beside the collective's steps, each chunk with its own last, partly empty
  // wave unless chunks run at once (PlanSpec's TpOverlap): async TP, tp chunks one after another
  // in the forward and the input gradient; userbuffers, the forward in tp (after a gather) or 4
  // (before a reduce-scatter) chunks and the input gradient of the latter in tp, up to 3 at once
  // on their own streams, the rest whole. Weight gradients are never split.
  void gemm_beside_tp(const std::string& name, double m, double n, double k, bool gathered_input = false) {
    gemm(name, m, n, k, 1, GemmKind::linear, gathered_input);
    if (overlap == nullptr) return;
    Kernel& g = block.kernels.back();
    const double whole = g.time;
    // `splits` chunks of m / splits rows, `streams` at a time (their tiles share the waves), on
    // all SMs or all but those the collective's kernel holds (`margin`).
    const auto split = [&](int splits, int streams, bool margin) {
      const int sms = margin ? cost.gpu().sm_count - kUserbufferSms : 0;
      const auto rows = [&](int chunks) {
        return cost.gemm_time({m * chunks / splits, n, k, 1, sms}, GemmKind::linear);
      };
      const int rounds = splits / streams, rest = splits % streams;  // 8 chunks on 3 streams: 3, 3, 2
      return std::max(whole, rounds * rows(std::min(splits, streams)) + (rest > 0 ? rows(rest) : 0.0));
    };
    g.whole_time = whole;
    const int tp = overlap->tp;
    if (overlap->tp_overlap == TpOverlap::async) {
      g.time = split(tp, 1, false);
    } else if (gathered_input) {
      // Forward: ring exchange. Input gradient: whole, beside the bulk all-gather of the input
      // its weight gradient needs; the weight gradient beside the bulk reduce-scatter of the
      // input gradient (wgrad_margin_time).
      g.time = split(tp, kUserbufferStreams, false);
      g.dgrad_time = split(1, 1, true);
      g.wgrad_time = split(1, 1, true);
    } else {
      // Forward: pipelined reduce-scatter. Input gradient: ring exchange.
      g.time = split(kUserbufferPipelineSplits, kUserbufferStreams, true);
      g.dgrad_time = split(tp, kUserbufferStreams, false);
    }
  }
  // A rank's local experts (PlanSpec::expert_gemm): one grouped kernel, or one GEMM per expert on
  // kGroupedGemmStreams streams, up to that many sharing the SMs at once, each dispatched by the
  // host in kExpertGemmDispatch at best.
  void expert_gemm(const std::string& name, double m, double n, double k, double groups, ExpertGemm how) {
    gemm(name, m, n, k, groups);
    if (how == ExpertGemm::grouped) return;
    Kernel& g = block.kernels.back();
    const int experts = std::max(1, static_cast<int>(std::lround(groups)));
    const int rounds = experts / kGroupedGemmStreams, rest = experts % kGroupedGemmStreams;
    const auto concurrent = [&](int gemms) { return cost.gemm_time({m, n, k, double(gemms)}, GemmKind::linear); };
    const double work =
        rounds * concurrent(std::min(experts, kGroupedGemmStreams)) + (rest > 0 ? concurrent(rest) : 0.0);
    // Replayed from a graph, the GEMMs follow each other at the GPU's pace (no host dispatch).
    const double per_gemm =
        cost.replays_graphs() ? cost.kernel_overhead() : std::max(kExpertGemmDispatch, cost.kernel_overhead());
    const double dispatch = experts * per_gemm;
    g.time = std::max(work, dispatch);
    g.host_bound = !cost.replays_graphs() && dispatch >= work;
  }
  // Transformer Engine's compute streams for GroupedLinear (num_compute_streams, multi_stream.h).
  static constexpr int kGroupedGemmStreams = 4;
  // Transformer Engine's userbuffers (initialize_ub's defaults): compute streams a split GEMM's
  // chunks go to (NVTE_COMM_OVERLAP_MAX_STREAMS), the pipelined reduce-scatter's splits, and the
  // SMs the "pipeline" and "bulk" methods' communication kernels hold (num_sm 16, set_sm_margin:
  // the GEMM beside them leaves those SMs free).
  static constexpr int kUserbufferStreams = 3;
  static constexpr int kUserbufferPipelineSplits = 4;
  static constexpr int kUserbufferSms = 16;
  // `eager_bytes`: what the op moves when run as separate framework operations, where that is
  // counted pass by pass (its time then at streaming bandwidth); 0: the fused bytes at the eager
  // kernels' measured efficiency (CalibrationProfile::elementwise_efficiency).
  void memory(const std::string& name, double bytes, double flops = 0, double eager_bytes = 0) {
    if (eager && eager_bytes > 0) {
      add({name, flops, eager_bytes, cost.memory_time(eager_bytes)});
    } else {
      add({name, flops, bytes, cost.memory_time(bytes, eager)});
    }
  }
  void attention(const std::string& name, double flops, double time) { add({name, flops, 0, time}); }
  // `launches` small kernels that stream `bytes` between them, each at least a launch.
  void launches(const std::string& name, double bytes, int launches) {
    Kernel k{name, 0, bytes, std::max(cost.memory_time(bytes), launches * cost.kernel_overhead())};
    k.host_bound = !cost.replays_graphs() && launches * cost.kernel_overhead() >= cost.memory_time(bytes);
    add(k);
  }
  // The kernels from index `first` on take `factor` times their prices, their backward too.
  void slower_since(std::size_t first, double factor) {
    for (std::size_t i = first; i < block.kernels.size(); ++i) {
      block.kernels[i].time *= factor;
      block.kernels[i].time_factor = factor;
    }
  }
  // A copy into another order: its backward moves the same bytes the other way.
  void permutation(const std::string& name, double bytes) {
    Kernel k{name, 0, bytes, cost.memory_time(bytes)};
    k.same_bytes_backward = true;
    add(k);
  }
};

// `span`: keys each query attends to (seq_len, or less in rows of packed sequences).
Workload build_fixed_length(const ModelSpec& m, const PlanSpec& p, const CostModel& cost, double span);

// Adds `share` of each kernel of `part` to the same kernel of `sum` (same layout: same model and plan).
void accumulate(Block& sum, const Block& part, double share) {
  for (std::size_t i = 0; i < sum.kernels.size(); ++i) {
    sum.kernels[i].flops += share * part.kernels[i].flops;
    sum.kernels[i].bytes += share * part.kernels[i].bytes;
    sum.kernels[i].time += share * part.kernels[i].time;
  }
}

void clear(Block& block) {
  for (auto& k : block.kernels) k.flops = k.bytes = k.time = 0;
}

std::vector<Block*> blocks_of(Workload& x) {
  return std::vector<Block*>{&x.layer.attention_forward,  &x.layer.mlp_forward,
                             &x.layer.attention_backward, &x.layer.mlp_backward,
                             &x.layer.recompute,          &x.dense_layer.attention_forward,
                             &x.dense_layer.mlp_forward,  &x.dense_layer.attention_backward,
                             &x.dense_layer.mlp_backward, &x.dense_layer.recompute,
                             &x.extras.embedding_forward, &x.extras.embedding_backward,
                             &x.extras.head_forward,      &x.extras.head_backward};
}

// Every kernel launched by the host (`cost`'s launch interval as the least a kernel takes).
Workload build_launched(const ModelSpec& m, const PlanSpec& p, const CostModel& cost, const DataSpec& data) {
  Workload w = build_fixed_length(m, p, cost, attention_span(data, m.seq_len));
  const auto lengths = padded_lengths(data, m.seq_len, p.micro_batch);
  if (lengths.size() == 1 && lengths.front().tokens == m.seq_len) return w;
  const auto sum = blocks_of(w);
  for (Block* b : sum) clear(*b);
  w.layer.offload_copy = w.dense_layer.offload_copy = 0;
  w.comm.tp_bytes = w.comm.tp_gather_bytes = w.comm.cp_bytes_per_step = w.comm.ep_bytes = w.comm.pp_bytes = 0;
  for (const auto& length : lengths) {
    ModelSpec shorter = m;
    shorter.seq_len = static_cast<int>(std::lround(length.tokens));
    Workload part = build_fixed_length(shorter, p, cost, shorter.seq_len);
    const auto add = blocks_of(part);
    for (std::size_t i = 0; i < sum.size(); ++i) accumulate(*sum[i], *add[i], length.share);
    w.layer.offload_copy += length.share * part.layer.offload_copy;
    w.dense_layer.offload_copy += length.share * part.dense_layer.offload_copy;
    w.comm.tp_bytes += length.share * part.comm.tp_bytes;
    w.comm.tp_gather_bytes += length.share * part.comm.tp_gather_bytes;
    w.comm.cp_bytes_per_step += length.share * part.comm.cp_bytes_per_step;
    w.comm.ep_bytes += length.share * part.comm.ep_bytes;
    w.comm.pp_bytes += length.share * part.comm.pp_bytes;
  }
  return w;
}

}  // namespace

bool replayed_from_graph(const PlanSpec& plan, Part part) {
  if (plan.graphs("full_iteration")) return true;
  switch (part) {
    case Part::attention:
      return plan.graphs("attn");
    case Part::dense_mlp:
      return plan.graphs("mlp");
    case Part::router:
      return plan.graphs("moe_router") || plan.graphs("moe");
    case Part::dispatch_preprocess:
      return plan.graphs("moe_preprocess") || plan.graphs("moe");
    case Part::experts:
      return plan.graphs("moe");
    case Part::other:
    case Part::embedding:
    case Part::head:
      return false;
  }
  return false;
}

// The parts the plan captures in CUDA graphs take their kernels from the same work priced as
// replayed (CostModel::replaying_graphs; same plan, so the same kernels in the same order). Each
// run of captured kernels in a block is one graph, and launching it costs the host one launch:
// its first kernel takes at least the launch interval (per-layer graphs; full_iteration's one
// launch a step is not counted).
Workload build_workload(const ModelSpec& m, const PlanSpec& p, const CostModel& cost, const DataSpec& data) {
  Workload w = build_launched(m, p, cost, data);
  if (p.cuda_graphs.empty()) return w;
  Workload replayed = build_launched(m, p, cost.replaying_graphs(), data);
  std::array<bool, kParts> captured{};
  for (std::size_t part = 0; part < kParts; ++part) captured[part] = replayed_from_graph(p, Part(part));
  // One graph for the whole step launches once a step: not counted.
  const bool launch_per_graph = !p.graphs("full_iteration");
  const auto launched_blocks = blocks_of(w);
  const auto replayed_blocks = blocks_of(replayed);
  for (std::size_t b = 0; b < launched_blocks.size(); ++b) {
    std::vector<Kernel>& kernels = launched_blocks[b]->kernels;
    bool in_graph = false;
    for (std::size_t i = 0; i < kernels.size(); ++i) {
      if (!captured[std::size_t(kernels[i].part)]) {
        in_graph = false;
        continue;
      }
      kernels[i] = replayed_blocks[b]->kernels[i];
      if (!in_graph && launch_per_graph) kernels[i].time = std::max(kernels[i].time, cost.kernel_overhead());
      in_graph = true;
    }
  }
  return w;
}

namespace {

Workload build_fixed_length(const ModelSpec& m, const PlanSpec& p, const CostModel& cost, double span) {
  Workload w;
  const double e = bytes_per_element(p.precision);
  const double t = p.tp;
  const double b = p.micro_batch;
  const double s = m.seq_len;
  const double s_local = s / p.cp;
  const double tokens = b * s_local;  // tokens this GPU computes per micro-batch
  const double h = m.hidden;
  const double kv = m.kv_hidden();
  const double f = m.ffn_hidden;
  const double heads_local = m.heads / t;
  const double d = m.qk_head_dim();  // query and key head dim (MLA: nope + rope)
  const double dv = m.v_dim();       // value head dim
  const double q_width = m.heads * d;
  // With sequence parallelism, norms and dropouts run on 1/t of the tokens.
  const double sp = p.sequence_parallel && p.tp > 1 ? t : 1.0;
  // RMSNorm written as PyTorch operations (Llama's reference code, torchtitan's RMSNorm before
  // nn.RMSNorm): x.float() (2 B read, 4 B written per element), pow(2) (4 + 4), mean (4), x *
  // rsqrt(...) (4 + 4), type_as (4 + 2), * weight (2 + 2): 36 bytes an element, where a fused kernel
  // reads and writes 2 + 2. LayerNorm is one ATen kernel even in eager mode.
  const double norm_eager_bytes = m.arch == Arch::llama ? 36.0 : 0.0;
  // Keys per query: half the span when causal, less with a sliding window (model.hpp).
  const double keys = attended_keys(m, span);
  const Attention family = p.attention == Attention::unfused ? Attention::unfused : cost.attention_family(p.attention);
  // Context parallelism cuts a causal sequence into 2 cp chunks and gives each rank a pair
  // (chunks i and 2cp-1-i) so every rank does the same work (Megatron-Core through Transformer
  // Engine's load-balanced ring, PyTorch's round-robin context_parallel). The first ring step,
  // the rank's own keys, is one causal kernel holding 2 of the rank's 2cp block-equivalents; each
  // of the cp-1 steps on another rank's keys is a full block pair without a mask. So 1/cp of the
  // work runs causal and the rest at the unmasked rate, on sequences of s/cp.
  const bool ring_steps = p.cp > 1 && m.causal() && m.sliding_window <= 0;
  const auto core_attention_time = [&](double flops) {
    if (!ring_steps) return cost.attention_time(flops, family, span, d, m.causal());
    const double local = span / p.cp;
    return cost.attention_time(flops / p.cp, family, local, d, true) +
           cost.attention_time(flops * (p.cp - 1) / p.cp, family, local, d, false);
  };
  w.tokens_per_microbatch = tokens;
  w.memory_bandwidth = cost.gpu().memory_bandwidth * cost.memory_efficiency();
  w.low_precision_weight_bytes = cost.quantized_value_bytes() * cost.quantized_layouts();
  const bool eager = p.kernels == Kernels::eager;
  const double weight_casts = p.caches_fp8_weights() && p.micro_batch > 0 && p.dp > 0
                                  ? 1.0 / double(std::max<std::int64_t>(1, p.step_micro_batches()))
                                  : 1.0;
  const PlanSpec* overlap = p.overlaps_tp() ? &p : nullptr;
  const double gather_shards = p.quantized_tp_gather() ? t : 1;
  w.padded_vocab = padded_vocab(m.vocab, p.tp);
  const double v = w.padded_vocab;

  // ---- one layer, forward ----
  LayerWork& L = w.layer;
  {
    BlockBuilder a{cost, L.attention_forward, eager, weight_casts, overlap, gather_shards, Part::attention};
    L.attention_forward.name = "attention";
    a.memory("input norm", 2 * tokens * h * e / sp, 5 * tokens * h / sp, norm_eager_bytes * tokens * h / sp);
    if (m.mla) {
      // Multi-head latent attention (DeepSeek-V3, arXiv:2412.19437 section 2.1.1): low-rank down
      // projections, normed, then per-head up projections. The down projections are replicated
      // on every tp rank (DeepSeek-V3 inference/model.py: wq_a and wkv_a are plain Linear layers),
      // the up projections split by heads like a QKV projection.
      if (m.q_lora_rank > 0) {
        a.gemm("q down projection", tokens, m.q_lora_rank, h, 1, GemmKind::linear, true);
        a.memory("q norm", 2 * tokens * m.q_lora_rank * e, 5 * tokens * m.q_lora_rank);
        a.gemm("q up projection", tokens, q_width / t, m.q_lora_rank);
      } else {
        a.gemm_beside_tp("q projection", tokens, q_width / t, h, true);
      }
      a.gemm("kv down projection", tokens, m.kv_lora_rank + m.qk_rope_head_dim, h, 1, GemmKind::linear, true);
      a.memory("kv norm", 2 * tokens * m.kv_lora_rank * e, 5 * tokens * m.kv_lora_rank);
      a.gemm("kv up projection", tokens, m.heads * double(m.qk_nope_head_dim + m.v_head_dim) / t, m.kv_lora_rank);
    } else {
      a.gemm_beside_tp("qkv projection", tokens, (q_width + 2 * kv) / t, h, true);
    }
    if (m.rotary_positions()) {
      // Rotary embedding of queries and keys (MLA: their rope dimensions): fused, one read and
      // one write of each.
      const double rotated = m.mla ? tokens * (m.heads * double(m.qk_rope_head_dim) / t + m.qk_rope_head_dim)
                                   : tokens * (q_width + kv) / t;
      a.memory("rotary embedding", 2 * rotated * e, 6 * rotated, kRopeEagerBytes * rotated);
    }
    // Scores and values: 2 GEMMs of 2*d_qk and 2*d_v FLOPs per query, key and head.
    if (p.attention != Attention::unfused) {
      // Fused kernels skip what the masks hide: the causal half, other sequences of a packed row,
      // keys outside a sliding window.
      const double core_flops = 2 * b * heads_local * s_local * keys * (d + dv);
      a.attention("flash attention", core_flops,
                  core_attention_time(core_flops) * CostModel::attention_forward_scale());
    } else {
      // The whole s x s score matrix is computed (masked, not skipped) and goes through memory:
      // the fused scale-mask-softmax reads and writes it; with dropout one more kernel reads it
      // and writes it and a byte mask. Models trained without dropout launch none (torch's
      // dropout returns its input at p = 0). The backward is priced at twice these bytes, where
      // the kernels move 3e (+ 2e + 1) a score: docs/accuracy.md, session 23, says why.
      // Run as separate operations they take longer than those prices, the more so on short rows
      // (unfused_attention_factor, measured on PyTorch's kernels: so not slowed again as eager).
      const std::size_t first = a.block.kernels.size();
      a.gemm("attention scores", s_local, s, d, b * heads_local, GemmKind::other);
      const double scores = b * heads_local * s_local * s;
      const double dropout_bytes = m.dropout() ? 2 * e + 1 : 0;
      a.eager = false;
      if (eager && m.causal()) {
        // As PyTorch operations the causal mask is a pass of its own over the scores (masked_fill,
        // where, or adding a mask of -inf: nanoGPT, Hugging Face's eager attention, the
        // FlashAttention benchmark's reference); Megatron's fused softmax masks inside it.
        a.memory("causal mask", 2 * e * scores, scores);
        a.block.kernels.back().same_bytes_backward = true;
      }
      a.memory(m.dropout() ? "softmax + dropout" : "softmax", scores * (2 * e + dropout_bytes), 5 * scores);
      a.eager = eager;
      a.gemm("attention values", s_local, dv, s, b * heads_local, GemmKind::other);
      a.slower_since(first, cost.unfused_attention_factor(s, d));
      for (std::size_t i = first; i < a.block.kernels.size(); ++i) a.block.kernels[i].measured_eager = true;
    }
    a.gemm_beside_tp("output projection", tokens, h, m.heads * dv / t);
    a.memory("dropout + residual", 4 * tokens * h * e / sp, 2 * tokens * h / sp);
  }
  {
    BlockBuilder mlp{
        cost, L.mlp_forward, eager, weight_casts, overlap, gather_shards, m.moe() ? Part::router : Part::dense_mlp};
    L.mlp_forward.name = "mlp";
    // A parallel block's MLP norms the layer's input (GPT-NeoX and Falcon-40B a norm of its own;
    // GPT-J and PaLM share the attention's, priced here as a second one).
    mlp.memory(m.parallel_blocks ? "mlp input norm" : "post-attention norm", 2 * tokens * h * e / sp,
               5 * tokens * h / sp, norm_eager_bytes * tokens * h / sp);
    const double up_width = (m.swiglu() ? 2 : 1) * f / t;
    if (m.moe()) {
      mlp.gemm("router", tokens, m.experts, h, 1, GemmKind::other);
      // The rest of the router's forward (scores, top-k, probabilities, auxiliary-loss terms):
      // small element-wise kernels over the tokens' expert logits, each a launch
      // (PlanSpec::router_kernels). Their backward is priced as other element-wise work, one
      // kernel moving twice the bytes: no count of its autograd kernels was found.
      const int launches = p.router_kernels() - 1;
      mlp.launches("router scores and top-k", 8 * tokens * m.experts * launches, launches);
      const double gates = m.swiglu() ? 2 : 1;
      const double ef = m.expert_ffn();
      if (m.shared_experts > 0) {
        // Shared experts: a dense MLP of shared x expert_ffn over every token, split over tp
        // (Megatron-Core's SharedExpertMLP; DeepSeekMoE, arXiv:2401.06066).
        const double width = m.shared_experts * ef / t;
        mlp.gemm("shared expert up (+gate)", tokens, gates * width, h, 1, GemmKind::linear, true);
        mlp.memory("shared expert activation", (gates + 1) * tokens * width * e, 8 * tokens * width);
        mlp.gemm("shared expert down", tokens, h, width);
      }
      // Each token's top_k routed experts. A GPU holds experts/ep of them, each split over etp;
      // it computes the tokens of its etp group (with sequence parallelism each rank brings 1/tp
      // of the tokens; without it each already holds all of them), top_k each, balanced over
      // the ep ranks, and the most loaded rank `imbalance` times that, in the local experts'
      // GEMMs as plan.expert_gemm runs them.
      const double etp = p.expert_tp();
      const double local_experts = double(m.experts) / p.ep;
      const double sent = sp > 1 ? tokens / sp * etp : tokens;  // tokens this rank routes
      const double routed = sent * m.top_k * m.imbalance;
      const double tokens_per_expert = routed / local_experts;
      // Token permutations (Megatron-Core's token dispatchers): NCCL's all-to-all needs the
      // tokens copied top_k times into destination order before it and summed back, weighted,
      // after it; DeepEP and HybridEP do both inside their kernels. Either way the received
      // tokens are sorted by local expert before the GEMMs and back after them.
      const bool alltoall = p.moe_dispatcher == MoeDispatcher::alltoall && p.ep > 1;
      mlp.part = Part::dispatch_preprocess;
      if (alltoall) mlp.permutation("token permute", sent * h * e * (1 + m.top_k));
      mlp.part = Part::experts;
      mlp.permutation("expert sort", 2 * routed * h * e);
      mlp.expert_gemm("expert up (+gate)", tokens_per_expert, gates * ef / etp, h, local_experts, p.expert_gemm);
      mlp.memory("expert activation", (gates + 1) * routed * ef / etp * e, 8 * routed * ef / etp);
      mlp.expert_gemm("expert down", tokens_per_expert, h, ef / etp, local_experts, p.expert_gemm);
      mlp.permutation("expert unsort", 2 * routed * h * e);
      if (alltoall) mlp.permutation("token unpermute", sent * h * e * (1 + m.top_k));
    } else {
      mlp.gemm_beside_tp(m.swiglu() ? "gate + up projection" : "up projection", tokens, up_width, h, true);
      mlp.memory(m.swiglu() ? "silu * gate" : "gelu", (m.swiglu() ? 3 : 2) * tokens * f / t * e, 8 * tokens * f / t);
      mlp.gemm_beside_tp("down projection", tokens, h, f / t);
    }
    mlp.memory("dropout + residual", 4 * tokens * h * e / sp, 2 * tokens * h / sp);
  }

  // ---- backward: each GEMM twice (input and weight gradients), flash attention 2.5x its
  // forward FLOPs (FlashAttention-2 recomputes scores), element-wise work twice the bytes ----
  auto backward_of = [&](const Block& forward, Block& backward) {
    backward.name = forward.name + " backward";
    for (const auto& k : forward.kernels) {
      const std::size_t first = backward.kernels.size();
      if (k.name == "flash attention") {
        backward.kernels.push_back({k.name + " backward", 2.5 * k.flops, 0,
                                    core_attention_time(2.5 * k.flops) * CostModel::attention_backward_scale()});
      } else if (k.gradient_values > 0) {
        backward.kernels.push_back(
            {k.name + " gradient", 0, cost.quantize_bytes(k.gradient_values), cost.quantize_time(k.gradient_values)});
        if (k.rescaled_values > 0) {
          // A fused element-wise kernel for each of the two gradients: read, scale, write 16 bits
          // (the second kernel's streaming counted in the first's bytes, its launch added).
          const double bytes = 4 * k.rescaled_values;
          backward.kernels.push_back({k.name + " gradient rescale", k.rescaled_values, bytes,
                                      cost.memory_time(bytes) + cost.kernel_overhead()});
        }
      } else if (k.same_bytes_backward) {
        backward.kernels.push_back({k.name + " backward", 0, k.bytes, k.time});
      } else if (k.bytes > 0) {
        Kernel b{k.name + " backward", 2 * k.flops, 2 * k.bytes,
                 cost.memory_time(2 * k.bytes, eager && !k.measured_eager) * k.time_factor};
        b.time_factor = k.time_factor;
        backward.kernels.push_back(b);
      } else {
        Kernel dgrad{k.name + " dgrad", k.flops, 0, k.dgrad_time > 0 ? k.dgrad_time : k.time};
        Kernel wgrad{k.name + " wgrad", k.flops, 0,
                     k.wgrad_time > 0   ? k.wgrad_time
                     : k.whole_time > 0 ? k.whole_time
                                        : k.time};
        dgrad.host_bound = wgrad.host_bound = k.host_bound;  // the same dispatch, each gradient
        backward.kernels.push_back(dgrad);
        backward.kernels.push_back(wgrad);
      }
      for (std::size_t i = first; i < backward.kernels.size(); ++i) backward.kernels[i].part = k.part;
    }
  };
  backward_of(L.attention_forward, L.attention_backward);
  backward_of(L.mlp_forward, L.mlp_backward);

  // ---- recomputation ----
  L.recompute.name = "recompute";
  if (p.recompute == Recompute::full) {
    for (const Block* blk : {&L.attention_forward, &L.mlp_forward}) {
      for (const auto& k : blk->kernels) L.recompute.kernels.push_back(k);
    }
  } else if (p.recompute == Recompute::op) {
    // torchtitan's per-op policy saves matmul outputs except every second matmul's, and the
    // attention kernel's; element-wise kernels and the skipped matmuls (with their casts) rerun.
    int gemms = 0;
    for (const Block* blk : {&L.attention_forward, &L.mlp_forward}) {
      for (std::size_t i = 0; i < blk->kernels.size(); ++i) {
        const Kernel& k = blk->kernels[i];
        if (k.name == "flash attention" && p.op_reruns_attention) L.recompute.kernels.push_back(k);
        if (k.name == "flash attention" || k.gradient_values > 0) continue;
        const bool gemm = k.bytes == 0;
        if (gemm && ++gemms % 2 == 1) continue;  // saved
        if (gemm && i > 0 && blk->kernels[i - 1].gradient_values > 0)
          L.recompute.kernels.push_back(blk->kernels[i - 1]);
        L.recompute.kernels.push_back(k);
      }
    }
  } else if (p.recompute == Recompute::qkv) {
    // Everything but the query/key/value projections (and their casts) reruns.
    const auto is_qkv = [](const std::string& name) {
      for (const char* projection : {"qkv projection", "q projection", "q down projection", "q up projection",
                                     "kv down projection", "kv up projection"}) {
        if (name.rfind(projection, 0) == 0) return true;
      }
      return false;
    };
    for (const Block* blk : {&L.attention_forward, &L.mlp_forward}) {
      for (const auto& k : blk->kernels) {
        if (!is_qkv(k.name)) L.recompute.kernels.push_back(k);
      }
    }
  } else if (p.recompute == Recompute::selective) {
    // The listed modules' kernels (Megatron-Core's --recompute-modules). core_attn is Korthikanti
    // et al. 2022's selective recomputation: the attention core (softmax, dropout, scores * V).
    const auto listed = [&](const char* module) { return p.recomputes_module(module); };
    const auto rerun = [&](const std::string& n) {
      const auto starts = [&](const char* prefix) { return n.rfind(prefix, 0) == 0; };
      if (listed("core_attn") &&
          (n == "flash attention" || starts("attention ") || starts("softmax") || n == "causal mask"))
        return true;
      if (listed("layernorm") && (n == "input norm" || n == "post-attention norm" || n == "mlp input norm"))
        return true;
      if (listed("mla_up_proj") && (starts("q up projection") || starts("kv up projection"))) return true;
      if (listed("moe_act") && n == "expert activation") return true;
      if (listed("shared_experts") && starts("shared expert")) return true;
      if (listed("moe") && (starts("router") || starts("expert ") || starts("shared expert"))) return true;
      if (listed("mlp") && !m.moe() &&
          (starts("gate + up projection") || starts("up projection") || n == "silu * gate" || n == "gelu" ||
           starts("down projection")))
        return true;
      return false;
    };
    for (const Block* blk : {&L.attention_forward, &L.mlp_forward}) {
      for (const auto& k : blk->kernels) {
        if (rerun(k.name)) L.recompute.kernels.push_back(k);
      }
    }
  }

  // ---- activation offloading (PlanSpec::activation_offload_layers) ----
  // A layer's saved tensors over the host link, each way (offload_stall_* price what is exposed;
  // the copies' share of HBM bandwidth is not priced).
  if (p.activation_offload_layers > 0 && cost.gpu().host_link_bandwidth > 0) {
    L.offload_copy =
        activation_bytes_per_layer(m, p, p.attention != Attention::unfused) / cost.gpu().host_link_bandwidth;
  }

  // ---- parameters per GPU ----
  // Dense weights split over tp (MLA's down projections replicated, above); routed experts over
  // ep, each expert over etp (MoE parallel folding).
  const double replicated = m.mla ? h * (m.q_lora_rank + m.kv_lora_rank + m.qk_rope_head_dim) : 0.0;
  L.expert_parameters = m.moe() ? double(m.experts) / p.ep * mlp_parameters(m) / p.expert_tp() : 0.0;
  L.parameters =
      (layer_parameters(m) - routed_expert_parameters(m) - replicated) / t + replicated + L.expert_parameters;

  // ---- embedding and head ----
  StageExtras& x = w.extras;
  {
    BlockBuilder emb{cost, x.embedding_forward, eager, 1, nullptr, 1, Part::embedding};
    x.embedding_forward.name = "embedding";
    emb.memory("token + position embedding", 3 * tokens * h * e / sp);
    BlockBuilder emb_b{cost, x.embedding_backward, eager, 1, nullptr, 1, Part::embedding};
    x.embedding_backward.name = "embedding backward";
    emb_b.memory("embedding gradient", 3 * tokens * h * e / sp);
  }
  const double head_tokens = m.head_token_share() * tokens;
  const double logits = head_tokens * v / t;  // this GPU's share of the vocabulary
  {
    BlockBuilder head{cost, x.head_forward, eager, 1, nullptr, 1, Part::head};
    x.head_forward.name = "lm head + loss";
    head.memory("final norm", 2 * tokens * h * e / sp);
    head.gemm("lm head", head_tokens, v / t, h, 1, GemmKind::other);
    BlockBuilder head_b{cost, x.head_backward, eager, 1, nullptr, 1, Part::head};
    x.head_backward.name = "lm head + loss backward";
    if (p.loss == Loss::fused) {
      // One kernel reads the 16-bit logits and writes their 16-bit gradient.
      head.memory("cross-entropy (fused)", 2 * logits * 2, 5 * logits);
    } else {
      if (p.loss == Loss::cast || p.loss == Loss::decomposed) {
        // The fp32 copy of the 16-bit logits, and its gradient cast back.
        head.memory("logits to fp32", logits * (2 + 4));
        head_b.memory("logits gradient to 16-bit", logits * (4 + 2));
      }
      if (p.loss == Loss::decomposed) {
        // Element-wise passes over fp32 logits beyond the fused kernels' below: forward max,
        // shift, exp, sum and subtract (32 bytes a logit against 12); backward zeros, exp, add
        // and multiply (32 against 8).
        head.memory("log-softmax (element-wise)", (32 - 12) * logits);
        head_b.memory("log-softmax backward (element-wise)", (32 - 8) * logits);
      }
      head.memory("cross-entropy", 3 * logits * 4, 5 * logits);  // fp32 logits
      head_b.memory("cross-entropy backward", 2 * logits * 4);
    }
    head_b.gemm("lm head dgrad", head_tokens, h, v / t, 1, GemmKind::other);
    head_b.gemm("lm head wgrad", h, v / t, head_tokens, 1, GemmKind::other);
  }
  // Multi-token prediction: per module, the projection of [norm(h); norm(embedding)] to h, one
  // more layer and the shared head and loss, forward and backward, on the last stage. Its layer's
  // tensor- and expert-parallel exchanges are not simulated (compute only).
  if (m.mtp_layers > 0) {
    const auto append = [](Block& to, const std::vector<Kernel>& kernels) {
      to.kernels.insert(to.kernels.end(), kernels.begin(), kernels.end());
    };
    std::vector<Kernel> head_and_loss;  // the main head's forward but its final norm
    for (const auto& k : x.head_forward.kernels) {
      if (k.name != "final norm") head_and_loss.push_back(k);
    }
    const std::vector<Kernel> head_and_loss_backward = x.head_backward.kernels;
    for (int d = 0; d < m.mtp_layers; ++d) {
      BlockBuilder mtp{cost, x.head_forward, eager, weight_casts, nullptr, 1, Part::head};
      mtp.memory("mtp norms", 4 * tokens * h * e / sp, 10 * tokens * h / sp);
      mtp.gemm("mtp projection", tokens, h / t, 2 * h);
      append(x.head_forward, L.attention_forward.kernels);
      append(x.head_forward, L.mlp_forward.kernels);
      append(x.head_forward, head_and_loss);
      append(x.head_backward, head_and_loss_backward);
      append(x.head_backward, L.attention_backward.kernels);
      append(x.head_backward, L.mlp_backward.kernels);
      BlockBuilder mtp_b{cost, x.head_backward, eager, weight_casts, nullptr, 1, Part::head};
      mtp_b.gemm("mtp projection dgrad", tokens, 2 * h, h / t);
      mtp_b.gemm("mtp projection wgrad", 2 * h, h / t, tokens);
    }
  }
  x.embedding_parameters = (v * h + (m.learned_positions() ? s * h : 0)) / t;
  x.head_parameters = (m.tied_embeddings() ? 0 : v * h / t) + m.mtp_layers * (L.parameters + 2 * h * h / t);

  // ---- communication volumes ----
  Communication& c = w.comm;
  if (p.tp > 1) {
    c.tp_bytes = tokens * h * e;
    c.tp_gather_bytes = p.quantized_tp_gather() ? tokens * h * cost.quantized_value_bytes() : c.tp_bytes;
  }
  if (p.cp > 1) {
    // This rank's K and V (MLA: the up-projected per-head keys and values).
    c.cp_bytes_per_step = tokens * (m.mla ? q_width + m.heads * dv : 2 * kv) / t * e;
    c.cp_steps = p.cp - 1;
  }
  // The most loaded rank's dispatch (and combine) scales with the imbalance.
  if (p.ep > 1 && m.moe()) c.ep_bytes = tokens * m.top_k * m.imbalance * h * e / sp * (p.ep - 1) / p.ep;
  // Megatron-LM's scatter/gather optimisation (Narayanan et al. SC'21, 4.1): each TP rank sends
  // 1/t of the activation and the receivers all-gather it over NVLink; with sequence parallelism
  // the activation is already split.
  c.pp_bytes = tokens * h * e / t;

  // A MoE model's dense layers (its first ones, or those between its MoE layers): the same layer
  // with a dense MLP of ffn_hidden.
  if (m.moe() && m.has_dense_layers()) {
    ModelSpec dense = m;
    dense.experts = dense.top_k = dense.shared_experts = dense.dense_layers = 0;
    dense.moe_layer_frequency = 1;
    w.dense_layer = build_fixed_length(dense, p, cost, span).layer;
  }
  return w;
}

}  // namespace

double optimizer_time(const Workload& work, const PlanSpec& plan, double params) {
  return params * (12.0 + 2.0 * plan.optimizer_state_bytes()) / work.memory_bandwidth;
}

}  // namespace trainsim
