#!/usr/bin/env python3
"""Mixture of experts vs a dense model with the same active parameters.

Builds two random llama-architecture GGUF models (gguf-py, numpy) that differ only in
the FFN: a dense one with feed-forward width F, and a MoE one with E experts of width
F/k of which k are used per token (so each token multiplies the same number of FFN
weights), quantizes both to Q8_0 with `lmc quantize`, and runs `lmc bench -m` on
both. The MoE model holds E/k times the FFN weights, so at decode it reads k/E of
them per token, from more memory; llama.cpp-style grouping makes prefill multiply
each expert's tokens together.

usage: bench/moe_vs_dense.py [--lmc build/lmc] [--dim 512] [--layers 8] [--ff 1536]
                             [--experts 8] [--used 2] [-t 1] [-r 3] [--dir /tmp/moebench]
"""
import argparse, os, subprocess, sys
import numpy as np
import gguf

ap = argparse.ArgumentParser()
ap.add_argument("--lmc", default="build/lmc")
ap.add_argument("--dim", type=int, default=512)
ap.add_argument("--layers", type=int, default=8)
ap.add_argument("--ff", type=int, default=1536)
ap.add_argument("--experts", type=int, default=8)
ap.add_argument("--used", type=int, default=2)
ap.add_argument("--vocab", type=int, default=512)
ap.add_argument("-t", default="1")
ap.add_argument("-r", default="3")
ap.add_argument("-p", default="128")
ap.add_argument("-n", default="64")
ap.add_argument("--dir", default="/tmp/moebench")
a = ap.parse_args()
os.makedirs(a.dir, exist_ok=True)
rng = np.random.default_rng(0)

def W(*shape):  # numpy shape is reversed GGUF ne: (n_out, n_in)
    return (rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

def build(path, moe):
    C, L, V = a.dim, a.layers, a.vocab
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("moe-bench" if moe else "dense-bench")
    w.add_context_length(2048); w.add_embedding_length(C); w.add_block_count(L)
    w.add_head_count(8); w.add_head_count_kv(4); w.add_rope_dimension_count(C // 8)
    w.add_layer_norm_rms_eps(1e-5)
    ff = a.ff // a.used if moe else a.ff
    w.add_feed_forward_length(ff)
    if moe:
        w.add_expert_count(a.experts); w.add_expert_used_count(a.used)
    w.add_tokenizer_model("llama")
    w.add_token_list([f"<t{i}>".encode() for i in range(V)])
    w.add_token_scores([0.0] * V); w.add_token_types([1] * V)
    w.add_bos_token_id(1); w.add_eos_token_id(2)
    w.add_tensor("token_embd.weight", W(V, C)); w.add_tensor("output_norm.weight", np.ones(C, np.float32))
    w.add_tensor("output.weight", W(V, C))
    for l in range(L):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", np.ones(C, np.float32)); w.add_tensor(p + "ffn_norm.weight", np.ones(C, np.float32))
        w.add_tensor(p + "attn_q.weight", W(C, C)); w.add_tensor(p + "attn_k.weight", W(C // 2, C))
        w.add_tensor(p + "attn_v.weight", W(C // 2, C)); w.add_tensor(p + "attn_output.weight", W(C, C))
        if moe:
            E = a.experts
            w.add_tensor(p + "ffn_gate_inp.weight", W(E, C))
            w.add_tensor(p + "ffn_gate_exps.weight", W(E, ff, C)); w.add_tensor(p + "ffn_up_exps.weight", W(E, ff, C))
            w.add_tensor(p + "ffn_down_exps.weight", W(E, C, ff))
        else:
            w.add_tensor(p + "ffn_gate.weight", W(ff, C)); w.add_tensor(p + "ffn_up.weight", W(ff, C))
            w.add_tensor(p + "ffn_down.weight", W(C, ff))
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

rows = []
for moe in (False, True):
    name = "moe" if moe else "dense"
    f32 = os.path.join(a.dir, name + "-F32.gguf"); q8 = os.path.join(a.dir, name + "-Q8_0.gguf")
    build(f32, moe)
    subprocess.run([a.lmc, "quantize", f32, q8, "Q8_0"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = subprocess.run([a.lmc, "bench", "-m", q8, "-p", a.p, "-n", a.n, "-t", a.t, "-r", a.r],
                         check=True, capture_output=True, text=True).stdout
    print(f"== {name}: {os.path.getsize(q8) / 2**20:.1f} MiB Q8_0"); print(out)
