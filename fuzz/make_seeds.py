#!/usr/bin/env python3
"""Writes the starting seeds of fuzz/corpus/gguf/: a few tiny valid GGUF files made by the
`gguf` Python package (pip install gguf numpy) plus truncated copies of them.
Run once from the repository root: python3 fuzz/make_seeds.py fuzz/corpus/gguf
(Malformed seeds come from tests/test_gguf_bad.c --write-corpus; crashes found by
fuzzing are added by hand as crash-<sha1>.)"""
import os
import sys

import numpy as np
import gguf


def valid_files(tmp):
    out = []
    # 1: every metadata type, nested and empty arrays, two tensors of different types.
    p = os.path.join(tmp, "seed-all-types.gguf")
    w = gguf.GGUFWriter(p, "llama")
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 1.5)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "hello")
    w.add_string("t.empty", "")
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", -2.25)
    w.add_array("t.arr_i32", [1, -2, 3])
    w.add_array("t.arr_str", ["a", "", "ccc"])
    w.add_array("t.arr_nested", [[1, 2], [3]])
    w.add_array("t.arr_f32", [0.5, 2.0])
    w.add_array("t.arr_bool", [True, False])
    w.add_tensor("a.weight", np.arange(8, dtype=np.float32).reshape(2, 4))
    w.add_tensor("b.weight", np.arange(36, dtype=np.uint8).reshape(2, 18),
                 raw_dtype=gguf.GGMLQuantizationType.Q4_0)
    w.add_tensor("c.bias", np.ones(3, dtype=np.float16))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    out.append(p)
    # 2: custom alignment, one tensor.
    p = os.path.join(tmp, "seed-align64.gguf")
    w = gguf.GGUFWriter(p, "gpt2")
    w.add_custom_alignment(64)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "x"])
    w.add_array("tokenizer.ggml.scores", [0.0, -1.0, -2.0])
    w.add_tensor("t", np.arange(5, dtype=np.int32))
    w.add_tensor("u", np.arange(3, dtype=np.float32))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    out.append(p)
    # 3: metadata only.
    p = os.path.join(tmp, "seed-kv-only.gguf")
    w = gguf.GGUFWriter(p, "llama")
    w.add_string("general.name", "x")
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
    out.append(p)
    return out


def main():
    dst = sys.argv[1]
    os.makedirs(dst, exist_ok=True)
    tmp = os.path.join(dst, ".tmp")
    os.makedirs(tmp, exist_ok=True)
    for p in valid_files(tmp):
        data = open(p, "rb").read()
        base = os.path.splitext(os.path.basename(p))[0]
        open(os.path.join(dst, base), "wb").write(data)
        # Truncations every few bytes through the header, then a few in the data.
        cuts = sorted(set(list(range(4, min(len(data), 400), 37)) + [len(data) - 1, len(data) // 2]))
        for k in cuts:
            open(os.path.join(dst, "%s-cut%d" % (base, k)), "wb").write(data[:k])
        os.remove(p)
    os.rmdir(tmp)
    # A bare v3 header and a bare v2 header with no keys and no tensors.
    open(os.path.join(dst, "seed-empty-v3"), "wb").write(b"GGUF" + (3).to_bytes(4, "little") + bytes(16))
    open(os.path.join(dst, "seed-empty-v2"), "wb").write(b"GGUF" + (2).to_bytes(4, "little") + bytes(16))


if __name__ == "__main__":
    main()
