#!/usr/bin/env python3
"""`lmc ngram` models read back by KenLM (pip package `kenlm`): for every smoothing
method, the ARPA file lmc writes must load in KenLM, and KenLM's log10 probability of
each test sentence (with <s>/</s>, unknown words as <unk>) must equal what
`lmc ngram ppl --per-sentence` reports. This checks the ARPA format and lmc's back-off
scoring against an implementation we did not write. Exit 0 only if all agree."""
import gzip
import json
import os
import subprocess
import sys
import tempfile

try:
    import kenlm
except ImportError:
    print("FAIL: the kenlm Python package is missing (pip install kenlm)")
    sys.exit(1)

LMC = os.environ.get("LMC_BIN", "lmc")
SHARED = os.environ.get("LMC_SHARED_DIR", "../shared")
PTB = os.path.join(SHARED, "data", "ptb")
failures = 0


def run(*args):
    out = subprocess.run([LMC, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"lmc {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def main():
    global failures
    with tempfile.TemporaryDirectory() as d:
        train = os.path.join(d, "train.txt")
        test = os.path.join(d, "test.txt")
        with gzip.open(os.path.join(PTB, "ptb.train.txt.gz"), "rt", encoding="utf-8") as f, \
                open(train, "w", encoding="utf-8") as o:
            for i, line in enumerate(f):
                if i >= 6000:
                    break
                o.write(line)
        with open(os.path.join(PTB, "ptb.test.txt"), encoding="utf-8") as f, open(test, "w", encoding="utf-8") as o:
            lines = f.readlines()[:400]
            o.writelines(lines)
        cases = [(s, 3, False) for s in ("mkn", "kn", "add-k", "katz", "witten-bell")]
        cases += [("mkn", 5, False), ("mkn", 2, True), ("katz", 4, True)]
        for smoothing, order, unk in cases:
            arpa = os.path.join(d, f"{smoothing}{order}.arpa")
            run("ngram", "train", "--order", str(order), "--smoothing", smoothing, *(["--unk"] if unk else []),
                "-o", arpa, train)
            out = run("ngram", "ppl", "-m", arpa, "-f", test, "--per-sentence")
            ours = [float(l.split("\t")[1]) for l in out.splitlines() if l.count("\t") == 2]
            model = kenlm.Model(arpa)
            worst, total_k = 0.0, 0.0
            for line, lp in zip(lines, ours):
                k = model.score(" ".join(line.split()), bos=True, eos=True)
                total_k += k
                worst = max(worst, abs(k - lp))
            n_tok = sum(len(l.split()) + 1 for l in lines)
            ppl_ours = 10 ** (-sum(ours) / n_tok)
            ppl_k = 10 ** (-total_k / n_tok)
            ok = len(ours) == len(lines) and worst <= 2e-4 and abs(ppl_ours / ppl_k - 1) <= 1e-5
            if not ok:
                failures += 1
            print(f"{'ok  ' if ok else 'FAIL'} {smoothing:<11} order {order} unk {unk!s:<5}: ppl lmc {ppl_ours:.4f}"
                  f" kenlm {ppl_k:.4f}, largest per-sentence |diff| {worst:.2g} (log10), {len(ours)} sentences")
    print("ngram_vs_kenlm:", "FAILED" if failures else "all cases agree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
