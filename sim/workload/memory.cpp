#include "workload/memory.hpp"

#include <algorithm>
#include <limits>

#include "engine/schedule.hpp"
#include "workload/stages.hpp"

namespace trainsim {

double default_memory_reserve(double capacity) { return kReserveFixedBytes + kReserveFraction * capacity; }

double activation_bytes_per_layer(const ModelSpec& m, const PlanSpec& p, bool flash_attention) {
  const double t = p.tp;
  const double s = double(m.seq_len) / p.cp;
  const double sbh = s * p.micro_batch * m.hidden;
  const double e = bytes_per_element(p.precision) / 2.0;  // the formulas count 16-bit activations
  if (p.recompute == Recompute::full) {
    // Only the layer's input is kept; the rest is rebuilt one layer at a time.
    return 2 * sbh * e / (p.sequence_parallel ? t : 1);
  }
  // The attention's tensors at their widths (a share of h): queries and keys of the query/key head
  // dim, values and the attention's output (the projection's input) of the value head dim; h, h,
  // kv_hidden and h for a model whose heads split h, wider where the head dim is given (Qwen3,
  // gpt-oss) and for multi-head latent attention, whose keys are built per head (DeepSeek-V3: q
  // and k 3.4 h, v and the output 2.3 h).
  const double q_width = m.heads * double(m.qk_head_dim()) / m.hidden;
  const double k_width = m.kv_heads * double(m.qk_head_dim()) / m.hidden;
  const double v_width = m.kv_heads * double(m.v_dim()) / m.hidden;
  const double output_width = m.heads * double(m.v_dim()) / m.hidden;
  if (p.recompute == Recompute::qkv) {
    // The layer's input and its query/key/value projections.
    return 2 * sbh * (1 / (p.sequence_parallel ? t : 1.0) + (q_width + k_width + v_width) / t) * e;
  }
  // The MLP's inner width per token: a MoE layer's routed top_k experts (times the imbalance on
  // the most loaded rank) and its shared experts.
  const double mlp_width =
      m.moe() ? (m.top_k * m.imbalance + m.shared_experts) * double(m.expert_ffn()) : double(m.ffn_hidden);
  if (p.recompute == Recompute::op) {
    // Per-op checkpointing (torchtitan's policy) keeps the layer's input, the attention kernel's
    // output and the output of every other matmul in the order the layer calls them, starting
    // with the first: of q, k, v, output, gate, up, down it keeps q, v, gate and down (without a
    // gate: q, v, up), 2 bytes each.
    // (The attention's output is not kept where it reruns: PlanSpec::op_reruns_attention.)
    const double kept_gemms = q_width + v_width + (mlp_width + (m.swiglu() ? m.hidden : 0.0)) / m.hidden;
    const double attention_output = p.op_reruns_attention ? 0.0 : output_width;
    return 2 * sbh * (1 / (p.sequence_parallel ? t : 1.0) + (kept_gemms + attention_output) / t) * e;
  }
  // Korthikanti et al. 2022, Eq. 1-2, generalised to any MLP width, grouped-query attention and
  // training without dropout: per layer
  //   replicated (the two norms' inputs, the QKV and MLP inputs, two dropout masks): 10 sbh
  //   (8 without dropout), split over tp unless SP keeps 1/t;
  //   split by tp: queries 2 sbh, keys and values 4 sbh x kv_hidden / h, the projection's input 2
  //   sbh (8 sbh with as many key/value heads as query heads), and the MLP's inner activations;
  //   attention scores 5 a s^2 b / t (the softmax's output 2, dropout's mask 1 and output 2; 2
  //   without dropout), gone with flash attention or selective recomputation.
  //   Where the linear layers keep their low-precision input for the weight gradient
  //   (PlanSpec::saves_low_precision_inputs, Transformer Engine), the QKV, MLP and second MLP
  //   GEMMs' inputs take 1 byte a value, not 2 (a MoE layer's router keeps the 16-bit MLP input
  //   anyway); the projection's input too, but where a fused attention kernel keeps its output for
  //   its own backward the two no longer share memory, so both stay (NVIDIA's DeepSeek-V3 GB200
  //   account, Megatron-LM docs/discussions/deepseek-v3-gb200-optimization 2.2.2: "it actually
  //   saves 1.5 times the size"); recomputing the attention core frees the kernel's copy.
  const bool low = p.saves_low_precision_inputs();
  const bool core_reruns = p.recomputes_module("core_attn");
  const double inner = ((m.swiglu() ? 6.0 : 4.0) - (low ? 1.0 : 0.0)) * mlp_width / m.hidden;
  const double quantized_inputs = low ? (m.moe() ? 1 : 2) : 0;
  // Parallel blocks norm the layer's input for both branches: one norm input kept, not two.
  const double replicated =
      ((m.dropout() ? 10 : 8) - quantized_inputs - (m.parallel_blocks ? 2 : 0)) / (p.sequence_parallel ? t : 1.0);
  const double projection = low ? (flash_attention && !core_reruns ? 1.0 : -1.0) : 0.0;
  // Modules recomputed in backward (Megatron-Core's --recompute-modules) drop what they would keep
  // for it: `layernorm` the two norms' outputs, the QKV and MLP inputs where they are kept in 16
  // bits (under low precision the linear layers keep their own quantized copies, which stay, and
  // a MoE router's 16-bit input goes); `moe_act` the routed experts' activation output, `mlp` a
  // dense layer's MLP inner activations, `moe` a MoE layer's, `shared_experts` the shared
  // experts'. (core_attn: the projection term above; mla_up_proj below.)
  const auto listed = [&](const char* name) { return p.recomputes_module(name); };
  const double routed_width = m.moe() ? m.top_k * m.imbalance * double(m.expert_ffn()) / m.hidden : 0.0;
  const double shared_width = m.moe() ? m.shared_experts * double(m.expert_ffn()) / m.hidden : 0.0;
  double dropped_replicated = listed("layernorm") ? 4 - 2 * quantized_inputs : 0.0;
  double dropped_split = 0;
  if (m.moe() && listed("moe")) {
    dropped_split = inner;
  } else if (m.moe()) {
    if (listed("moe_act")) dropped_split += (2.0 - (low ? 1.0 : 0.0)) * routed_width;
    if (listed("shared_experts")) dropped_split += ((m.swiglu() ? 6.0 : 4.0) - (low ? 1.0 : 0.0)) * shared_width;
  } else if (listed("mlp")) {
    dropped_split = inner;
  }
  dropped_replicated /= (p.sequence_parallel ? t : 1.0);
  // Queries, keys and values at their widths (above). Multi-head latent attention also keeps its
  // normed latents (replicated: Megatron-Core's MLA runs its down projections on every tp rank);
  // mla_up_proj reruns the up projections and drops the queries, keys and values they made.
  const double qkv = 2 * (q_width + k_width + v_width);
  if (m.mla && listed("mla_up_proj")) dropped_split += qkv;
  // The latents' norms' inputs and the up projections' inputs, 16-bit, on every tp rank.
  const double latents = m.mla ? 2.0 * (2 * m.q_lora_rank + 2 * m.kv_lora_rank + m.qk_rope_head_dim) / m.hidden : 0.0;
  const double split = (qkv + (2 + projection) * output_width + inner - dropped_split) / t;
  const bool keep_scores = !flash_attention && p.recompute == Recompute::none;
  const double scores = keep_scores ? (m.dropout() ? 5.0 : 2.0) * m.heads * s / m.hidden / t : 0.0;
  return sbh * (replicated - dropped_replicated + latents + split + scores) * e;
}

std::vector<MemoryBreakdown> memory_per_stage(const Scenario& sc, const Workload& w) {
  const auto& m = sc.model;
  const auto& p = sc.plan;
  const auto layers = layers_per_stage(m, p);
  const auto dense_layers = dense_layers_per_stage(m, p);
  const double shard = p.zero_shard();  // ZeRO shards over a shard group's data- and context-parallel ranks
  // Routed experts shard over the expert-data-parallel ranks only: tp*cp*dp / (ep*etp) of them,
  // one when every expert shard is held once (MoE parallel folding, Megatron-Core).
  const double expert_shard = p.expert_dp();
  const bool fp32 = p.precision == Precision::fp32 || p.precision == Precision::tf32;
  const double weight_bytes = fp32 ? 4 : 2;
  // Gradients are kept in the precision they are reduced in: Megatron's fp32 main-grad buffer,
  // FSDP2's fp32 reduce-scatter output (plan grad_reduce_precision).
  const double grad_bytes = p.gradient_reduce_bytes > 0 ? p.gradient_reduce_bytes : fp32 ? 4 : 2;
  const double optimizer_bytes = p.optimizer_state_bytes();  // Adam m, v (+ master weights)
  const double micro_batches = double(p.micro_batches());
  const int scheduled_micro_batches =
      static_cast<int>(std::min<std::int64_t>(p.micro_batches(), std::numeric_limits<int>::max()));
  const double per_layer = activation_bytes_per_layer(m, p, p.attention != Attention::unfused);
  // A layer that is not recomputed (recompute_fraction < 1) keeps all its activations.
  PlanSpec kept = p;
  kept.recompute = Recompute::none;
  const double per_kept_layer = activation_bytes_per_layer(m, kept, p.attention != Attention::unfused);
  const std::vector<int> recomputed = recomputed_layers_per_stage(m, p);
  const std::vector<double> capacity = stage_memory_capacity(sc);
  std::vector<MemoryBreakdown> stages;
  for (int stage = 0; stage < p.pp; ++stage) {
    MemoryBreakdown mb;
    mb.stage = stage;
    mb.capacity = capacity[stage];
    mb.reserve = sc.cluster.memory_reserve.value_or(default_memory_reserve(mb.capacity));
    const int moe_layers = layers[stage] - dense_layers[stage];
    double params = moe_layers * w.layer.parameters + dense_layers[stage] * w.dense_layer.parameters;
    if (stage == 0) params += w.extras.embedding_parameters;
    if (stage == p.pp - 1)
      params += w.extras.head_parameters + (p.pp > 1 && m.tied_embeddings() ? w.extras.embedding_parameters : 0);
    const double experts = moe_layers * w.layer.expert_parameters;
    // Bytes per parameter, sharded from ZeRO stage `from` on: the dense part over dp*cp, the
    // routed experts over expert data parallelism.
    const auto held = [&](double bytes, int from) {
      return bytes *
             ((params - experts) / (p.zero >= from ? shard : 1) + experts / (p.zero >= from ? expert_shard : 1));
    };
    // FSDP that keeps a layer's gathered weights until its backward holds every layer's at the
    // backward's start; kept for the step under pipeline parallelism, the gradients accumulate
    // unsharded too (PyTorch's pipeline stages; FSDP2 accumulates in the reduce precision).
    // (PyTorch FSDP's shards are the fp32 master weights, counted with the optimizer's state.)
    mb.params = p.fsdp_keeps_for_backward()                        ? weight_bytes * params
                : p.zero >= 3 && p.sharded_master_weights && !fp32 ? 0.0
                                                                   : held(weight_bytes, 3);
    // Low-precision weights as Transformer Engine keeps them under Megatron-Core's data
    // parallelism (zero < 3): the layers' linear weights (not the embedding, the LM head or the
    // norms, a negligible share of a layer) as low-precision copies, one per layout the GEMMs
    // take (quantized_layouts). With FP8 primary weights (fp8_param_gather: --fp8-param-gather
    // makes them Float8Tensors) those copies are the weights; with the weight cache
    // (fp8_weight_cache) they sit beside the 16-bit weights, kept from micro-batch to micro-batch
    // as the modules' FP8 workspaces. Per-forward casts (torchao) live only in that forward.
    if (low_precision(p.precision) && p.zero < 3) {
      const double layer_params = moe_layers * w.layer.parameters + dense_layers[stage] * w.dense_layer.parameters;
      const double copies = w.low_precision_weight_bytes * layer_params;
      if (p.fp8_param_gather)
        mb.params += copies - weight_bytes * layer_params;
      else if (p.caches_fp8_weights())
        mb.params += copies;
    }
    mb.grads = p.fsdp_keeps_stage() ? grad_bytes * params : held(grad_bytes, 2);
    mb.optimizer = held(optimizer_bytes, 1);
    // Micro-batches in flight at this stage's peak, in whole stages' worth of activations: the
    // forward passes the stage's schedule runs before its first backward, and the one that
    // backward follows (engine/schedule.hpp's warm-up, Megatron-Core's and PyTorch's: 1F1B holds
    // pp - stage; interleaved holds (2 (pp - stage - 1) + (v - 1) pp + 1) chunks of 1/v of the
    // stage, Korthikanti et al.'s pp (1 + (pp-1)/(pp v)) at the first stage), never more than
    // the step's micro-batches. GPipe holds them all.
    double in_flight = micro_batches, deferred = 0;
    // Of those, the ones through the model's last chunk (on the last stage): under 1F1B and
    // interleaved its backward follows each forward, unless the step is too short for that.
    double through_last_chunk = micro_batches;
    const auto steady =
        steady_state(p.schedule, p.pp, stage, scheduled_micro_batches, p.virtual_stages, p.splits_backward());
    if (steady) {
      const int chunks = p.schedule == Schedule::interleaved ? p.virtual_stages : 1;
      const double units = double(scheduled_micro_batches) * chunks;
      in_flight = std::min(units, steady->warmup + 1.0) / chunks;
      // Zero bubble: a unit whose weight pass waits keeps its autograd graph until then (PyTorch's
      // stage_backward_input retains it for stage_backward_weight): its layers' activations as
      // the backward rebuilt them, whole (a recomputed layer's too).
      deferred = std::max(0.0, std::min(units - steady->warmup - 1.0, double(steady->weight_lag))) / chunks;
      if (steady->warmup + 1.0 < units) through_last_chunk = 1;
    }
    mb.in_flight_microbatches = in_flight + deferred;
    const int rebuilt = p.recompute == Recompute::full ? recomputed[stage] : layers[stage];
    double activations = in_flight * (rebuilt * per_layer + (layers[stage] - rebuilt) * per_kept_layer) +
                         deferred * layers[stage] * per_kept_layer;
    if (const int offloaded = std::min(p.activation_offload_layers, layers[stage]); offloaded > 0) {
      // (No recomputation with offloading: every layer keeps per_layer.) The offloaded layers'
      // activations wait in host memory. The GPU's peak is the forward's end, the kept layers of
      // every micro-batch in flight (the last copy out has finished under the layers after it),
      // or a backward step: the layer running and the one fetched back beside it, whichever is more.
      const int kept = layers[stage] - offloaded;
      mb.offloaded = in_flight * offloaded * per_layer;
      const double forward_end = in_flight * kept * per_layer;
      const double backward_step = (in_flight - 1) * kept * per_layer + std::min(2, layers[stage]) * per_layer;
      activations += std::max(forward_end, backward_step) - in_flight * layers[stage] * per_layer;
    }
    if ((p.recompute == Recompute::full && rebuilt > 0) || p.recompute == Recompute::qkv) {
      // One layer rebuilt at a time needs its full activations during its backward.
      activations += per_kept_layer;
    }
    if (stage == p.pp - 1) {
      // The multi-token prediction modules' layers, in the model's last chunk.
      activations += m.mtp_layers * through_last_chunk * per_layer;
      // One micro-batch's logits at the loss's backward: the fp32 log-probabilities and their
      // fp32 gradient, and the gradient cast back to the model's precision for the head's GEMMs
      // (all three live at once; measured on an H200 with trainsim-exec, docs/executor.md).
      // On an fp32 copy of the logits, the log-softmax's backward writes the copy's fp32 gradient
      // while the log-probabilities and their gradient are still held: three fp32 tensors, the
      // cast back coming after the first two are freed. Decomposed into element-wise operations
      // (torch.distributed's loss_parallel: grad = (one_hot + exp(logp)) * grad_out), the
      // backward holds the log-probabilities, the scattered one-hot, their sum and the product:
      // four. A fused loss holds only the 16-bit logits and their 16-bit gradient.
      // Where the loss works on an fp32 copy (cast, decomposed), the 16-bit logits are freed
      // before the backward, but the block they leave is half the size of every fp32 tensor the
      // backward then asks for: PyTorch's caching allocator places a tensor only where it fits
      // and never moves one, so the process still holds those 2 bytes a logit at the peak (with
      // expandable segments too, which grow a segment only at its end). torchtitan logs that
      // reserved memory: its runs with this loss measure about 2 GiB per 8192 tokens of a
      // 128,256 vocabulary above the tensors, the 16-bit logits' size (docs/accuracy.md,
      // session 44). At fp32 the copy is the logits themselves, and nothing is left behind.
      const double left_behind = bytes_per_element(p.precision) == 2 ? 2.0 : 0.0;
      const double per_logit = p.loss == Loss::fused        ? 2.0 * 2
                               : p.loss == Loss::decomposed ? 4.0 * 4 + left_behind
                               : p.loss == Loss::cast       ? 3.0 * 4 + left_behind
                                                            : 2.0 * 4 + bytes_per_element(p.precision);
      activations += w.tokens_per_microbatch * w.padded_vocab / p.tp * per_logit;
    }
    mb.activations = activations;
    // DP gradient buckets in flight (two) and the pipeline's send/receive buffers.
    mb.buffers = (double(p.dp) * p.cp > 1 ? 2 * p.bucket_bytes : 0) + (p.pp > 1 ? 4 * w.comm.pp_bytes : 0);
    if (p.zero >= 3 && !p.fsdp_keeps_for_backward() && (shard > 1 || (experts > 0 && expert_shard > 1))) {
      // A gathered layer and the next one prefetched (none with nothing to gather from); at the last stage's peak, the
      // loss's backward, the LM head's weights gathered for the backward that follows, beside the last layer's. The
      // embedding too where ZeRO-3 keeps it gathered (zero3_keeps_embeddings).
      const double head = stage == p.pp - 1 ? w.extras.head_parameters : 0.0;
      mb.buffers += (w.layer.parameters + std::max(w.layer.parameters, head)) * weight_bytes;
      if (p.zero3_keeps_embeddings && stage == 0) mb.buffers += w.extras.embedding_parameters * weight_bytes;
    }
    mb.peak = mb.params + mb.grads + mb.optimizer + mb.activations + mb.buffers;
    stages.push_back(mb);
  }
  return stages;
}

MemoryBreakdown peak_memory(const Scenario& sc, const Workload& w) {
  const auto stages = memory_per_stage(sc, w);
  // The stage with the least headroom (on one GPU kind: the highest peak).
  return *std::min_element(stages.begin(), stages.end(),
                           [](const auto& a, const auto& b) { return a.headroom() < b.headroom(); });
}

}  // namespace trainsim
