#!/usr/bin/env python3
"""lmc's GGUF reader and writer against the reference reader of the `gguf` Python package.

usage: test_gguf_compat.py GGUF_TOOL LMC_BIN SHARED_DIR WORK_DIR [part ...]
parts: models (shared models with small vocabularies read by lmc vs GGUFReader),
models-vocab (the ones with real 32k-150k token vocabularies: slow, GGUFReader takes ~10 s
each), written (files written by lmc read by GGUFReader), info (`lmc info --json` vs
GGUFReader). Default: all.

Needs python3 with gguf and numpy (CI installs them); without them this test FAILS.
Exit status 0 only if every check passed."""
import json
import math
import os
import random
import struct
import subprocess
import sys

try:
    import numpy as np
    import gguf
    from gguf import GGUFReader, GGUFValueType
except ImportError as e:  # a missing reference is a failure, not a skip
    print("test_gguf_compat: FAILED: the reference is missing (pip install gguf numpy): %s" % e)
    sys.exit(1)

FAILS = []
CHECKS = [0]


def check(cond, msg):
    CHECKS[0] += 1
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return cond


# ---- values as GGUFReader sees them -------------------------------------------------------
# Normal form shared by both sides: ints/floats/bools as Python values, strings as bytes,
# arrays as ("arr", elem_type, [elements]).

def ref_value(parts, i, gtype):
    """Decodes the value of type gtype starting at parts[i] (GGUFReader's field.parts)."""
    if gtype == GGUFValueType.STRING:
        return bytes(parts[i + 1]), i + 2
    if gtype == GGUFValueType.ARRAY:
        et = int(parts[i][0])
        n = int(parts[i + 1][0])
        i += 2
        out = []
        for _ in range(n):
            v, i = ref_value(parts, i, GGUFValueType(et))
            out.append(v)
        return ("arr", et, out), i
    x = parts[i][0]
    if gtype == GGUFValueType.BOOL:
        return bool(x), i + 1
    if gtype in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64):
        return float(x), i + 1
    return int(x), i + 1


def ref_kv(reader):
    """[(key bytes, type, value)] in file order, without GGUFReader's GGUF.* pseudo-fields."""
    out = []
    for name, f in reader.fields.items():
        if f.offset < 24 and name.startswith("GGUF."):
            continue
        key = bytes(f.parts[1])
        gtype = GGUFValueType(int(f.parts[2][0]))
        v, end = ref_value(f.parts, 3, gtype)
        check(end == len(f.parts), "%s: value parts not all used" % name)
        out.append((key, int(gtype), v))
    return out


def lmc_scalar(x):
    if isinstance(x, str):  # hex float, or inf/nan
        return float.fromhex(x)
    return x


def lmc_value(t, x, et=None):
    if t == 8:
        return bytes.fromhex(x)
    if t == 9:
        return ("arr", et, [lmc_elem(et, e) for e in x])
    return lmc_scalar(x)


def lmc_elem(et, e):
    if et == 9:
        return ("arr", e["et"], [lmc_elem(e["et"], y) for y in e["v"]])
    if et == 8:
        return bytes.fromhex(e)
    return lmc_scalar(e)


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a[0] == b[0] and a[1] == b[1] and len(a[2]) == len(b[2]) and all(same(x, y) for x, y in zip(a[2], b[2]))
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return type(a) == type(b) and a == b


def show(v, limit=120):
    s = repr(v)
    return s if len(s) <= limit else s[:limit] + "..."


# ---- lmc's side ------------------------------------------------------------------------------

def run(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def lmc_dump(tool, path):
    r = run([tool, "dump", path])
    if r.returncode != 0:
        return None, r.stderr.decode(errors="replace")
    return json.loads(r.stdout), ""


def compare_file(tool, path, expect_kv=None, expect_tensors=None):
    """lmc's dump of path against GGUFReader; optionally also against what was meant to be
    written (expect_kv: [(key bytes, type, value)], expect_tensors: [(name, type, ne, bytes)])."""
    tag = os.path.basename(path)
    try:
        reader = GGUFReader(path)
    except Exception as e:
        check(False, "%s: GGUFReader cannot read it: %s" % (tag, e))
        return
    d, err = lmc_dump(tool, path)
    if not check(d is not None, "%s: lmc cannot read it: %s" % (tag, err)):
        return
    version = int(reader.fields["GGUF.version"].parts[0][0])
    check(d["version"] == version, "%s: version %s vs %s" % (tag, d["version"], version))
    check(d["alignment"] == int(reader.alignment), "%s: alignment %s vs %s" % (tag, d["alignment"], reader.alignment))
    check(d["data_offset"] == int(reader.data_offset),
          "%s: data offset %s vs %s" % (tag, d["data_offset"], reader.data_offset))
    check(d["file_size"] == os.path.getsize(path), "%s: file size" % tag)

    ref = ref_kv(reader)
    mine = [(bytes.fromhex(e["key"]), e["value"]["t"], lmc_value(e["value"]["t"], e["value"]["v"], e["value"].get("et")))
            for e in d["kv"]]
    check(len(mine) == len(ref), "%s: %d keys vs GGUFReader's %d" % (tag, len(mine), len(ref)))
    for (k1, t1, v1), (k2, t2, v2) in zip(mine, ref):
        key = k2.decode(errors="replace")
        check(k1 == k2, "%s: key %r vs %r" % (tag, k1, k2))
        check(t1 == t2, "%s: %s: type %d vs %d" % (tag, key, t1, t2))
        check(same(v1, v2), "%s: %s: value %s vs %s" % (tag, key, show(v1), show(v2)))
        # The package's own accessor, for scalars and array lengths.
        f = reader.fields[k2.decode()]
        if t2 not in (8, 9):
            c = f.contents()
            check(same(float(c) if isinstance(v2, float) else c, v2) or (isinstance(v2, float) and math.isnan(v2)),
                  "%s: %s: contents() %s vs %s" % (tag, key, show(c), show(v2)))
        elif t2 == 9:
            check(len(f.data) == len(v1[2]) or v1[1] == 9, "%s: %s: array length" % (tag, key))
    if expect_kv is not None:
        check(len(expect_kv) == len(ref), "%s: wrote %d keys, GGUFReader finds %d" % (tag, len(expect_kv), len(ref)))
        for (k1, t1, v1), (k2, t2, v2) in zip(expect_kv, ref):
            key = k1.decode(errors="replace")
            check(k1 == k2 and t1 == t2 and same(v1, v2),
                  "%s: wrote %s %d %s, GGUFReader reads %r %d %s" % (tag, key, t1, show(v1), k2, t2, show(v2)))

    check(len(d["tensors"]) == len(reader.tensors),
          "%s: %d tensors vs GGUFReader's %d" % (tag, len(d["tensors"]), len(reader.tensors)))
    for i, (t, rt) in enumerate(zip(d["tensors"], reader.tensors)):
        name = bytes.fromhex(t["name"]).decode(errors="replace")
        check(name == rt.name, "%s: tensor %d name %r vs %r" % (tag, i, name, rt.name))
        check(t["type"] == int(rt.tensor_type), "%s: %s: type %d vs %d" % (tag, name, t["type"], int(rt.tensor_type)))
        check(t["ne"] == [int(x) for x in rt.shape], "%s: %s: shape %s vs %s" % (tag, name, t["ne"], list(rt.shape)))
        check(t["n_elements"] == int(rt.n_elements), "%s: %s: elements" % (tag, name))
        check(t["n_bytes"] == int(rt.n_bytes), "%s: %s: bytes %d vs %d" % (tag, name, t["n_bytes"], rt.n_bytes))
        check(d["data_offset"] + t["offset"] == int(rt.data_offset),
              "%s: %s: offset %d vs %d" % (tag, name, d["data_offset"] + t["offset"], rt.data_offset))
        check(int(rt.data_offset) % int(reader.alignment) == 0, "%s: %s: data not aligned" % (tag, name))
    if expect_tensors is not None:
        check(len(expect_tensors) == len(reader.tensors), "%s: tensor count" % tag)
        for (name, ttype, ne, data), rt in zip(expect_tensors, reader.tensors):
            check(name == rt.name and ttype == int(rt.tensor_type) and list(ne) == [int(x) for x in rt.shape],
                  "%s: wrote tensor %s %d %s, GGUFReader reads %s %d %s" %
                  (tag, name, ttype, ne, rt.name, int(rt.tensor_type), list(rt.shape)))
            got = bytes(reader.data[rt.data_offset:rt.data_offset + rt.n_bytes])
            check(got == data, "%s: %s: tensor bytes differ" % (tag, name))
    return reader


def model_paths(shared):
    out = []
    for root, _, files in os.walk(os.path.join(shared, "models")):
        out += [os.path.join(root, f) for f in files if f.endswith(".gguf")]
    tok = os.path.join(shared, "ref", "tokenizer")
    out += [os.path.join(tok, f) for f in os.listdir(tok) if f.endswith(".gguf")]
    return sorted(out)


# Files with a real tokenizer vocabulary (32k-100k+ strings): GGUFReader takes ~10 s on
# each, so they form the "models-vocab" part, labelled slow.
def big_vocab(path):
    return "/random/" in path or "/ref/tokenizer/" in path


def part_models(tool, shared, vocab):
    paths = [p for p in model_paths(shared) if big_vocab(p) == vocab]
    check(len(paths) >= (10 if vocab else 20), "only %d shared models found under %s" % (len(paths), shared))
    n_ok = 0
    for p in paths:
        try:
            GGUFReader(p)
            readable = True
        except ValueError as e:
            readable = False
            why = str(e)
        if not readable:
            # GGUF v1: both readers refuse it, lmc saying which version.
            d, err = lmc_dump(tool, p)
            check(d is None and "version 1" in why and "GGUF version 1 is not supported" in err,
                  "%s: GGUFReader says %r, lmc says %r" % (p, why, err))
            continue
        compare_file(tool, p)
        n_ok += 1
    print("models: %d files compared with GGUFReader" % n_ok)


# ---- files written by lmc -----------------------------------------------------------------

U = {0: (0, 2**8 - 1), 2: (0, 2**16 - 1), 4: (0, 2**32 - 1), 10: (0, 2**64 - 1)}
S = {1: (-2**7, 2**7 - 1), 3: (-2**15, 2**15 - 1), 5: (-2**31, 2**31 - 1), 11: (-2**63, 2**63 - 1)}
F32_SPECIAL = [0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"), 1e-45, 3.4028234663852886e38, float("nan")]
F64_SPECIAL = [0.0, -0.0, 1.0 / 3.0, -1e300, 5e-324, float("inf"), float("nan")]


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def rand_scalar(rng, t):
    if t in U:
        lo, hi = U[t]
        return rng.choice([lo, hi, rng.randint(lo, hi)])
    if t in S:
        lo, hi = S[t]
        return rng.choice([lo, hi, 0, -1, rng.randint(lo, hi)])
    if t == 6:
        return f32(rng.choice(F32_SPECIAL + [rng.uniform(-1e6, 1e6)]))
    if t == 12:
        return rng.choice(F64_SPECIAL + [rng.uniform(-1e6, 1e6)])
    if t == 7:
        return rng.random() < 0.5
    raise ValueError(t)


def rand_str(rng):
    pool = ["", "a", "hello world", "héllo ✓ 日本", "<|im_start|>", "x" * 300, "tab\tnew\nline", "\u0120the"]
    return rng.choice(pool).encode()


def spec_scalar(t, v):
    if t in (6, 12):
        return "nan" if math.isnan(v) else ("inf" if v == float("inf") else ("-inf" if v == float("-inf") else v.hex()))
    if t == 7:
        return v
    return str(v)


def make_spec(rng, alignment):
    kv, expect = [], []

    def add(key, t, v, et=None, spec_v=None):
        e = {"key": key, "t": t, "v": spec_v}
        if et is not None:
            e["et"] = et
        kv.append(e)
        expect.append((key.encode(), t, v))

    for t in [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12]:
        for k in range(3):
            v = rand_scalar(rng, t)
            add("test.scalar.%s.%d" % (GGUFValueType(t).name.lower(), k), t, v, spec_v=spec_scalar(t, v))
    for k, s in enumerate([b"", b"lmc", "héllo ✓".encode(), b"y" * 5000]):
        add("test.string.%d" % k, 8, s, spec_v=s.hex())
    for et in [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12]:
        for n in [0, 1, rng.randint(2, 40)]:
            vals = [rand_scalar(rng, et) for _ in range(n)]
            add("test.array.%s.%d" % (GGUFValueType(et).name.lower(), n), 9, ("arr", et, vals), et=et,
                spec_v=[spec_scalar(et, v) for v in vals])
    for n in [0, 1, 7]:
        vals = [rand_str(rng) for _ in range(n)]
        add("test.array.string.%d" % n, 9, ("arr", 8, vals), et=8, spec_v=[v.hex() for v in vals])
    add("general.architecture", 8, b"llama", spec_v=b"llama".hex())

    tensors, expect_t = [], []
    shapes = {  # type: candidate shapes (ne[0] a multiple of the block size)
        0: [[3], [5, 2], [2, 3, 4], [1, 2, 1, 3]], 1: [[7], [4, 4]], 30: [[9, 2]], 28: [[3, 1]],
        24: [[13]], 25: [[6, 2]], 26: [[5]], 27: [[2, 2]],
        2: [[32, 2], [64]], 3: [[32]], 8: [[32, 3]], 12: [[256, 2]], 14: [[256]], 10: [[512]],
    }
    i = 0
    for ttype, cands in shapes.items():
        for ne in cands:
            bs, ts = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(ttype)]
            n = 1
            for x in ne:
                n *= x
            data = bytes(rng.getrandbits(8) for _ in range(n // bs * ts))
            name = "blk.%d.%s.weight" % (i, gguf.GGMLQuantizationType(ttype).name.lower())
            tensors.append({"name": name, "type": ttype, "ne": ne, "data": data.hex()})
            expect_t.append((name, ttype, ne, data))
            i += 1
    tensors.append({"name": "empty", "type": 0, "ne": [0, 4], "data": ""})
    expect_t.append(("empty", 0, [0, 4], b""))
    spec = {"kv": kv, "tensors": tensors}
    if alignment is not None:
        spec["alignment"] = alignment
        if alignment != 32:
            expect.append((b"general.alignment", 4, alignment))
    return spec, expect, expect_t


def check_layout(path, reader, alignment):
    """Zero padding everywhere between the header, the tensors and the end of the file."""
    tag = os.path.basename(path)
    data = open(path, "rb").read()
    start = reader.data_offset
    spans = sorted((t.data_offset, t.data_offset + t.n_bytes) for t in reader.tensors)
    # the header ends at the last tensor info; GGUFReader knows where that is
    last_field = reader.tensors[-1].field if reader.tensors else None
    hdr_end = (last_field.offset + sum(p.nbytes for p in last_field.parts)) if last_field else start
    check(all(b == 0 for b in data[hdr_end:start]), "%s: header padding is not zero" % tag)
    pos = start
    for a, b in spans:
        check(a % alignment == 0, "%s: tensor at %d not aligned to %d" % (tag, a, alignment))
        check(all(x == 0 for x in data[pos:a]), "%s: padding before %d not zero" % (tag, a))
        pos = max(pos, b)
    check(all(x == 0 for x in data[pos:]), "%s: trailing padding not zero" % tag)
    check(len(data) % alignment == 0 or not spans, "%s: file size %d not aligned to %d" % (tag, len(data), alignment))


def part_written(tool, shared, work):
    rng = random.Random(1234)
    for alignment in [None, 1, 8, 32, 64, 256, 4096]:
        spec, expect_kv, expect_t = make_spec(rng, alignment)
        sp = os.path.join(work, "spec.json")
        out = os.path.join(work, "written-align%s.gguf" % alignment)
        json.dump(spec, open(sp, "w"))
        r = run([tool, "write", sp, out])
        if not check(r.returncode == 0, "lmc writer failed: %s" % r.stderr.decode(errors="replace")):
            continue
        check(not os.path.exists(out + ".tmp"), "%s.tmp left behind" % out)
        reader = compare_file(tool, out, expect_kv, expect_t)
        if reader is not None:
            check_layout(out, reader, alignment or 32)
        os.remove(out)

    # Nested arrays, which only a copy from an open file can make: written by the gguf
    # package, copied by lmc's set_value, read back by GGUFReader.
    src = os.path.join(work, "nested-src.gguf")
    w = gguf.GGUFWriter(src, "llama")
    w.add_array("test.nested.int", [[1, 2, 3], [4], [5, 6]])
    w.add_array("test.nested.str", [["a", "bc"], ["", "déf"]])
    w.add_array("test.nested.deep", [[[1.5, 2.5]], [[3.5], [4.5, 5.5]]])
    w.add_array("test.nested.bool", [[True], [False, True]])
    w.add_tensor("t", np.arange(12, dtype=np.float32).reshape(3, 4))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    src_reader = GGUFReader(src)
    expect_kv = ref_kv(src_reader)
    sp = os.path.join(work, "spec.json")
    out = os.path.join(work, "nested-copy.gguf")
    json.dump({"copy_from": src, "copy_tensors": True, "kv": []}, open(sp, "w"))
    r = run([tool, "write", sp, out])
    if check(r.returncode == 0, "lmc copy of nested arrays failed: %s" % r.stderr.decode(errors="replace")):
        expect_t = [(t.name, int(t.tensor_type), [int(x) for x in t.shape],
                     bytes(src_reader.data[t.data_offset:t.data_offset + t.n_bytes])) for t in src_reader.tensors]
        compare_file(tool, out, expect_kv, expect_t)
        # gguf-py and lmc lay files out the same way: the copy is byte for byte the original.
        check(open(out, "rb").read() == open(src, "rb").read(), "nested-copy.gguf differs from its source")
        os.remove(out)
    os.remove(src)

    # Whole models copied by lmc (metadata through set_value, tensors by pointer).
    for rel in ["models/stories260K.gguf", "models/synthetic/synth-llama-Q4_K_M.gguf",
                "models/synthetic/synth-gpt2-Q8_0.gguf", "models/converted/stories260K-Q8_0-ffndownF16.gguf"]:
        p = os.path.join(shared, rel)
        if not os.path.exists(p):
            continue
        src_reader = GGUFReader(p)
        out = os.path.join(work, "copy-" + os.path.basename(p))
        json.dump({"copy_from": p, "copy_tensors": True, "kv": []}, open(sp, "w"))
        r = run([tool, "write", sp, out])
        if not check(r.returncode == 0, "lmc copy of %s failed: %s" % (rel, r.stderr.decode(errors="replace"))):
            continue
        expect_kv = ref_kv(src_reader)
        expect_t = [(t.name, int(t.tensor_type), [int(x) for x in t.shape],
                     bytes(src_reader.data[t.data_offset:t.data_offset + t.n_bytes])) for t in src_reader.tensors]
        compare_file(tool, out, expect_kv, expect_t)
        os.remove(out)
    os.remove(sp)
    print("written: lmc-written files checked with GGUFReader")


# ---- lmc info --json ------------------------------------------------------------------------

def part_info(lmc_bin, shared):
    for rel in ["models/stories260K.gguf", "models/synthetic/synth-llama-Q4_K_M.gguf",
                "models/synthetic/synth-moe-Q8_0.gguf", "models/synthetic/synth-gpt2-Q8_0.gguf"]:
        p = os.path.join(shared, rel)
        r = run([lmc_bin, "info", "--json", p])
        if not check(r.returncode == 0, "lmc info --json %s: exit %d: %s" % (rel, r.returncode, r.stderr.decode())):
            continue
        try:
            j = json.loads(r.stdout)
        except ValueError as e:
            check(False, "lmc info --json %s: not JSON: %s" % (rel, e))
            continue
        reader = GGUFReader(p)
        check(j["gguf_version"] == int(reader.fields["GGUF.version"].parts[0][0]), "%s: gguf_version" % rel)
        check(j["alignment"] == int(reader.alignment), "%s: alignment" % rel)
        check(j["file_bytes"] == os.path.getsize(p), "%s: file_bytes" % rel)
        ref = ref_kv(reader)
        md = j["metadata"]
        check(list(md.keys()) == [k.decode() for k, _, _ in ref], "%s: metadata keys differ" % rel)
        for k, t, v in ref:
            key = k.decode()
            m = md.get(key)
            if t == 8:
                check(m == v.decode("utf-8", errors="replace").split("\0")[0], "%s: %s: %s vs %s" % (rel, key, show(m), show(v)))
            elif t == 9:
                check(isinstance(m, dict) and m.get("length") == len(v[2]) and
                      m.get("array_of") == GGUFValueType(v[1]).name.lower(),
                      "%s: %s: %s vs array of %d" % (rel, key, show(m), len(v[2])))
            elif t == 7:
                check(m is v, "%s: %s: %s vs %s" % (rel, key, m, v))
            else:
                ok = m is not None and (m == v or (isinstance(v, float) and abs(m - v) <= 1e-6 * abs(v)))
                check(ok, "%s: %s: %s vs %s" % (rel, key, m, v))
        arch = [v for k, t, v in ref if k == b"general.architecture"]
        check(j["architecture"] == (arch[0].decode() if arch else "(none)"), "%s: architecture" % rel)
        check(j["chat_template"] == ("tokenizer.chat_template" in reader.fields), "%s: chat_template" % rel)
        ts = j.get("tensors", [])
        check(len(ts) == len(reader.tensors), "%s: tensor count" % rel)
        for t, rt in zip(ts, reader.tensors):
            check(t["name"] == rt.name and t["type"] == rt.tensor_type.name and
                  t["shape"] == [int(x) for x in rt.shape] and t["bytes"] == int(rt.n_bytes) and
                  t["offset"] + reader.data_offset == int(rt.data_offset),
                  "%s: tensor %s: %s vs %s %s %s" % (rel, rt.name, t, rt.tensor_type.name, list(rt.shape), rt.n_bytes))
        check(j["parameters"] == sum(int(t.n_elements) for t in reader.tensors), "%s: parameters" % rel)
        check(j["weight_bytes"] == sum(int(t.n_bytes) for t in reader.tensors), "%s: weight_bytes" % rel)
    print("info: lmc info --json checked against GGUFReader")


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    tool, lmc_bin, shared, work = sys.argv[1:5]
    parts = sys.argv[5:] or ["models", "models-vocab", "written", "info"]
    os.makedirs(work, exist_ok=True)
    if "models" in parts:
        part_models(tool, shared, False)
    if "models-vocab" in parts:
        part_models(tool, shared, True)
    if "written" in parts:
        part_written(tool, shared, work)
    if "info" in parts:
        part_info(lmc_bin, shared)
    if FAILS:
        print("test_gguf_compat: %d of %d checks FAILED" % (len(FAILS), CHECKS[0]))
        return 1
    print("test_gguf_compat: all %d checks passed" % CHECKS[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
