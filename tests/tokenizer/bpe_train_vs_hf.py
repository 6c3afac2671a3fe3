"""`lmc tokenizer train` against Hugging Face tokenizers' BpeTrainer (pip `tokenizers`).

Same corpus, same settings (ByteLevel pre-tokenizer without prefix space, the full
256-byte initial alphabet, special token <|endoftext|>, vocab size, min frequency):
the merges must be identical, in order, and the two tokenizers must give the same
ids on held-out text (lmc through `lmc tokenize` on its GGUF). Also prints the
compression (tokens per byte) of both on WikiText-2's test file and the training
time of both.

usage: bpe_train_vs_hf.py CORPUS HELD_OUT VOCAB_SIZE [--time]"""
import json, os, subprocess, sys, tempfile, time
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders

lmc = os.environ["LMC_BIN"]
corpus, held_out, vocab = sys.argv[1], sys.argv[2], int(sys.argv[3])
tmp = tempfile.mkdtemp()
out = os.path.join(tmp, "tok.gguf")

t0 = time.time()
subprocess.run([lmc, "tokenizer", "train", "--vocab-size", str(vocab), "--min-frequency", "2",
                "--out", out, corpus], check=True, stderr=subprocess.DEVNULL)
t_lmc = time.time() - t0

tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, special_tokens=["<|endoftext|>"],
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
t0 = time.time()
tok.train([corpus], trainer)
t_hf = time.time() - t0
hf = json.loads(tok.to_str())
hf_merges = [m if isinstance(m, str) else " ".join(m) for m in hf["model"]["merges"]]

import gguf
r = gguf.GGUFReader(out)
def arr(name):
    f = r.fields[name]
    return [bytes(f.parts[i]).decode() for i in f.data]
lmc_merges = arr("tokenizer.ggml.merges")
lmc_tokens = arr("tokenizer.ggml.tokens")

fails = 0
n_same = 0
for a, b in zip(lmc_merges, hf_merges):
    if a != b:
        break
    n_same += 1
print(f"merges: lmc {len(lmc_merges)}, HF {len(hf_merges)}, identical prefix {n_same}")
if n_same != len(hf_merges) or len(lmc_merges) != len(hf_merges):
    i = n_same
    print(f"FAIL: first difference at merge {i}: lmc {lmc_merges[i:i+1]} HF {hf_merges[i:i+1]}")
    fails += 1
hf_vocab = sorted(hf["model"]["vocab"].items(), key=lambda kv: kv[1])
if [t for t, _ in hf_vocab] != lmc_tokens:
    print("FAIL: the vocabularies (token strings by id) differ")
    fails += 1

text = open(held_out, encoding="utf-8").read()
lines = [l for l in text.split("\n") if l.strip()][:400]
sample = "\n".join(lines)
ids_hf = tok.encode(sample).ids
p = subprocess.run([lmc, "tokenize", "-m", out, "--ids", "--no-bos", "-f", "-"], input=sample.encode(),
                   capture_output=True, check=True)
ids_lmc = [int(x) for x in p.stdout.split()]
print(f"held-out ({len(sample)} bytes): lmc {len(ids_lmc)} tokens, HF {len(ids_hf)} tokens")
if ids_lmc != ids_hf:
    k = next((i for i, (a, b) in enumerate(zip(ids_lmc, ids_hf)) if a != b), min(len(ids_lmc), len(ids_hf)))
    print(f"FAIL: encodings differ first at token {k}: lmc {ids_lmc[k:k+5]} HF {ids_hf[k:k+5]}")
    fails += 1
print(f"training time: lmc {t_lmc:.2f} s, HF tokenizers {t_hf:.2f} s (ratio lmc/HF {t_lmc / t_hf:.2f})")
sys.exit(1 if fails else 0)
