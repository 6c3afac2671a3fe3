#!/usr/bin/python3
"""Writes the PyTorch reference for lmc's training core (tests/train/fixtures/*.bin).

A small llama (2 layers, GQA 4/2, dim 64, SwiGLU, RoPE on pairs (2i, 2i+1), untied
head) and a small gpt2 (2 layers, LayerNorm + biases, learned positions, GELU tanh,
tied head) are built here in PyTorch with random weights, run on a fixed batch
whose targets ignore some positions (-1), and the fixture records: the weights (so
lmc starts from the same ones), the logits, the loss, every parameter's gradient,
then the losses of 10 AdamW steps (warmup, cosine, weight decay on matrices only,
clipping by global norm 1.0 — torch.optim.AdamW and clip_grad_norm_).

Format (version 1, little-endian): b"LMCTRFX\\0", u32 version, u32 json_len, JSON
(config, tokens, targets, optimizer settings, losses), then records until EOF:
u32 name_len, name, u64 n, n float32 ("param:NAME", "grad:NAME", "logits").

Run with Debian's python3-torch: /usr/bin/python3 tests/train/make_fixture.py OUTDIR
"""
import json, math, os, struct, sys
import torch
import torch.nn.functional as Fn

torch.manual_seed(1234)
torch.set_num_threads(1)
out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
os.makedirs(out_dir, exist_ok=True)


def rope(x, T, base):  # x [B, T, H, D], pairs (2i, 2i+1)
    D = x.shape[-1]
    i = torch.arange(D // 2, dtype=torch.float64)
    th = torch.arange(T, dtype=torch.float64)[:, None] * base ** (-2 * i / D)
    c, s = torch.cos(th).float()[None, :, None, :], torch.sin(th).float()[None, :, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    y = torch.empty_like(x)
    y[..., 0::2] = a * c - b * s
    y[..., 1::2] = a * s + b * c
    return y


def make(arch):
    L, C, H, Hkv, V, T, B = 2, 64, 4, (2 if arch == "llama" else 4), 64, 16, 2
    F = 96 if arch == "llama" else 128
    D = C // H
    bias = arch == "gpt2"
    P = {}

    def w(name, *shape, std=0.2):
        P[name] = (torch.randn(*shape) * std).requires_grad_()

    w("token_embd.weight", V, C, std=0.5)
    if arch == "gpt2":
        w("position_embd.weight", T, C, std=0.1)
    for l in range(L):
        p = f"blk.{l}."
        P[p + "attn_norm.weight"] = (1 + 0.1 * torch.randn(C)).requires_grad_()
        if arch == "gpt2":
            w(p + "attn_norm.bias", C, std=0.1)
        w(p + "attn_q.weight", C, C); w(p + "attn_k.weight", Hkv * D, C); w(p + "attn_v.weight", Hkv * D, C)
        w(p + "attn_output.weight", C, C)
        if bias:
            w(p + "attn_q.bias", C, std=0.1); w(p + "attn_k.bias", Hkv * D, std=0.1)
            w(p + "attn_v.bias", Hkv * D, std=0.1); w(p + "attn_output.bias", C, std=0.1)
        P[p + "ffn_norm.weight"] = (1 + 0.1 * torch.randn(C)).requires_grad_()
        if arch == "gpt2":
            w(p + "ffn_norm.bias", C, std=0.1)
        if arch == "llama":
            w(p + "ffn_gate.weight", F, C)
        w(p + "ffn_up.weight", F, C); w(p + "ffn_down.weight", C, F, std=0.1)
        if bias:
            w(p + "ffn_up.bias", F, std=0.1); w(p + "ffn_down.bias", C, std=0.1)
    P["output_norm.weight"] = (1 + 0.1 * torch.randn(C)).requires_grad_()
    if arch == "gpt2":
        w("output_norm.bias", C, std=0.1)
    if arch == "llama":
        w("output.weight", V, C)

    tokens = torch.randint(0, V, (B, T))
    targets = torch.roll(tokens, -1, dims=1).clone()
    targets[:, -1] = -1
    targets[0, 3] = -1  # positions that do not count (as SFT masks prompts)
    eps, base = 1e-5, 10000.0

    def norm(x, name):
        if arch == "gpt2":
            return Fn.layer_norm(x, (C,), P[name + ".weight"], P[name + ".bias"], eps)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * P[name + ".weight"]

    def lin(x, name):
        y = x @ P[name + ".weight"].t()
        return y + P[name + ".bias"] if name + ".bias" in P else y

    def forward():
        x = P["token_embd.weight"][tokens]
        if arch == "gpt2":
            x = x + P["position_embd.weight"][torch.arange(T)][None]
        mask = torch.full((T, T), float("-inf")).triu(1)
        for l in range(L):
            p = f"blk.{l}."
            h = norm(x, p + "attn_norm")
            q = lin(h, p + "attn_q").view(B, T, H, D)
            k = lin(h, p + "attn_k").view(B, T, Hkv, D)
            v = lin(h, p + "attn_v").view(B, T, Hkv, D)
            if arch == "llama":
                q, k = rope(q, T, base), rope(k, T, base)
            k = k.repeat_interleave(H // Hkv, dim=2)
            v = v.repeat_interleave(H // Hkv, dim=2)
            s = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(D) + mask
            a = torch.einsum("bhts,bshd->bthd", s.softmax(-1), v).reshape(B, T, C)
            x = x + lin(a, p + "attn_output")
            h = norm(x, p + "ffn_norm")
            if arch == "llama":
                f = Fn.silu(lin(h, p + "ffn_gate")) * lin(h, p + "ffn_up")
            else:
                f = Fn.gelu(lin(h, p + "ffn_up"), approximate="tanh")
            x = x + lin(f, p + "ffn_down")
        x = norm(x, "output_norm")
        head = P["output.weight"] if arch == "llama" else P["token_embd.weight"]
        return x @ head.t()

    names = list(P.keys())
    init = {n: P[n].detach().clone() for n in names}
    logits = forward()
    loss = Fn.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)
    loss.backward()
    grads = {n: P[n].grad.detach().clone() for n in names}

    opt = dict(lr=3e-3, min_lr=3e-4, beta1=0.9, beta2=0.99, eps=1e-8, weight_decay=0.1, warmup=3, total_steps=10,
               clip=1.0)
    for n in names:
        P[n].grad = None
    decay = [P[n] for n in names if P[n].dim() >= 2]
    no_decay = [P[n] for n in names if P[n].dim() < 2]
    o = torch.optim.AdamW([{"params": decay, "weight_decay": opt["weight_decay"]},
                           {"params": no_decay, "weight_decay": 0.0}],
                          lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])

    def lr_at(step):
        if step < opt["warmup"]:
            return opt["lr"] * (step + 1) / opt["warmup"]
        r = (step - opt["warmup"]) / (opt["total_steps"] - opt["warmup"])
        return opt["min_lr"] + 0.5 * (1 + math.cos(math.pi * r)) * (opt["lr"] - opt["min_lr"])

    losses = []
    for step in range(10):
        o.zero_grad()
        l = Fn.cross_entropy(forward().view(-1, V), targets.view(-1), ignore_index=-1)
        losses.append(l.item())
        l.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), opt["clip"])
        for g in o.param_groups:
            g["lr"] = lr_at(step)
        o.step()

    cfg = dict(arch=arch, n_layer=L, n_head=H, n_head_kv=Hkv, n_embd=C, n_ff=F, n_vocab=V, n_ctx=T, batch=B,
               bias=bias, tied=arch == "gpt2", norm_eps=eps, rope_base=base)
    head = dict(config=cfg, tokens=tokens.flatten().tolist(), targets=targets.flatten().tolist(), optimizer=opt,
                loss=loss.item(), step_losses=losses, torch=torch.__version__)
    path = os.path.join(out_dir, f"{arch}.bin")
    with open(path, "wb") as f:
        j = json.dumps(head).encode()
        f.write(b"LMCTRFX\0" + struct.pack("<II", 1, len(j)) + j)

        def rec(name, t):
            a = t.detach().float().contiguous().flatten().numpy().astype("<f4")
            f.write(struct.pack("<I", len(name)) + name.encode() + struct.pack("<Q", a.size) + a.tobytes())
        for n in names:
            rec("param:" + n, init[n])
        for n in names:
            rec("grad:" + n, grads[n])
        rec("logits", logits)
    print(f"{path}: loss {loss.item():.6f}, 10 AdamW steps {losses[0]:.4f} -> {losses[-1]:.4f}, "
          f"{os.path.getsize(path)} bytes")


make("llama")
make("gpt2")
