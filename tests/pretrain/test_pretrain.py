#!/usr/bin/env python3
"""Black-box tests of `lmc data prepare` and `lmc train` (issue #16).

References we did not write: the shard header and tokens are parsed here with numpy
straight from the documented layout, and decoded back to the corpus through the vocab
read by the `gguf` package (GPT-2's byte<->unicode map, rebuilt here); the trained
model's tensors and metadata are checked with `gguf` against the names llama.cpp
loads, and llama.cpp's own llama-simple runs the llama output when it is present.

usage: test_pretrain.py prepare|resume|fulldisk|nan|bad|export|config
"""
import hashlib
import math
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

LMC = os.environ.get("LMC_BIN", "lmc")
SHARED = os.environ.get("LMC_SHARED_DIR", "/work/shared")
LLAMA_BIN = os.environ.get("LLAMA_CPP_BIN", "/work/llama.cpp/build/bin")
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def run(args, **kw):
    return subprocess.run([LMC] + args, capture_output=True, text=True, **kw)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def corpus(tmp, n=20000):
    """Part of tinyshakespeare (or a generated text when the shared data is absent)."""
    src = os.path.join(SHARED, "data/tinyshakespeare/input.txt")
    if os.path.exists(src):
        text = open(src, encoding="utf-8").read()[:n]
    else:
        rng = random.Random(3)
        text = "".join(rng.choice("abcdefgh \n") for _ in range(n))
    p = os.path.join(tmp, "corpus.txt")
    open(p, "w", encoding="utf-8").write(text)
    return p, text


def read_shard(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"LMCTOKS\0", "magic"
    version, width = np.frombuffer(raw[8:16], dtype="<u4")
    count = int(np.frombuffer(raw[16:24], dtype="<u8")[0])
    dt = {2: "<u2", 4: "<u4"}[int(width)]
    toks = np.frombuffer(raw[24:], dtype=dt)
    return int(version), int(width), count, toks


def bytes_to_unicode():
    """GPT-2's map (openai/gpt-2 encoder.py), written from its definition."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def vocab_tokens(path):
    import gguf
    r = gguf.GGUFReader(path)
    f = r.fields["tokenizer.ggml.tokens"]
    toks = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    model = bytes(r.fields["tokenizer.ggml.model"].parts[-1]).decode()
    return toks, model, r


def prepare(tmp, text_path, out="data", extra=()):
    d = os.path.join(tmp, out)
    r = run(["data", "prepare", "--tokenizer", "char", "--out", d, *extra, text_path])
    assert r.returncode == 0, r.stderr
    return d


TINY = ["--arch", "gpt2", "--layers", "1", "--heads", "2", "--dim", "32", "--ctx", "16", "--batch", "4",
        "--lr", "3e-3", "--warmup", "5", "-t", "1"]


def losses(out):
    return open(out + ".losses.tsv").read()


# ---------------------------------------------------------------------------------------------
def t_prepare(tmp):
    p, text = corpus(tmp)
    d = prepare(tmp, p)
    tv, tw, tn, tt = read_shard(os.path.join(d, "train.bin"))
    vv, vw, vn, vt = read_shard(os.path.join(d, "val.bin"))
    check(tv == 1 and vv == 1 and tw == 2, "shard header: version 1, 2-byte tokens")
    check(tn == len(tt) and vn == len(vt), "shard count matches the payload")
    n = len(text.encode())
    check(tn + vn == n and vn == int(n * 0.1), f"val = last 10% of the text ({vn} of {n})")
    toks, model, _ = vocab_tokens(os.path.join(d, "tokenizer.gguf"))
    check(model == "gpt2", "char vocab stored as a gpt2 (byte-level BPE) vocabulary")
    check(len(toks) == len(set(text)), f"vocab size = distinct characters ({len(toks)})")
    inv = {v: k for k, v in bytes_to_unicode().items()}
    dec = bytes(inv[toks[t]] for t in np.concatenate([tt, vt])).decode()
    check(dec == text, "train+val decoded through the GGUF vocab (gguf package) give back the corpus")
    # --val-fraction
    d2 = prepare(tmp, p, "data2", ["--val-fraction", "0.25"])
    _, _, n2, _ = read_shard(os.path.join(d2, "val.bin"))
    check(n2 == int(n * 0.25), "--val-fraction 0.25")
    # lmc's own tokenizer reads the vocab and gives the same ids (a model file is needed for
    # tokenize: checked in t_export through lmc run instead)


def t_resume(tmp):
    p, _ = corpus(tmp)
    d = prepare(tmp, p)
    steps = 150
    a = os.path.join(tmp, "a.gguf")
    t0 = time.time()
    r = run(["train", "--data", d, "--out", a, "--steps", str(steps), "--ckpt-interval", "1", "--eval-interval", "50", *TINY])
    wall = time.time() - t0
    check(r.returncode == 0, "uninterrupted run")
    if r.returncode:
        print(r.stderr)
        return
    la = losses(a)
    b = os.path.join(tmp, "b.gguf")
    seed = int(os.environ.get("LMC_TEST_SEED", str(random.SystemRandom().randrange(1 << 30))))
    rng = random.Random(seed)
    killed_at = None
    for attempt in range(6):
        for f in (b, b + ".ckpt"):
            if os.path.exists(f):
                os.remove(f)
        delay = rng.uniform(0.15, 0.85) * wall
        proc = subprocess.Popen([LMC, "train", "--data", d, "--out", b, "--steps", str(steps), "--ckpt-interval", "1",
                                 "--eval-interval", "50", *TINY], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if os.path.exists(b + ".ckpt") and not os.path.exists(b):
            import gguf
            killed_at = int(gguf.GGUFReader(b + ".ckpt").fields["ckpt.step"].parts[-1][0])
            break
    print(f"test seed {seed} (LMC_TEST_SEED), run {wall:.2f} s, SIGKILL after step {killed_at}")
    check(killed_at is not None and 0 < killed_at < steps, "the run was killed mid-way with a checkpoint on disk")
    if killed_at is None:
        return
    r = run(["train", "--data", d, "--out", b, "--steps", str(steps), "--ckpt-interval", "1", "--eval-interval", "50",
             "--resume", b + ".ckpt", *TINY])
    check(r.returncode == 0, "resumed run")
    if r.returncode:
        print(r.stderr)
        return
    lb = losses(b)
    check(la == lb, f"loss sequence of killed+resumed run equals the uninterrupted one ({steps} steps)")
    check(sha(a) == sha(b), "the final models are bit-identical")


def t_fulldisk(tmp):
    """A full disk while checkpointing: RLIMIT_FSIZE below the checkpoint's size makes
    every write past it fail with EFBIG (SIGXFSZ ignored), as ENOSPC would, without
    root or a tmpfs mount."""
    p, _ = corpus(tmp)
    d = prepare(tmp, p)
    m = os.path.join(tmp, "m.gguf")
    r = run(["train", "--data", d, "--out", m, "--steps", "10", "--ckpt-interval", "5", *TINY])
    check(r.returncode == 0, "first run")
    ck = m + ".ckpt"
    before, model_before = sha(ck), sha(m)
    size = os.path.getsize(ck)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, size // 2))

    r = subprocess.run([LMC, "train", "--data", d, "--out", m, "--steps", "20", "--ckpt-interval", "5", "--resume", ck,
                        *TINY], capture_output=True, text=True, preexec_fn=limit)
    print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "(no stderr)")
    check(r.returncode != 0, "checkpoint write on a 'full disk' fails the run")
    check("ckpt" in r.stderr or "write" in r.stderr.lower(), "the message names the failed write")
    check(sha(ck) == before, "the previous checkpoint is intact")
    check(sha(m) == model_before, "the previous model is intact")
    check(not [f for f in os.listdir(tmp) if f.endswith(".tmp")], "no temporary file left behind")
    r = run(["train", "--data", d, "--out", m, "--steps", "20", "--ckpt-interval", "5", "--resume", ck, *TINY])
    check(r.returncode == 0, "the intact checkpoint resumes once the disk has room")


def t_nan(tmp):
    p, _ = corpus(tmp)
    d = prepare(tmp, p)
    m = os.path.join(tmp, "m.gguf")
    args = [a for a in TINY]
    args[args.index("--lr") + 1] = "1e35"
    r = run(["train", "--data", d, "--out", m, "--steps", "50", "--ckpt-interval", "1", "--clip", "0", *args])
    print(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "(no stderr)")
    check(r.returncode != 0, "a diverging run stops with an error")
    check("nan" in r.stderr.lower() or "inf" in r.stderr.lower() or "finite" in r.stderr.lower(),
          "the message says the loss/gradient is not finite")
    check(not os.path.exists(m), "no model is written from a diverged run")
    ck = m + ".ckpt"
    if os.path.exists(ck):
        import gguf
        r2 = gguf.GGUFReader(ck)
        ok = all(np.isfinite(np.asarray(t.data)).all() for t in r2.tensors)
        check(ok, "the kept checkpoint holds only finite numbers (the last good one)")


def t_bad(tmp):
    empty = os.path.join(tmp, "empty.txt")
    open(empty, "w").close()
    r = run(["data", "prepare", "--tokenizer", "char", "--out", os.path.join(tmp, "e"), empty])
    check(r.returncode != 0 and "empty" in r.stderr, "empty corpus: clear error")
    one = os.path.join(tmp, "one.txt")
    open(one, "w").write("a")
    r = run(["data", "prepare", "--tokenizer", "char", "--out", os.path.join(tmp, "o"), one])
    check(r.returncode != 0, "one-character corpus: error")
    p, _ = corpus(tmp, 3000)
    r = run(["data", "prepare", "--tokenizer", "sentencepiece-please", "--out", os.path.join(tmp, "u"), p])
    check(r.returncode != 0 and "tokenizer" in r.stderr.lower(), "unknown tokenizer: clear error")
    check(not os.path.exists(os.path.join(tmp, "u", "train.bin")), "unknown tokenizer: nothing written")
    d = prepare(tmp, p)
    m = os.path.join(tmp, "keep.gguf")
    open(m, "w").write("keep")
    r = run(["train", "--data", d, "--out", m, "--steps", "3", *TINY[:TINY.index("--ctx")], "--ctx", "5000",
             *TINY[TINY.index("--ctx") + 2:]])
    check(r.returncode != 0 and "context" in r.stderr, "context longer than the data: clear error")
    check(open(m).read() == "keep", "context longer than the data: the output is not overwritten")
    # a checkpoint of another shape
    a = os.path.join(tmp, "a.gguf")
    r = run(["train", "--data", d, "--out", a, "--steps", "3", *TINY])
    check(r.returncode == 0, "small run for the checkpoint")
    ck = a + ".ckpt"
    before = sha(ck)
    other = [x if x != "32" else "48" for x in TINY]
    r = run(["train", "--data", d, "--out", m, "--steps", "6", "--resume", ck, *other])
    check(r.returncode != 0 and "checkpoint" in r.stderr, "checkpoint of another shape: clear error")
    check(open(m).read() == "keep" and sha(ck) == before, "checkpoint of another shape: nothing overwritten")
    r = run(["train", "--data", d, "--out", m, "--steps", "6", "--resume", p, *TINY])
    check(r.returncode != 0 and open(m).read() == "keep", "a text file as checkpoint: error, nothing overwritten")
    r = run(["train", "--data", os.path.join(tmp, "nope"), "--out", m, "--steps", "3", *TINY])
    check(r.returncode != 0 and open(m).read() == "keep", "missing data folder: error, nothing overwritten")


def gguf_names(path):
    import gguf
    r = gguf.GGUFReader(path)
    return {t.name: tuple(int(x) for x in t.shape) for t in r.tensors}, r


def t_export(tmp):
    p, text = corpus(tmp)
    d = prepare(tmp, p)
    for arch in ("gpt2", "llama"):
        m = os.path.join(tmp, f"{arch}.gguf")
        args = [x if x != "gpt2" else arch for x in TINY]
        r = run(["train", "--data", d, "--out", m, "--steps", "200", "--eval-interval", "50", *args])
        check(r.returncode == 0, f"{arch}: train")
        if r.returncode:
            print(r.stderr)
            continue
        names, rd = gguf_names(m)
        arch_kv = bytes(rd.fields["general.architecture"].parts[-1]).decode()
        check(arch_kv == arch, f"{arch}: general.architecture")
        want = ["token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight", "blk.0.attn_output.weight",
                "blk.0.ffn_norm.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"]
        if arch == "gpt2":
            want += ["position_embd.weight", "blk.0.attn_qkv.weight", "blk.0.attn_qkv.bias", "output_norm.bias",
                     "blk.0.attn_norm.bias", "blk.0.ffn_norm.bias", "blk.0.ffn_up.bias", "blk.0.ffn_down.bias"]
        else:
            want += ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.ffn_gate.weight"]
        missing = [w for w in want if w not in names]
        check(not missing, f"{arch}: llama.cpp tensor names present (missing: {missing})")
        check(names.get("token_embd.weight") == (32, len(set(text))), f"{arch}: token_embd shape {names.get('token_embd.weight')}")
        check(os.path.exists(m + ".loss.svg") and "<svg" in open(m + ".loss.svg").read(), f"{arch}: loss curve SVG")
        r = run(["run", "-m", m, "-p", "ROMEO:", "-n", "8", "--temp", "0"])
        check(r.returncode == 0 and len(r.stdout) > 6, f"{arch}: lmc run loads the output ({r.stdout[:40]!r})")
        if r.returncode:
            print(r.stderr)
        r = run(["perplexity", "-m", m, "-f", p, "-c", "16"])
        ppl = [l for l in r.stdout.splitlines() if l.startswith("PPL = ")]
        check(r.returncode == 0 and ppl, f"{arch}: lmc perplexity loads the output ({ppl[0] if ppl else r.stderr.strip()})")
        # llama.cpp loads the file and its greedy continuation equals lmc's (prompt + 8 <= ctx 16,
        # gpt2's learned positions)
        if os.path.exists(os.path.join(LLAMA_BIN, "llama-simple")):
            r = subprocess.run([os.path.join(LLAMA_BIN, "llama-simple"), "-m", m, "-n", "8", "ROMEO:"],
                               capture_output=True, text=True)
            check(r.returncode == 0, f"{arch}: llama.cpp llama-simple loads and runs the output ({r.stdout!r})")
            mine = run(["run", "-m", m, "-p", "ROMEO:", "-n", "8", "--temp", "0"])
            check(r.stdout == "ROMEO:" + mine.stdout,
                  f"{arch}: llama.cpp's greedy text equals lmc run's ({r.stdout!r} vs {mine.stdout!r})")
            if r.returncode:
                print(r.stderr[-2000:])
        else:
            print(f"(no llama.cpp at {LLAMA_BIN}: its check is skipped)")


def t_config(tmp):
    p, _ = corpus(tmp)
    d = prepare(tmp, p)
    a, b = os.path.join(tmp, "a.gguf"), os.path.join(tmp, "b.gguf")
    r = run(["train", "--data", d, "--out", a, "--steps", "12", *TINY])
    check(r.returncode == 0, "flags run")
    cfg = os.path.join(tmp, "t.conf")
    with open(cfg, "w") as f:
        f.write("# tiny\n")
        it = iter(TINY)
        for k in it:
            if k == "-t":
                next(it)
                continue
            f.write(f"{k[2:]} = {next(it)}\n")
        f.write(f"data = {d}\nsteps = 12\n")
    r = run(["train", "--config", cfg, "--out", b, "-t", "1"])
    check(r.returncode == 0, "config-file run")
    if r.returncode == 0:
        check(losses(a) == losses(b), "the config file gives the same run as the flags")
    r = run(["train", "--config", cfg, "--out", b, "--steps", "6"])
    check(r.returncode == 0 and len(losses(b).splitlines()) == 6, "flags override the config file")
    with open(cfg, "a") as f:
        f.write("lernrate = 3\n")
    r = run(["train", "--config", cfg, "--out", b])
    check(r.returncode != 0 and "lernrate" in r.stderr, "unknown key in the config file: error naming it")


TESTS = {"prepare": t_prepare, "resume": t_resume, "fulldisk": t_fulldisk, "nan": t_nan, "bad": t_bad,
         "export": t_export, "config": t_config}

if __name__ == "__main__":
    name = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix=f"lmc-pretrain-{name}-")
    try:
        TESTS[name](tmp)
    except Exception as e:  # a crash of the test is a failure, not a pass
        import traceback
        traceback.print_exc()
        FAILS.append(repr(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{name}: {len(FAILS)} failure(s)")
    sys.exit(1 if FAILS else 0)
