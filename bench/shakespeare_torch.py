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
from torch_gpt import GPT

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


m = GPT(L, H, C, T, V)
opt = m.adamw(1e-3, 0.1)


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
