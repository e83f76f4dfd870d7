#!/usr/bin/env python3
"""The peer baseline of executor/gpu-check.sh: the same GPT training step in eager PyTorch from
Python, as ../shared/calibration describes it (LayerNorm, GELU MLP 4h, SDPA attention, untied
head, bf16 autocast, fused AdamW), timed with CUDA events after warm-up in the same call as
trainsim-exec. Prints one JSON line.
    eager_gpt.py LAYERS HIDDEN HEADS BATCH SEQ VOCAB STEPS"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

layers, hidden, heads, batch, seq, vocab, steps = map(int, sys.argv[1:8])


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.qkv, self.proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.fc, self.fc_proj = nn.Linear(hidden, 4 * hidden), nn.Linear(4 * hidden, hidden)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, 2)
        q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, hidden), nn.Embedding(seq, hidden)
        self.blocks = nn.ModuleList(Block() for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(hidden), nn.Linear(hidden, vocab, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


model = GPT().cuda()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
data = torch.randint(vocab, (batch, seq + 1), device="cuda")
times = []
for step in range(steps):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(data[:, :-1]).float().view(-1, vocab), data[:, 1:].reshape(-1))
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    end.record()
    torch.cuda.synchronize()
    times.append(start.elapsed_time(end) / 1000)
params = sum(p.numel() for p in model.parameters())
step_s = sorted(times[2:])[len(times[2:]) // 2]
flops = 6 * params * batch * seq + 6 * layers * hidden * seq * seq * batch
print(json.dumps({"params": params, "step_s": step_s, "model_tflops": flops / step_s / 1e12,
                  "peak_mem_GiB": torch.cuda.max_memory_allocated() / 2**30}))
