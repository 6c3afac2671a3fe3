#!/usr/bin/python3
"""Training speed, lmc vs PyTorch, same model, same machine, same threads, same run.

One step = forward + backward + AdamW on a batch of random tokens; GPT-2 architecture
without biases (nanoGPT's configurations). PyTorch runs the model nanoGPT defines
(manual causal attention, as torch 1.13 has no fused kernel) through Debian's
python3-torch, whose BLAS is whatever /usr/lib/x86_64-linux-gnu/libblas.so.3 points
to (check `update-alternatives --display libblas.so.3-x86_64-linux-gnu`: compare only
against OpenBLAS).

usage: /usr/bin/python3 bench/train_vs_torch.py [LMC_BIN] [THREADS] [STEPS]
"""
import math, os, subprocess, sys, time
import torch
import torch.nn.functional as F

lmc = sys.argv[1] if len(sys.argv) > 1 else "build/lmc"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
torch.set_num_threads(threads)

CONFIGS = [
    ("shakespeare_char", dict(L=4, H=4, C=128, T=64, B=12, V=65)),
    ("~10M", dict(L=6, H=6, C=384, T=256, B=16, V=65)),
]


class Block(torch.nn.Module):
    def __init__(s, C, H):
        super().__init__()
        s.H = H
        s.ln1, s.ln2 = torch.nn.LayerNorm(C, bias=False) if "bias" in torch.nn.LayerNorm.__init__.__code__.co_varnames else torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
        s.qkv, s.proj = torch.nn.Linear(C, 3 * C, bias=False), torch.nn.Linear(C, C, bias=False)
        s.fc, s.out = torch.nn.Linear(C, 4 * C, bias=False), torch.nn.Linear(4 * C, C, bias=False)

    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, s.H, C // s.H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // s.H)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + s.proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + s.out(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(s, L, H, C, T, V):
        super().__init__()
        s.wte, s.wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(T, C)
        s.blocks = torch.nn.ModuleList(Block(C, H) for _ in range(L))
        s.ln = torch.nn.LayerNorm(C)

    def forward(s, idx, tgt):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.blocks:
            x = b(x)
        logits = s.ln(x) @ s.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1))


for name, c in CONFIGS:
    m = GPT(c["L"], c["H"], c["C"], c["T"], c["V"])
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    idx = torch.randint(0, c["V"], (c["B"], c["T"]))
    tgt = torch.roll(idx, -1, 1)
    times = []
    for s in range(steps + 1):
        t0 = time.time()
        opt.zero_grad(set_to_none=True)
        loss = m(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        if s:
            times.append(time.time() - t0)
    t_torch = sum(times) / len(times)
    out = subprocess.run([lmc, "bench-train", "--arch", "gpt2", "--layers", str(c["L"]), "--heads", str(c["H"]),
                          "--dim", str(c["C"]), "--ctx", str(c["T"]), "--batch", str(c["B"]), "--vocab", str(c["V"]),
                          "--steps", str(steps), "-t", str(threads)], capture_output=True, text=True, check=True).stdout
    ms_lmc = float(out.split(" ms/step")[0].split()[-1])
    tok = c["B"] * c["T"]
    print(f"{name:17s} {threads} thread(s): PyTorch {torch.__version__} {1e3 * t_torch:8.1f} ms/step "
          f"({tok / t_torch:7.0f} tok/s) | lmc {ms_lmc:8.1f} ms/step ({tok / ms_lmc * 1e3:7.0f} tok/s) | "
          f"lmc speed-up {1e3 * t_torch / ms_lmc:.2f}x")
