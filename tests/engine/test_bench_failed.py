#!/usr/bin/env python3
"""lmc bench-engine when every request fails: a copy of a model whose output norm is NaN
gives NaN logits, which the sampler refuses, so each request ends in an error before its
first token. The benchmark must say so and exit non-zero (it used to wait for the first
tokens forever), and free what it made (the ASan build runs this too).

usage: test_bench_failed.py LMC_BIN MODEL WORK_DIR
Needs python3 with gguf and numpy (CI installs them); without them this test FAILS."""
import os
import shutil
import subprocess
import sys

try:
    import numpy as np
    from gguf import GGUFReader
except ImportError as e:  # a missing reference is a failure, not a skip
    print("test_bench_failed: FAILED: pip install gguf numpy: %s" % e)
    sys.exit(1)

lmc, model, work = sys.argv[1:4]
os.makedirs(work, exist_ok=True)
bad = os.path.join(work, "nan_output_norm.gguf")
shutil.copyfile(model, bad)
t = [t for t in GGUFReader(model).tensors if t.name == "output_norm.weight"][0]
assert t.tensor_type == 0, "output_norm.weight is expected in F32"
with open(bad, "r+b") as f:
    f.seek(int(t.data_offset))
    f.write(np.full(int(t.n_elements), np.nan, dtype=np.float32).tobytes())

fails = 0
for section in (["--throughput", "-npl", "1,4", "-npp", "8", "-ntg", "4"], ["--ttft", "--prefix", "40"]):
    try:
        p = subprocess.run([lmc, "bench-engine", "-m", bad] + section, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        print("FAILED: %s did not end within 60 s" % section[0])
        fails += 1
        continue
    if "Sanitizer" in p.stderr:  # the ASan build: the failure path frees what it made
        print("FAILED: %s: a sanitizer report: %s" % (section[0], p.stderr.strip()[-2000:]))
        fails += 1
    elif p.returncode == 0 or "engine request failed" not in p.stderr:
        print("FAILED: %s: exit %d, stderr: %s" % (section[0], p.returncode, p.stderr.strip()))
        fails += 1
    else:
        print("ok: %s: exit %d: %s" % (section[0], p.returncode, p.stderr.strip().splitlines()[-1]))
sys.exit(1 if fails else 0)
