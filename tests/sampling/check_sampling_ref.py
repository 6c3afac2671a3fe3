#!/usr/bin/env python3
"""check_sampling_ref.py — lmc's sampler chain against a numpy re-implementation of
the published definitions, and a chi-square test of its draws.

Reference definitions (written from the papers, not from lmc's code):
  logit bias      l[id] += b
  penalties       CTRL repetition penalty (Keskar et al. 2019) with the sign fix
                  (l > 0: l / r, else l * r), then OpenAI's frequency / presence
                  penalties: l -= c * f + (c > 0) * pres, c = count in the window of
                  the last n accepted tokens
  top-k           the k largest logits (Fan et al. 2018)
  top-p           the smallest set of most likely tokens whose mass is >= p
                  (Holtzman et al. 2019)
  min-p           tokens with p >= min_p * p_max (Nguyen et al. 2024)
  temperature     softmax(l / T) (applied last, after the filters, which is
                  llama.cpp's default order and what lmc documents)
  greedy          T = 0 or k = 1: the argmax, ties to the lowest id
Usage: check_sampling_ref.py PATH/TO/sampling_tool
"""
import subprocess
import sys

import numpy as np

TOOL = sys.argv[1]
failures = 0
checks = 0


def fail(msg):
    global failures
    failures += 1
    print("FAIL:", msg, file=sys.stderr)


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x)
    e = np.exp(x - m)
    return e / e.sum()


def reference(logits, P, history):
    """Returns (probs over the whole vocabulary, kept mask, ambiguous) — ambiguous when a
    float32 implementation could land on either side of a cut."""
    V = len(logits)
    l = np.array(logits, dtype=np.float64)
    ids = np.arange(V)
    amb = False
    for tok, b in P.get("bias", []):
        l[tok] += b
    rep, fq, pr, n = P["repeat_penalty"], P["frequency_penalty"], P["presence_penalty"], P["repeat_last_n"]
    if n != 0 and history and (rep != 1 or fq != 0 or pr != 0):
        window = history if n < 0 else history[-n:]
        c = np.bincount(np.array(window, dtype=np.int64), minlength=V)[:V]
        m = c > 0
        l[m] = np.where(l[m] > 0, l[m] / rep, l[m] * rep) - c[m] * fq - pr
    if P["temp"] == 0 or P["top_k"] == 1:
        out = np.zeros(V)
        out[int(np.argmax(l))] = 1.0  # first maximum = lowest id
        return out, out > 0, False
    keep = np.ones(V, dtype=bool)
    mk = P["min_keep"]
    if P["top_k"] > 0 and P["top_k"] < V:
        order = np.lexsort((ids, -l))
        kth, nxt = l[order[P["top_k"] - 1]], l[order[P["top_k"]]]
        amb |= abs(kth - nxt) < 1e-5
        keep[order[P["top_k"]:]] = False
    if P["top_p"] < 1:
        kid = ids[keep]
        p = softmax(l[kid])
        order = np.lexsort((kid, -p))
        cum = np.cumsum(p[order])
        idx = int(np.argmax(cum >= P["top_p"])) if (cum >= P["top_p"]).any() else len(cum) - 1
        cnt = max(idx + 1, mk)
        amb |= bool(np.any(np.abs(cum - P["top_p"]) < 1e-5))
        nk = np.zeros(V, dtype=bool)
        nk[kid[order[:cnt]]] = True
        keep = nk
    if P["min_p"] > 0:
        kid = ids[keep]
        p = softmax(l[kid])
        thr = P["min_p"] * p.max()
        amb |= bool(np.any(np.abs(p / thr - 1) < 1e-4))
        sel = p >= thr
        if sel.sum() < mk:
            order = np.lexsort((kid, -l[kid]))
            sel = np.zeros(len(kid), dtype=bool)
            sel[order[:mk]] = True
        nk = np.zeros(V, dtype=bool)
        nk[kid[sel]] = True
        keep = nk
    out = np.zeros(V)
    out[keep] = softmax(l[keep] / P["temp"])
    return out, keep, amb


def tool_args(P):
    a = []
    for k in ("temp", "top_k", "top_p", "min_p", "min_keep", "repeat_penalty", "repeat_last_n",
              "frequency_penalty", "presence_penalty", "seed"):
        a += ["--" + k.replace("_", "-"), repr(P[k])]
    for tok, b in P.get("bias", []):
        a += ["--bias", "%d=%r" % (tok, b)]
    return a


def run_tool(mode, P, logits, history, n=0):
    inp = " ".join("%.9g" % x for x in logits) + "\n" + " ".join(str(t) for t in history) + "\n"
    cmd = [TOOL, mode] + ([str(n)] if mode == "draws" else []) + tool_args(P)
    r = subprocess.run(cmd, input=inp, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr))
    return r.stdout


def random_params(rng, V):
    P = dict(
        temp=float(rng.choice([0.0, 0.3, 0.8, 1.0, 1.7])),
        top_k=int(rng.choice([0, 0, 1, 3, 10, 40, V + 5])),
        top_p=float(rng.choice([1.0, 0.95, 0.7, 0.3, 0.01])),
        min_p=float(rng.choice([0.0, 0.0, 0.05, 0.3])),
        min_keep=int(rng.choice([0, 0, 1, 4])),
        repeat_penalty=float(rng.choice([1.0, 1.1, 1.5, 0.8])),
        repeat_last_n=int(rng.choice([0, 4, 64, -1])),
        frequency_penalty=float(rng.choice([0.0, 0.0, 0.3])),
        presence_penalty=float(rng.choice([0.0, 0.0, 0.5, -0.2])),
        seed=int(rng.integers(0, 2**32)),
    )
    if rng.random() < 0.4:
        P["bias"] = [(int(rng.integers(0, V)), float(rng.choice([-100.0, -2.0, 1.5, 5.0]))) for _ in range(3)]
    return P


def check_probs(rng, n_cases):
    global checks
    done = 0
    while done < n_cases:
        V = int(rng.choice([8, 50, 300, 3000]))
        logits = (rng.normal(size=V) * rng.choice([0.5, 2.0, 5.0])).astype(np.float32)
        history = [int(t) for t in rng.integers(0, V, size=int(rng.integers(0, 80)))]
        P = random_params(rng, V)
        ref, keep, amb = reference(logits, P, history)
        if amb:
            continue  # a cut within float32 rounding of the threshold: not a fair test
        done += 1
        checks += 1
        got = np.zeros(V)
        kept_got = set()
        for line in run_tool("probs", P, logits, history).split("\n"):
            if line:
                i, p = line.split()
                got[int(i)] = float(p)
                kept_got.add(int(i))
        kept_ref = set(int(i) for i in np.nonzero(keep)[0])
        if kept_ref != kept_got:
            fail("V=%d %r: kept %d ids, reference %d (diff %s)" % (V, P, len(kept_got), len(kept_ref),
                                                                 sorted(kept_ref ^ kept_got)[:10]))
            continue
        err = np.max(np.abs(ref - got))
        if err > 2e-5:
            fail("V=%d %r: max |p - p_ref| = %g" % (V, P, err))


def chi2_critical(df, z=3.719):  # upper 1e-4 point, Wilson-Hilferty
    return df * (1 - 2 / (9 * df) + z * np.sqrt(2 / (9 * df))) ** 3


def chi2(counts, expected):
    """Pearson's statistic, merging bins with expected < 5 into one; returns
    (statistic, df), or (inf, 0) when a count falls where nothing is expected."""
    counts = np.asarray(counts, dtype=np.float64)
    if np.any(counts[expected == 0] > 0):
        return np.inf, 0
    big = expected >= 5
    obs = list(counts[big])
    exp = list(expected[big])
    if (~big & (expected > 0)).any():
        obs.append(counts[~big].sum())
        exp.append(expected[~big].sum())
    obs, exp = np.array(obs), np.array(exp)
    return float(((obs - exp) ** 2 / exp).sum()), len(obs) - 1


def check_draws(rng, n_cases, n_draws):
    global checks
    power = 0
    for case in range(n_cases):
        V = int(rng.choice([20, 40, 80]))
        logits = (rng.normal(size=V) * 2).astype(np.float32)
        history = [int(t) for t in rng.integers(0, V, size=20)]
        while True:
            P = random_params(rng, V)
            P["temp"] = float(rng.choice([0.5, 1.0, 1.5]))
            if P["top_k"] == 1:
                P["top_k"] = 0
            ref, _, amb = reference(logits, P, history)
            if not amb and (ref > 0).sum() >= 3:
                break
        counts = np.array([int(x) for x in run_tool("draws", P, logits, history, n_draws).split()])
        checks += 1
        stat, df = chi2(counts, ref * n_draws)
        if not (df > 0 and stat < chi2_critical(df)):
            fail("draws V=%d %r: chi-square %g with %d df (critical %g)" % (V, P, stat, df, chi2_critical(max(df, 1))))
        # the test has power: the same draws against the unfiltered distribution
        wrong = softmax(np.asarray(logits, dtype=np.float64) / P["temp"])
        if np.abs(wrong - ref).sum() > 0.05:
            s2, df2 = chi2(counts, wrong * n_draws)
            power += df2 == 0 or s2 > chi2_critical(df2)
            checks += 1
            if not (df2 == 0 or s2 > chi2_critical(df2)):
                fail("draws V=%d: the unfiltered distribution was not rejected (chi-square %g)" % (V, s2))
    return power


def main():
    rng = np.random.default_rng(20261122)
    check_probs(rng, 150)
    power = check_draws(rng, 8, 40000)
    # the same seed reproduces the same draws
    P = random_params(rng, 30)
    P.update(temp=1.0, top_k=0, top_p=1.0, min_p=0.0)
    logits = rng.normal(size=30).astype(np.float32)
    a = run_tool("draws", P, logits, [], 5000)
    b = run_tool("draws", P, logits, [], 5000)
    P["seed"] += 1
    c = run_tool("draws", P, logits, [], 5000)
    global checks
    checks += 2
    if a != b:
        fail("the same seed gave different draws")
    if a == c:
        fail("different seeds gave the same draws")
    if failures:
        print("check_sampling_ref: %d of %d checks FAILED" % (failures, checks), file=sys.stderr)
        return 1
    print("check_sampling_ref: all %d checks passed (%d chi-square power checks rejected the unfiltered "
          "distribution)" % (checks, power))
    return 0


if __name__ == "__main__":
    sys.exit(main())
