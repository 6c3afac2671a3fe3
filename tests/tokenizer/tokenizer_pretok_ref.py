#!/usr/bin/env python3
"""Pre-tokenizer splits of lmc against Hugging Face `tokenizers` (an independent
engine, Oniguruma regexes) running the published expressions of each pre-tokenizer.

usage: tokenizer_pretok_ref.py DUMP_BINARY PRE [SHARED_DIR]

DUMP_BINARY is tests/tokenizer/tokenizer_pretok_dump.c built; it prints lmc's split of each
string. The strings are llama.cpp's tokenizer test strings (if SHARED_DIR has them)
plus seeded random Unicode text (Latin, Cyrillic, CJK, emoji, combining marks,
digits of several scripts, whitespace runs, CR/LF, apostrophe contractions).
Exit 0 = every split identical, 1 = a difference, 77 = `tokenizers` not installed.
"""
import glob
import os
import random
import subprocess
import sys
import tempfile

try:
    from tokenizers import Regex, pre_tokenizers
except ImportError:
    print("SKIP: python package 'tokenizers' is not installed (pip install tokenizers)")
    sys.exit(77)

GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

# As published in each model's tokenizer.json (pre_tokenizer), written as a list of
# isolated splits; Digits(individual_digits=true) is the split on \p{N}.
PUBLISHED = {
    "gpt-2": [GPT2],
    "starcoder": [r"\p{N}", GPT2],
    "smollm": [r"\p{N}", GPT2],
    "command-r": [r"\p{N}", GPT2],
    "llama-bpe": [LLAMA3],
    "qwen2": [QWEN2],
}


def hf_split(regexes, text):
    seq = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(r), behavior="isolated") for r in regexes])
    return [p for p, _ in seq.pre_tokenize_str(text)]


def random_texts(n, seed):
    rng = random.Random(seed)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " " * 8 + "\t\n\r",
        "'\"!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`",
        "привет мир ЁЖЩ ёжщ",
        "中文字符日本語한국어",
        "😀🍕🚀👍🏽👨‍👩‍👧🇫🇷❤️",
        "e\u0301a\u0308\u0327",  # combining marks
        "\u00a0\u2003\u3000\u2028\u0085",  # non-ASCII spaces
        "٣٤٥１２３ⅫⅣ½²",  # other digits / numbers
        "αβγΔΩ ﬁ Ǆ ǅ",
    ]
    words = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'LL", "'D", "\r\n", "\n\n", "   ", " 123", "12345"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 30)):
            if rng.random() < 0.2:
                parts.append(rng.choice(words))
            else:
                pool = rng.choice(pools)
                parts.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        out.append("".join(parts))
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    dump, pre = sys.argv[1], sys.argv[2]
    shared = sys.argv[3] if len(sys.argv) > 3 else os.environ.get("LMC_SHARED_DIR", "../shared")
    texts = []
    for f in sorted(glob.glob(os.path.join(shared, "ref", "tokenizer", "*.inp"))):
        if "ggml-vocab-gpt-2" not in f:  # every .inp has the same strings; one of each kind
            continue
        raw = open(f, "rb").read().decode("utf-8")
        texts += raw.split("\n__ggml_vocab_test__\n")[:-1]
    texts += random_texts(1500, seed=1234)
    sep = "\n__ggml_vocab_test__\n"
    with tempfile.NamedTemporaryFile("wb", suffix=".inp", delete=False) as tf:
        tf.write("".join(t + sep for t in texts).encode("utf-8"))
        path = tf.name
    try:
        res = subprocess.run([dump, pre, path], capture_output=True)
    finally:
        os.unlink(path)
    if res.returncode != 0:
        print("dump failed:", res.stderr.decode(errors="replace"))
        return 1
    lines = res.stdout.decode().split("\n")
    bad = 0
    for i, t in enumerate(texts):
        got = [bytes.fromhex(h).decode("utf-8") for h in lines[i].split()] if lines[i] else []
        want = hf_split(PUBLISHED[pre], t)
        if got != want:
            bad += 1
            if bad <= 5:
                print(f"split differs for {t!r}\n  HF : {want}\n  lmc: {got}")
    print(f"{pre}: {len(texts)} strings, {bad} differences from Hugging Face tokenizers")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
