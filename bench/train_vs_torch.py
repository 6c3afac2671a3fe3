#!/usr/bin/python3
"""Training speed, lmc vs PyTorch, same model, same machine, same threads, same run.

One step = forward + backward + AdamW on a batch of random tokens; GPT-2 architecture
without biases (nanoGPT's configurations). PyTorch runs the model nanoGPT defines
(manual causal attention, as torch 1.13 has no fused kernel) through Debian's
python3-torch, whose BLAS is whatever /usr/lib/x86_64-linux-gnu/libblas.so.3 points
to (check `update-alternatives --display libblas.so.3-x86_64-linux-gnu`: compare only
against OpenBLAS).

OpenBLAS starts one thread per core whatever torch.set_num_threads says, so a "1-thread"
PyTorch would run its GEMMs on every core: OPENBLAS_NUM_THREADS is set to THREADS here
unless the environment sets it.

usage: /usr/bin/python3 bench/train_vs_torch.py [LMC_BIN] [THREADS] [STEPS]
"""
import os, subprocess, sys, time

os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[2] if len(sys.argv) > 2 else "1")
import torch  # noqa: E402  (after OPENBLAS_NUM_THREADS: the library reads it when loaded)
from torch_gpt import GPT

lmc = sys.argv[1] if len(sys.argv) > 1 else "build/lmc"
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 10
torch.set_num_threads(threads)

CONFIGS = [
    ("shakespeare_char", dict(L=4, H=4, C=128, T=64, B=12, V=65)),
    ("~10M", dict(L=6, H=6, C=384, T=256, B=16, V=65)),
]


for name, c in CONFIGS:
    m = GPT(c["L"], c["H"], c["C"], c["T"], c["V"])
    opt = m.adamw(1e-3, 0.1)
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
