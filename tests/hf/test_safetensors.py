#!/usr/bin/env python3
"""lmc's safetensors reader against the `safetensors` package (pip): files written by
safetensors.numpy.save_file must read back with the same names, dtypes, shapes and bytes;
files with lying headers (offsets, shapes, dtypes, lengths, overlaps, holes, duplicates,
bad JSON) must be rejected by lmc — and are rejected by the safetensors package too.

usage: test_safetensors.py ST_DUMP_BINARY WORK_DIR
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import safetensors.numpy
from safetensors import safe_open


def fnv(b):
    h = 1469598103934665603
    for x in b:
        h = ((h ^ x) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def dump(binary, path):
    r = subprocess.run([binary, path], capture_output=True, text=True)
    return r.returncode, r.stdout


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(0)
    fails = 0
    dtypes = [np.float32, np.float16, np.float64, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_]
    for case in range(12):
        tensors = {}
        for k in range(rng.integers(1, 6)):
            dt = dtypes[rng.integers(len(dtypes))]
            shape = tuple(int(x) for x in rng.integers(0, 5, size=rng.integers(0, 4)))
            a = np.asarray(rng.standard_normal(shape) * 100).astype(dt)
            tensors[f"model.layers.{k}.w{case}"] = a
        path = os.path.join(work, f"ok{case}.safetensors")
        safetensors.numpy.save_file(tensors, path, metadata={"format": "np"})
        rc, out = dump(binary, path)
        want = {}
        with safe_open(path, framework="numpy") as f:
            for name in f.keys():
                a = f.get_tensor(name)
                want[name] = (",".join(str(d) for d in a.shape), a.nbytes, fnv(a.tobytes()))
        got = {}
        for line in out.splitlines():
            p = line.split(" ")
            if p[0] == "meta":
                continue
            got[p[0]] = (p[2], int(p[3]), int(p[4], 16))
        if rc != 0 or got != want or "meta format np" not in out:
            fails += 1
            print(f"ok{case}: lmc rc={rc}\n got {got}\n want {want}")

    def raw(name, header, data=b"", hlen=None):
        h = header if isinstance(header, bytes) else json.dumps(header).encode()
        path = os.path.join(work, name + ".safetensors")
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(h) if hlen is None else hlen) + h + data)
        return path

    t = lambda dt, shape, b, e: {"dtype": dt, "shape": shape, "data_offsets": [b, e]}
    bad = {
        "offset_past_end": raw("b1", {"a": t("F32", [2], 0, 8)}, b"\0" * 4),
        "shape_lies": raw("b2", {"a": t("F32", [3], 0, 8)}, b"\0" * 8),
        "unknown_dtype": raw("b3", {"a": t("Q4", [2], 0, 8)}, b"\0" * 8),
        "overlap": raw("b4", {"a": t("F32", [2], 0, 8), "b": t("F32", [2], 4, 12)}, b"\0" * 12),
        "hole": raw("b5", {"a": t("F32", [1], 0, 4), "b": t("F32", [1], 8, 12)}, b"\0" * 12),
        "header_len_lies": raw("b6", {"a": t("F32", [1], 0, 4)}, b"\0" * 4, hlen=10 ** 6),
        "bad_json": raw("b7", b"{\"a\": {", b""),
        "negative_offset": raw("b8", {"a": t("F32", [1], -4, 0)}, b"\0" * 4),
        "reversed_offsets": raw("b9", {"a": t("F32", [1], 4, 0)}, b"\0" * 4),
        "shape_overflow": raw("b10", {"a": t("F64", [2 ** 40, 2 ** 40], 0, 8)}, b"\0" * 8),
        "trailing_bytes": raw("b11", {"a": t("F32", [1], 0, 4)}, b"\0" * 8),
        "not_object": raw("b12", b"[1, 2]", b""),
        "duplicate": raw("b13", b'{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},'
                               b' "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}', b"\0\0"),
    }
    short = os.path.join(work, "short.safetensors")
    with open(short, "wb") as f:
        f.write(b"\1\2\3")
    bad["too_short"] = short
    for name, path in bad.items():
        rc, out = dump(binary, path)
        try:
            with safe_open(path, framework="numpy") as f:
                for k in f.keys():
                    f.get_tensor(k)
            ref = "accepted"
        except Exception:
            ref = "rejected"
        if rc != 1 or not out.startswith("error: "):
            fails += 1
            print(f"{name}: lmc accepted a bad file (rc={rc}): {out.strip()} (safetensors: {ref})")
        else:
            print(f"{name}: {out.strip()} (safetensors: {ref})")
    print(f"test_safetensors: 12 files written by safetensors, {len(bad)} bad files, {fails} failures")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
