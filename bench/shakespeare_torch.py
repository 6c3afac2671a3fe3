#!/usr/bin/python3
"""nanoGPT's shakespeare_char CPU run in PyTorch, the peer of `lmc train --config
examples/shakespeare_char.conf` for wall time and final validation loss.

Char-level on tinyshakespeare (first 90 % train, last 10 % validation), GPT-2 without
biases: 4 layers, 4 heads, 128 dim, context 64, batch 12, 2000 steps, AdamW lr 1e-3 with
100 warmup steps and cosine decay to 1e-4, beta2 0.99, weight decay 0.1 (matrices and
embeddings), clip 1.0, dropout 0, tied head. Prints the wall time of the training steps
and the mean loss over the whole validation split (non-overlapping 64-token windows, as
lmc's --eval measures it).

usage: /usr/bin/python3 bench/shakespeare_torch.py INPUT.txt [THREADS] [SEED] [STEPS]
"""
import math, sys, time
import torch
import torch.nn.functional as F

path = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1337
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
torch.set_num_threads(threads)
torch.manual_seed(seed)
text = open(path, encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data))
train, val = data[:n], data[n:]
L, H, C, T, B, V = 4, 4, 128, 64, 12, len(chars)


class Block(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.ln1, s.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
        s.qkv, s.proj = torch.nn.Linear(C, 3 * C, bias=False), torch.nn.Linear(C, C, bias=False)
        s.fc, s.out = torch.nn.Linear(C, 4 * C, bias=False), torch.nn.Linear(4 * C, C, bias=False)
        for ln in (s.ln1, s.ln2):  # nanoGPT bias=False: no LayerNorm bias
            ln.bias.requires_grad_(False)

    def forward(s, x):
        b, t, c = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // H)
        att = att.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + s.proj((att @ v).transpose(1, 2).reshape(b, t, c))
        return x + s.out(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.wte, s.wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(T, C)
        s.blocks = torch.nn.ModuleList(Block() for _ in range(L))
        s.ln = torch.nn.LayerNorm(C)
        s.ln.bias.requires_grad_(False)
        for name, p in s.named_parameters():  # nanoGPT's init
            if p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L) if name.endswith(("proj.weight", "out.weight")) else 0.02)

    def forward(s, idx, tgt):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for blk in s.blocks:
            x = blk(x)
        logits = s.ln(x) @ s.wte.weight.t()
        return F.cross_entropy(logits.view(-1, V), tgt.reshape(-1))


m = GPT()
decay = [p for p in m.parameters() if p.requires_grad and p.dim() == 2]
no_decay = [p for p in m.parameters() if p.requires_grad and p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=1e-3, betas=(0.9, 0.99))


def lr_at(it):
    if it < 100:
        return 1e-3 * (it + 1) / 100
    r = (it - 100) / (steps - 100)
    return 1e-4 + 0.5 * (1 + math.cos(math.pi * r)) * (1e-3 - 1e-4)


t0 = time.time()
for it in range(steps):
    for g in opt.param_groups:
        g["lr"] = lr_at(it)
    ix = torch.randint(len(train) - T - 1, (B,))
    x = torch.stack([train[i:i + T] for i in ix])
    y = torch.stack([train[i + 1:i + T + 1] for i in ix])
    loss = m(x, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
wall = time.time() - t0
with torch.no_grad():
    nw = (len(val) - 1) // T
    xs = val[:nw * T].view(nw, T)
    ys = val[1:nw * T + 1].view(nw, T)
    tot = sum(m(xs[i:i + 256], ys[i:i + 256]).item() * len(xs[i:i + 256]) for i in range(0, nw, 256)) / nw
print(f"PyTorch {torch.__version__} shakespeare_char: {steps} steps in {wall:.1f} s ({1000 * wall / steps:.1f} ms/step), "
      f"{threads} thread(s), seed {seed}; validation loss {tot:.4f} (whole split, {nw} windows of {T})")
