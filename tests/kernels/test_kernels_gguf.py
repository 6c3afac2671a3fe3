#!/usr/bin/env python3
"""test_kernels_gguf.py — lmc's dequantize/quantize against the gguf Python package.

1. Dequantize: every tensor of every GGUF model under MODELS (recursively) is
   dequantized by lmc (kernels_tool dequant) and by gguf.quants.dequantize; the f32
   results must be bit-identical (compared as uint32, so -0.0 and NaN count too).
2. Quantize: for every type gguf can quantize (and lmc can), random rows, adversarial
   rows and real weights are quantized by both; the bytes must be identical.

usage: test_kernels_gguf.py KERNELS_TOOL MODELS_DIR
Exit status 0 only if every comparison passed."""
import os
import subprocess
import sys
import tempfile

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import quants

tool, models = sys.argv[1], sys.argv[2]
failures = 0
checks = 0
tmp = tempfile.mkdtemp(prefix="lmc-kernels-")

LMC_TYPES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
             "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"}


def check(ok, msg):
    global failures, checks
    checks += 1
    if not ok:
        failures += 1
        print("FAIL:", msg, file=sys.stderr)


# A small GGUF tensor-table reader: gguf.GGUFReader parses every metadata string into
# numpy views, which takes minutes for the 32000-token vocabularies here; the tensor
# data is all this test needs. (The bytes are then dequantized by gguf.quants.)
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def read_tensors(path):
    import struct
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"GGUF":
        raise ValueError("not GGUF")
    version, n_t, n_kv = struct.unpack_from("<IQQ", buf, 4)
    if version < 2:
        raise ValueError(f"GGUF version {version}")
    off = 24
    align = 32

    def skip_value(t, off):
        if t in SCALAR:
            return off + SCALAR[t], None
        if t == 8:
            (n,) = struct.unpack_from("<Q", buf, off)
            return off + 8 + n, None
        if t == 9:
            et, n = struct.unpack_from("<IQ", buf, off)
            off += 12
            if et in SCALAR:
                return off + n * SCALAR[et], None
            for _ in range(n):
                off, _ = skip_value(et, off)
            return off, None
        raise ValueError(f"bad value type {t}")

    for _ in range(n_kv):
        (kl,) = struct.unpack_from("<Q", buf, off)
        key = buf[off + 8:off + 8 + kl].decode()
        off += 8 + kl
        (t,) = struct.unpack_from("<I", buf, off)
        off += 4
        if key == "general.alignment" and t == 4:
            (align,) = struct.unpack_from("<I", buf, off)
        off, _ = skip_value(t, off)
    infos = []
    for _ in range(n_t):
        (nl,) = struct.unpack_from("<Q", buf, off)
        name = buf[off + 8:off + 8 + nl].decode()
        off += 8 + nl
        (nd,) = struct.unpack_from("<I", buf, off)
        ne = struct.unpack_from("<" + "Q" * nd, buf, off + 4)
        off += 4 + 8 * nd
        qt, toff = struct.unpack_from("<IQ", buf, off)
        off += 12
        infos.append((name, QT(qt), ne, toff))
    data = (off + align - 1) // align * align
    out = []
    for name, qt, ne, toff in infos:
        n = 1
        for d in ne:
            n *= d
        bs, ts = quants.GGML_QUANT_SIZES[qt]
        nbytes = n // bs * ts
        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=data + toff)
        out.append((name, qt, ne, raw))
    return out


def ref_dequant(qt, raw, ne):
    """Dequantize raw tensor bytes with the gguf package, as flat float32."""
    if qt == QT.F32:
        return raw.view(np.float32).ravel()
    if qt == QT.F16:
        return raw.view(np.float16).astype(np.float32).ravel()
    rows = raw.reshape(-1, quants.GGML_QUANT_SIZES[qt][1] * ne[0] // quants.GGML_QUANT_SIZES[qt][0])
    return quants.dequantize(rows, qt).astype(np.float32, copy=False).ravel()


# ---- 1. dequantize every tensor of every model ------------------------------------
paths = []
for root, _, files in os.walk(models):
    for f in sorted(files):
        if f.endswith(".gguf"):
            paths.append(os.path.join(root, f))
seen_types = set()
for path in sorted(paths):
    try:
        tensors = read_tensors(path)
    except ValueError as e:  # e.g. GGUF v1, which gguf-py cannot read either
        print(f"skip {os.path.relpath(path, models)}: {e}")
        continue
    out = os.path.join(tmp, "deq.f32")
    r = subprocess.run([tool, "dequant", path, out], capture_output=True, text=True)
    check(r.returncode == 0, f"{path}: kernels_tool dequant failed: {r.stderr.strip()}")
    if r.returncode != 0:
        continue
    got = np.fromfile(out, dtype=np.uint32)
    off = 0
    for name, qt, ne, raw in tensors:
        ref = ref_dequant(qt, raw, ne).view(np.uint32)
        n = ref.size
        mine = got[off:off + n]
        off += n
        seen_types.add(qt.name)
        same = mine.size == n and np.array_equal(mine, ref)
        if not same and mine.size == n:
            bad = np.nonzero(mine != ref)[0]
            i = bad[0]
            msg = (f"{len(bad)} of {n} differ, first at {i}: lmc {mine[i:i+1].view(np.float32)[0]!r} "
                   f"gguf {ref[i:i+1].view(np.float32)[0]!r}")
        else:
            msg = f"size {mine.size} vs {n}"
        check(same, f"{os.path.relpath(path, models)}: {name} ({qt.name}): {msg}")
    check(off == got.size, f"{path}: lmc wrote {got.size} floats, gguf has {off}")
print("dequantized types seen:", " ".join(sorted(seen_types)))
for need in ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1",
             "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]:
    check(need in seen_types, f"no tensor of type {need} in {models}")

# ---- 2. quantize where gguf can ------------------------------------------------------
rng = np.random.default_rng(1234)


def adversarial(rowlen):
    rows = []
    z = np.zeros(rowlen, np.float32)
    rows.append(z)                                   # all zero (zero scale)
    rows.append(np.full(rowlen, -0.0, np.float32))   # negative zeros
    r = rng.standard_normal(rowlen).astype(np.float32)
    r[::7] = 0
    rows.append(r)
    rows.append((rng.standard_normal(rowlen) * 1e-41).astype(np.float32))  # subnormal
    rows.append((rng.standard_normal(rowlen) * 1e-30).astype(np.float32))  # tiny scales
    rows.append((rng.standard_normal(rowlen) * 6e4).astype(np.float32))    # near f16 max
    rows.append((rng.standard_normal(rowlen) * 1e5).astype(np.float32))    # scale overflows f16
    c = np.full(rowlen, 3.25, np.float32)                                   # constant rows
    rows.append(c)
    rows.append(-c)
    t = np.round(rng.standard_normal(rowlen) * 8).astype(np.float32) / 8    # exact halves/ties
    rows.append(t)
    u = rng.integers(-127, 128, rowlen).astype(np.float32)                 # integers
    rows.append(u)
    h = (rng.integers(-8, 8, rowlen) + 0.5).astype(np.float32)            # .5 ties everywhere
    rows.append(h)
    return np.stack(rows)


def real_weights():
    p = os.path.join(models, "stories260K.gguf")
    if not os.path.exists(p):
        return None
    for name, qt, ne, raw in read_tensors(p):
        if name == "blk.0.attn_q.weight":
            return raw.view(np.float32).reshape(-1, 64)
    return None


cases = []
for rowlen in (32, 256, 512):
    cases.append((f"random normal rows of {rowlen}", (rng.standard_normal((64, rowlen)) * 0.05).astype(np.float32)))
    cases.append((f"random uniform rows of {rowlen}", rng.uniform(-3, 3, (16, rowlen)).astype(np.float32)))
    cases.append((f"adversarial rows of {rowlen}", adversarial(rowlen)))
w = real_weights()
if w is not None:
    cases.append(("stories260K blk.0.attn_q", np.ascontiguousarray(w.reshape(-1, 32))))

for qt in [QT.F32, QT.F16, QT.BF16, QT.Q4_0, QT.Q4_1, QT.Q5_0, QT.Q5_1, QT.Q8_0,
           QT.Q2_K, QT.Q3_K, QT.Q4_K, QT.Q5_K, QT.Q6_K]:
    for name, x in cases:
        bs = quants.GGML_QUANT_SIZES[qt][0]
        if x.shape[1] % bs:
            continue
        try:
            with np.errstate(all="ignore"):
                ref = quants.quantize(x, qt)
        except NotImplementedError:
            continue  # gguf cannot quantize this type (the K-quants): no reference here
        ref = np.ascontiguousarray(ref).view(np.uint8).ravel()
        inp = os.path.join(tmp, "in.f32")
        out = os.path.join(tmp, "q.bin")
        x.astype(np.float32).tofile(inp)
        r = subprocess.run([tool, "quant", qt.name, inp, str(x.shape[1]), out], capture_output=True, text=True)
        check(r.returncode == 0, f"quantize {qt.name} {name}: tool failed: {r.stderr.strip()}")
        if r.returncode != 0:
            continue
        got = np.fromfile(out, dtype=np.uint8)
        same = got.size == ref.size and np.array_equal(got, ref)
        where = ""
        if not same and got.size == ref.size:
            i = int(np.nonzero(got != ref)[0][0])
            where = f" first differing byte {i}: lmc {got[i]} gguf {ref[i]}"
        check(same, f"quantize {qt.name} {name}: bytes differ{where}")

print(f"test_kernels_gguf: {checks - failures} of {checks} checks passed")
sys.exit(1 if failures else 0)
