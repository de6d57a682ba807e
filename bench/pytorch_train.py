"""PyTorch reference for `pnpm bench train`: the same Gemma-style model and step as dpipe's.

A decoder of the shape given on the command line (RMSNorm with Gemma's 1 + w, rotary
embeddings, grouped-query causal attention, GeGLU with tanh-GELU, tied embeddings scaled
by sqrt(d)), mean token cross-entropy, AdamW; non-private training only (the comparison
dpipe's README reports). Tokens per second is the median step over `--steps` steps after
two warm-up steps, for each thread count in `--threads` (torch.set_num_threads).
Run with OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads then sleep instead of spinning,
which is PyTorch's best setting on a shared 2-core machine. Prints one JSON line.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F


class RMSNorm(torch.nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * (1 + self.w)


def rope_tables(T, hd, base):
    half = hd // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float32) * 2 / hd)
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], -1)
    sin = torch.cat([ang.sin(), ang.sin()], -1)
    return cos, sin


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


class Block(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.n1 = RMSNorm(a.d, 1e-6)
        self.qkv = torch.nn.Linear(a.d, (a.heads + 2 * a.kv) * a.hd, bias=False)
        self.o = torch.nn.Linear(a.heads * a.hd, a.d, bias=False)
        self.n2 = RMSNorm(a.d, 1e-6)
        self.gate_up = torch.nn.Linear(a.d, 2 * a.ffn, bias=False)
        self.down = torch.nn.Linear(a.ffn, a.d, bias=False)

    def forward(self, h, cos, sin, mask):
        a = self.a
        B, T, _ = h.shape
        q, k, v = self.qkv(self.n1(h)).split([a.heads * a.hd, a.kv * a.hd, a.kv * a.hd], -1)
        q = q.view(B, T, a.heads, a.hd).transpose(1, 2)
        k = k.view(B, T, a.kv, a.hd).transpose(1, 2)
        v = v.view(B, T, a.kv, a.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = a.heads // a.kv
        k = k.repeat_interleave(g, 1)
        v = v.repeat_interleave(g, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(a.hd) + mask
        o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, a.heads * a.hd)
        h = h + self.o(o)
        gate, up = self.gate_up(self.n2(h)).chunk(2, -1)
        return h + self.down(F.gelu(gate, approximate="tanh") * up)


class Model(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.embed = torch.nn.Embedding(a.vocab, a.d)
        torch.nn.init.normal_(self.embed.weight, std=1 / math.sqrt(a.d))
        self.blocks = torch.nn.ModuleList([Block(a) for _ in range(a.layers)])
        self.norm = RMSNorm(a.d, 1e-6)
        cos, sin = rope_tables(a.ctx, a.hd, 10000.0)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.full((a.ctx, a.ctx), -1e9).triu(1))

    def forward(self, x, y):
        T = x.shape[1]
        h = self.embed(x) * math.sqrt(self.a.d)
        for b in self.blocks:
            h = b(h, self.cos[:T], self.sin[:T], self.mask[:T, :T])
        logits = self.norm(h) @ self.embed.weight.T
        return F.cross_entropy(logits.reshape(-1, self.a.vocab), y.reshape(-1))


def main():
    p = argparse.ArgumentParser()
    for name, default in [("vocab", 2048), ("ctx", 64), ("d", 64), ("layers", 2), ("heads", 4), ("kv", 4), ("hd", 16), ("ffn", 256), ("batch", 64), ("steps", 5)]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--threads", type=str, default="1,2")
    a = p.parse_args()
    torch.manual_seed(0)
    model = Model(a)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    data = torch.randint(0, a.vocab, (a.batch, a.ctx + 1))
    x, y = data[:, :-1], data[:, 1:]
    results = []
    for threads in [int(t) for t in a.threads.split(",")]:
        torch.set_num_threads(threads)
        times = []
        for i in range(a.steps + 2):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            model(x, y).backward()
            opt.step()
            if i >= 2:
                times.append(time.perf_counter() - t0)
        results.append({"threads": threads, "tokensPerSec": round(a.batch * a.ctx / statistics.median(times))})
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
