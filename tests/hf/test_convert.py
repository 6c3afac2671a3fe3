#!/usr/bin/env python3
"""lmc convert round trip: a shared llama GGUF (made by llama.cpp's tools) is written out
as a Hugging Face folder (Q/K rows un-permuted as the inverse of convert_hf_to_gguf.py's
permute, tensors in HF names, sharded with an index, tokenizer.json, tokenizer_config.json),
`lmc convert` turns it back, and every tensor and hyperparameter must equal the original.
usage: test_convert.py LMC_BIN SHARED_DIR WORK_DIR"""
import json, os, subprocess, sys
import numpy as np
import gguf
from safetensors.numpy import save_file

lmc, shared, work = sys.argv[1:4]
fails = 0

def check(cond, msg):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", msg)

def field(r, k):
    f = r.fields.get(k)
    if f is None: return None
    if f.types[0] == gguf.GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode()
    if f.types[0] == gguf.GGUFValueType.ARRAY:
        if f.types[1] == gguf.GGUFValueType.STRING:
            return [bytes(f.parts[i]).decode("utf-8", "replace") for i in f.data]
        return [f.parts[i][0].item() for i in f.data]
    return f.parts[f.data[0]][0].item()

def permute(w, n_head):  # llama.cpp convert_hf_to_gguf.py LlamaModel.permute
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

NAMES = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
         "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
         "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}

def hf_name(n):
    if n == "token_embd.weight": return "model.embed_tokens.weight"
    if n == "output_norm.weight": return "model.norm.weight"
    if n == "output.weight": return "lm_head.weight"
    _, l, base, suf = n.split(".")
    return f"model.layers.{l}.{NAMES[base]}.{suf}"

def make_folder(src, out, shards):
    r = gguf.GGUFReader(src)
    a = field(r, "general.architecture")
    nh, nkv = field(r, f"{a}.attention.head_count"), field(r, f"{a}.attention.head_count_kv") or field(r, f"{a}.attention.head_count")
    tensors = {}
    for t in r.tensors:
        w = np.array(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]) if len(t.shape) > 1 else np.array(t.data, dtype=np.float32)
        if ".attn_q." in t.name: w = unpermute(w, nh)
        if ".attn_k." in t.name: w = unpermute(w, nkv)
        check(np.array_equal(permute(unpermute(w, 2), 2), w) if w.ndim == 2 and w.shape[0] % 4 == 0 else True, "permute inverse")
        tensors[hf_name(t.name)] = np.ascontiguousarray(w)
    os.makedirs(out, exist_ok=True)
    names = sorted(tensors)
    if shards > 1:
        wm = {}
        for s in range(shards):
            fn = f"model-{s+1:05d}-of-{shards:05d}.safetensors"
            part = {n: tensors[n] for n in names[s::shards]}
            save_file(part, os.path.join(out, fn))
            wm.update({n: fn for n in part})
        json.dump({"metadata": {}, "weight_map": wm}, open(os.path.join(out, "model.safetensors.index.json"), "w"))
    else:
        save_file(tensors, os.path.join(out, "model.safetensors"))
    n_vocab = tensors["model.embed_tokens.weight"].shape[0]
    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"],
           "hidden_size": field(r, f"{a}.embedding_length"), "num_hidden_layers": field(r, f"{a}.block_count"),
           "intermediate_size": field(r, f"{a}.feed_forward_length"), "num_attention_heads": nh,
           "num_key_value_heads": nkv, "max_position_embeddings": field(r, f"{a}.context_length"),
           "rms_norm_eps": field(r, f"{a}.attention.layer_norm_rms_epsilon"), "vocab_size": n_vocab,
           "rope_theta": field(r, f"{a}.rope.freq_base") or 10000.0, "tie_word_embeddings": "lm_head.weight" not in tensors}
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"))
    toks = field(r, "tokenizer.ggml.tokens")
    model = field(r, "tokenizer.ggml.model")
    types = field(r, "tokenizer.ggml.token_type") or [1] * len(toks)
    vocab = {t: i for i, t in enumerate(toks) if types[i] not in (3, 4)}
    added = [{"id": i, "content": t, "special": True} for i, t in enumerate(toks) if types[i] in (3, 4)]
    tj = {"model": {"type": "BPE", "vocab": vocab, "merges": field(r, "tokenizer.ggml.merges") or [],
                    "byte_fallback": model == "llama"}, "added_tokens": added}
    json.dump(tj, open(os.path.join(out, "tokenizer.json"), "w"))
    bos = field(r, "tokenizer.ggml.bos_token_id")
    tc = {"bos_token": toks[bos] if bos is not None else None,
          "chat_template": "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"}
    json.dump(tc, open(os.path.join(out, "tokenizer_config.json"), "w"))
    return r, tc

for src, shards, typ in [("synthetic/synth-llama-F32.gguf", 1, "f32"), ("stories260K.gguf", 3, "f32"),
                         ("random/llama-2-tiny-random-F32.gguf", 2, "f32"), ("stories260K.gguf", 1, "f16")]:
    tag = os.path.basename(src)[:-5] + f"-{shards}-{typ}"
    folder, out = os.path.join(work, tag), os.path.join(work, tag + ".gguf")
    r, tc = make_folder(os.path.join(shared, "models", src), folder, shards)
    p = subprocess.run([lmc, "convert", folder, out, "--type", typ], capture_output=True, text=True)
    check(p.returncode == 0, f"{tag}: lmc convert exit {p.returncode}: {p.stderr}")
    if p.returncode: continue
    c = gguf.GGUFReader(out)
    orig = {t.name: t for t in r.tensors}
    conv = {t.name: t for t in c.tensors}
    check(set(orig) == set(conv), f"{tag}: tensor names {sorted(set(orig) ^ set(conv))}")
    for n in orig:
        if n not in conv: continue
        a_ = np.array(orig[n].data, dtype=np.float32).ravel()
        if conv[n].tensor_type == gguf.GGMLQuantizationType.F16:
            b_ = np.array(conv[n].data, dtype=np.float32).ravel()
            ok = np.array_equal(a_.astype(np.float16).astype(np.float32), b_)
        else:
            b_ = np.array(conv[n].data, dtype=np.float32).ravel()
            ok = np.array_equal(a_, b_)
        check(list(orig[n].shape) == list(conv[n].shape) and ok, f"{tag}: tensor {n} differs")
    a = field(r, "general.architecture")
    for k in ["context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
              "attention.head_count_kv", "attention.layer_norm_rms_epsilon"]:
        x, y = field(r, f"{a}.{k}"), field(c, f"{a}.{k}")
        if k == "attention.head_count_kv" and x is None: x = field(r, f"{a}.attention.head_count")
        check(x is not None and abs(x - y) <= 1e-6 * abs(x), f"{tag}: {k} {x} vs {y}")
    check(field(r, "tokenizer.ggml.tokens") == field(c, "tokenizer.ggml.tokens"), f"{tag}: tokens differ")
    check(field(r, "tokenizer.ggml.model") == field(c, "tokenizer.ggml.model"), f"{tag}: tokenizer model differs")
    check(field(c, "tokenizer.chat_template") == tc["chat_template"], f"{tag}: chat template")
    check(field(c, "tokenizer.ggml.bos_token_id") == field(r, "tokenizer.ggml.bos_token_id"), f"{tag}: bos id")
    if field(r, "tokenizer.ggml.merges"):
        check(field(r, "tokenizer.ggml.merges") == field(c, "tokenizer.ggml.merges"), f"{tag}: merges differ")
    # Same tokenization through lmc on both files.
    for text in ["Once upon a time, there was a little dog.", "Hello world 123"]:
        ids = [subprocess.run([lmc, "tokenize", "-m", m, "--ids", text], capture_output=True, text=True).stdout for m in (os.path.join(shared, "models", src), out)]
        check(ids[0] == ids[1] and ids[0], f"{tag}: tokenize '{text}': {ids}")
    print(f"{tag}: {len(conv)} tensors checked")

# Bad input: malformed config.json must fail cleanly.
bad = os.path.join(work, "bad")
os.makedirs(bad, exist_ok=True)
open(os.path.join(bad, "config.json"), "w").write('{"model_type": "llama", "hidden_size": ')
p = subprocess.run([lmc, "convert", bad, os.path.join(work, "bad.gguf")], capture_output=True, text=True)
check(p.returncode != 0 and "config.json" in p.stderr, f"malformed config: exit {p.returncode} {p.stderr}")
print("FAILURES:", fails)
sys.exit(1 if fails else 0)
