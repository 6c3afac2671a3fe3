"""nanoGPT's GPT-2 (no biases, tied head, manual causal attention: torch 1.13 has no fused
kernel) in PyTorch, the peer model of bench/train_vs_torch.py and bench/shakespeare_torch.py."""
import math
import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(s, C, H):
        super().__init__()
        s.H = H
        s.ln1, s.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
        for ln in (s.ln1, s.ln2):  # bias=False (torch 1.13's LayerNorm always has one): frozen at 0
            ln.bias.requires_grad_(False)
        s.qkv, s.proj = torch.nn.Linear(C, 3 * C, bias=False), torch.nn.Linear(C, C, bias=False)
        s.fc, s.out = torch.nn.Linear(C, 4 * C, bias=False), torch.nn.Linear(4 * C, C, bias=False)

    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.qkv(s.ln1(x)).split(C, dim=2)
        q, k, v = (z.view(B, T, s.H, C // s.H).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // s.H)
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        x = x + s.proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + s.out(F.gelu(s.fc(s.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(s, L, H, C, T, V):
        super().__init__()
        s.V = V
        s.wte, s.wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(T, C)
        s.blocks = torch.nn.ModuleList(Block(C, H) for _ in range(L))
        s.ln = torch.nn.LayerNorm(C)
        s.ln.bias.requires_grad_(False)
        for name, p in s.named_parameters():  # nanoGPT's initialisation
            if p.dim() == 2:
                res = name.endswith(("proj.weight", "out.weight"))
                torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * L) if res else 0.02)

    def forward(s, idx, tgt):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.blocks:
            x = b(x)
        logits = s.ln(x) @ s.wte.weight.t()
        return F.cross_entropy(logits.view(-1, s.V), tgt.reshape(-1))

    def adamw(s, lr, weight_decay):
        """AdamW as nanoGPT configures it: decay on matrices and embeddings only."""
        ps = [p for p in s.parameters() if p.requires_grad]
        return torch.optim.AdamW([{"params": [p for p in ps if p.dim() == 2], "weight_decay": weight_decay},
                                  {"params": [p for p in ps if p.dim() < 2], "weight_decay": 0.0}],
                                 lr=lr, betas=(0.9, 0.99))
