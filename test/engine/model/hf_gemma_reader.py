"""An independent reader of a Hugging Face Gemma directory, in plain PyTorch.

It follows transformers' modeling_gemma.py (GemmaForCausalLM) definition by definition,
without importing dpipe or transformers: config.json and model.safetensors in, the
causal-LM loss out. dpipe's export test runs it on an exported model and compares its
loss with dpipe's own evaluation.

    python3 hf_gemma_reader.py DIR SEQUENCES.json [--rope interleaved]

SEQUENCES.json is a list of equal-length token-id lists. Prints one JSON object:
meanLoss (transformers' loss: labels = input ids, <pad> labels ignored, mean over the
rest), tokens, totalNats and tokenLosses (per target position, row-major, 0 at <pad>).
`--rope interleaved` rotates pairs (2j, 2j+1) instead of rotate_half's (j, j + d/2):
a wrong reading the test uses to show that it tells the two apart.
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    header.pop("__metadata__", None)
    data = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise ValueError(f"{name}: dtype {e['dtype']}, expected F32")
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=torch.float32)
        out[name] = t.reshape(e["shape"]) if e["shape"] else t.reshape(())
    return out


class Gemma:
    def __init__(self, cfg, w, rope="half"):
        self.cfg = cfg
        self.w = w
        self.rope = rope
        self.hd = cfg["head_dim"]
        self.H = cfg["num_attention_heads"]
        self.K = cfg["num_key_value_heads"]
        self.eps = cfg["rms_norm_eps"]
        assert cfg["hidden_activation"] == "gelu_pytorch_tanh"
        self.lm_head = w["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else w["lm_head.weight"]

    # GemmaRMSNorm: x * rsqrt(mean(x^2) + eps) * (1 + weight), in float32
    def norm(self, x, name):
        x32 = x.float()
        out = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)
        return (out * (1.0 + self.w[name].float())).type_as(x)

    # GemmaRotaryEmbedding: inv_freq = 1 / base^(arange(0, d, 2) / d); emb = cat(freqs, freqs)
    def cos_sin(self, T):
        d = self.hd
        inv_freq = 1.0 / (self.cfg["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
        pos = torch.arange(T).float()
        freqs = pos[:, None] * inv_freq[None, :]
        if self.rope == "interleaved":
            emb = torch.repeat_interleave(freqs, 2, dim=-1)
        else:
            emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()

    def rotate(self, x):
        if self.rope == "interleaved":
            x1, x2 = x[..., 0::2], x[..., 1::2]
            return torch.stack((-x2, x1), dim=-1).flatten(-2)
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]  # rotate_half
        return torch.cat((-x2, x1), dim=-1)

    def attention(self, x, l, cos, sin):
        B, T, _ = x.shape
        p = f"model.layers.{l}.self_attn"
        q = F.linear(x, self.w[f"{p}.q_proj.weight"]).view(B, T, self.H, self.hd).transpose(1, 2)
        k = F.linear(x, self.w[f"{p}.k_proj.weight"]).view(B, T, self.K, self.hd).transpose(1, 2)
        v = F.linear(x, self.w[f"{p}.v_proj.weight"]).view(B, T, self.K, self.hd).transpose(1, 2)
        q = q * cos + self.rotate(q) * sin  # apply_rotary_pos_emb
        k = k * cos + self.rotate(k) * sin
        rep = self.H // self.K  # repeat_kv: kv head j serves query heads j*rep .. j*rep+rep-1
        k = k[:, :, None].expand(B, self.K, rep, T, self.hd).reshape(B, self.H, T, self.hd)
        v = v[:, :, None].expand(B, self.K, rep, T, self.hd).reshape(B, self.H, T, self.hd)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.hd**-0.5
        mask = torch.full((T, T), torch.finfo(scores.dtype).min).triu(1)
        probs = F.softmax(scores + mask, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, self.H * self.hd)
        return F.linear(o, self.w[f"{p}.o_proj.weight"])

    def mlp(self, x, l):
        p = f"model.layers.{l}.mlp"
        gate = F.gelu(F.linear(x, self.w[f"{p}.gate_proj.weight"]), approximate="tanh")
        return F.linear(gate * F.linear(x, self.w[f"{p}.up_proj.weight"]), self.w[f"{p}.down_proj.weight"])

    def logits(self, ids):
        h = F.embedding(ids, self.w["model.embed_tokens.weight"])
        h = h * torch.tensor(self.cfg["hidden_size"] ** 0.5, dtype=h.dtype)  # normalizer in the dtype
        cos, sin = self.cos_sin(ids.shape[1])
        for l in range(self.cfg["num_hidden_layers"]):
            h = h + self.attention(self.norm(h, f"model.layers.{l}.input_layernorm.weight"), l, cos, sin)
            h = h + self.mlp(self.norm(h, f"model.layers.{l}.post_attention_layernorm.weight"), l)
        return F.linear(self.norm(h, "model.norm.weight"), self.lm_head)


def main():
    args = sys.argv[1:]
    rope = "half"
    if "--rope" in args:
        i = args.index("--rope")
        rope = args[i + 1]
        args = args[:i] + args[i + 2 :]
    directory, seq_path = args
    with open(f"{directory}/config.json") as f:
        cfg = json.load(f)
    model = Gemma(cfg, read_safetensors(f"{directory}/model.safetensors"), rope)
    with open(seq_path) as f:
        ids = torch.tensor(json.load(f), dtype=torch.int64)
    labels = ids.clone()
    labels[labels == cfg["pad_token_id"]] = -100
    with torch.no_grad():
        logits = model.logits(ids).float()
        shift_logits = logits[:, :-1, :].reshape(-1, logits.shape[-1])
        shift_labels = labels[:, 1:].reshape(-1)
        mean = F.cross_entropy(shift_logits, shift_labels, ignore_index=-100)  # GemmaForCausalLM's loss
        per_token = F.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="none")
    tokens = int((shift_labels != -100).sum())
    print(json.dumps({
        "meanLoss": float(mean),
        "tokens": tokens,
        "totalNats": math.fsum(per_token.double().tolist()),
        "tokenLosses": per_token.tolist(),
    }))


if __name__ == "__main__":
    main()
