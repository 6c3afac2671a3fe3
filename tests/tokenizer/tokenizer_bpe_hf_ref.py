#!/usr/bin/env python3
"""Full byte-level BPE (pre-tokenizer + merges + byte alphabet) of lmc against Hugging
Face `tokenizers`, for the pre-tokenizers that have no llama.cpp vectors here.

usage: tokenizer_bpe_hf_ref.py TEST_TOKENIZER_REF PRE[,PRE...] [SHARED_DIR]

The GPT-2 vocabulary and merges (ref/tokenizer/ggml-vocab-gpt-2.gguf) are combined
with pre-tokenizer PRE: a GGUF copy with tokenizer.ggml.pre = PRE is written for lmc,
and an HF tokenizer is built from the same tokens and merges with PRE's published
regexes (Split isolated, then ByteLevel without regex; `ignore_merges` for LLaMA 3).
HF's ids for llama.cpp's test strings plus seeded random Unicode text become an
.inp/.out pair that TEST_TOKENIZER_REF (tests/tokenizer/test_tokenizer_ref.c)
checks, so every id must match. Exit 77 if `tokenizers` or `gguf` is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import gguf
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
except ImportError as e:
    print(f"SKIP: {e} (pip install tokenizers gguf)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_pretok_ref import PUBLISHED, random_texts  # noqa: E402

IGNORE_MERGES = {"llama-bpe"}


def read_vocab(path):
    r = gguf.GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    f = r.fields["tokenizer.ggml.token_type"]
    types = [int(f.parts[i][0]) for i in f.data]
    return strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges"), types


def write_vocab(path, tokens, merges, types, pre):
    w = gguf.GGUFWriter(path, arch="gpt2")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_merges(merges)
    w.add_token_types(types)
    w.add_bool("tokenizer.ggml.add_bos_token", False)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def check(tool, pre, tokens, merges, types, texts):
    hf = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                              merges=[tuple(m.split(" ", 1)) for m in merges],
                              ignore_merges=pre in IGNORE_MERGES))
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), behavior="isolated") for r in PUBLISHED[pre]]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    with tempfile.TemporaryDirectory() as d:
        voc = os.path.join(d, f"vocab-{pre}.gguf")
        write_vocab(voc, tokens, merges, types, pre)
        with open(os.path.join(d, "t.inp"), "wb") as f:
            f.write("".join(t + "\n__ggml_vocab_test__\n" for t in texts).encode("utf-8"))
        with open(os.path.join(d, "t.out"), "w") as f:
            for enc in hf.encode_batch(texts, add_special_tokens=False):
                f.write("".join(f" {i}" for i in enc.ids) + "\n")
        res = subprocess.run([tool, voc, os.path.join(d, "t.inp"), os.path.join(d, "t.out")],
                             capture_output=True, text=True, errors="replace")
    print(res.stdout.strip())
    if res.returncode != 0:
        print("\n".join(res.stderr.splitlines()[:20]))
    print(f"{pre}: {len(texts)} strings, lmc vs Hugging Face BPE: {'OK' if res.returncode == 0 else 'DIFFERENT'}")
    return res.returncode == 0


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    tool, pres = sys.argv[1], sys.argv[2].split(",")
    shared = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("LMC_SHARED_DIR", "../shared")
    src = os.path.join(shared, "ref", "tokenizer", "ggml-vocab-gpt-2.gguf")
    tokens, merges, types = read_vocab(src)
    texts = open(os.path.join(shared, "ref", "tokenizer", "ggml-vocab-gpt-2.gguf.inp"),
                 "rb").read().decode("utf-8").split("\n__ggml_vocab_test__\n")[:-1]
    texts += random_texts(1000, seed=99)
    texts = [t for t in texts if "<|endoftext|>" not in t]
    ok = True
    for pre in pres:
        ok &= check(tool, pre, tokens, merges, types, texts)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
