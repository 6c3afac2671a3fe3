#!/usr/bin/env python3
"""check_sampling_cli.py — `lmc run`'s sampling, stop and beam options end to end on
stories260K, against llama.cpp's greedy reference (shared/ref/generation):
  - --beam 1 prints llama.cpp's greedy tokens; --top-k 1 at --temp 0.9 too;
  - --stop STR prints the reference text cut before the first STR, also when STR is
    split across tokens;
  - --logit-bias ID=-inf bans the greedy first token;
  - --seed reproduces a sampled run; --n-best prints sorted scores;
  - bad values and conflicting options exit with status 2 and a message.
Environment: LMC_BIN (the lmc binary), LMC_SHARED_DIR."""
import json
import os
import re
import subprocess
import sys

LMC = os.environ.get("LMC_BIN", "lmc")
SHARED = os.environ.get("LMC_SHARED_DIR", "../shared")
MODEL = os.path.join(SHARED, "models/stories260K.gguf")
REF = json.load(open(os.path.join(SHARED, "ref/generation/stories260K.once-upon-a-time.json")))
BASE = ["run", "-m", MODEL, "-p", REF["prompt"], "--kv-type", "f32"]
failures = 0
checks = 0


def run(*args):
    r = subprocess.run([LMC] + BASE + list(args), capture_output=True)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def check(cond, msg):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", msg, file=sys.stderr)


ref_ids = REF["generated_tokens"]
ref_text = REF["generated_text"]

# one beam = greedy = llama.cpp's tokens
rc, out, err = run("-n", "32", "--beam", "1", "--ids")
check(rc == 0, "--beam 1 failed: " + err)
got = [int(x) for x in out.split()]
check(got == ref_ids[:32], "--beam 1 --ids: %s != reference %s" % (got[:8], ref_ids[:8]))
rc, out, err = run("-n", "32", "--temp", "0.9", "--top-k", "1", "--ids")
check(rc == 0 and [int(x) for x in out.split()] == ref_ids[:32], "--top-k 1 is not greedy: " + out[:80] + err)

# stop strings: the reference text cut before the first occurrence
for stop in ["Lily", " girl named L", ". She", "park"]:
    cut = ref_text.find(stop)
    assert cut >= 0
    rc, out, err = run("-n", "64", "--temp", "0", "--stop", stop)
    want = ref_text[:cut]
    check(rc == 0 and out.rstrip("\n") == want, "--stop %r: got %r, want %r (%s)" % (stop, out, want, err.strip()))
# two stop strings: the first to complete wins
rc, out, err = run("-n", "64", "--temp", "0", "--stop", "ball", "--stop", "Lily")
check(rc == 0 and out.rstrip("\n") == ref_text[:ref_text.find("Lily")], "two --stop: got %r" % out)
# beam search output honours --stop too
rc, out, err = run("-n", "40", "--beam", "1", "--stop", "Lily")
check(rc == 0 and out.rstrip("\n") == ref_text[:ref_text.find("Lily")], "--beam 1 --stop: got %r" % out)

# a banned token is never chosen
rc, out, err = run("-n", "4", "--temp", "0", "--ids", "--logit-bias", "%d=-inf" % ref_ids[0])
got = [int(x) for x in out.split()]
check(rc == 0 and got and got[0] != ref_ids[0] and ref_ids[0] not in got, "--logit-bias -inf: %s" % got)
# a big positive bias forces a token
rc, out, err = run("-n", "3", "--temp", "0", "--ids", "--logit-bias", "300=100")
check(rc == 0 and [int(x) for x in out.split()] == [300, 300, 300], "--logit-bias +100: %r" % out)
# a repetition penalty over the whole text changes greedy output away from repeats
rc, out, err = run("-n", "48", "--temp", "0", "--ids", "--repeat-penalty", "5", "--repeat-last-n", "-1")
got = [int(x) for x in out.split()]
check(rc == 0 and got != ref_ids[:48], "--repeat-penalty 5 changed nothing")

# seeds reproduce
a = run("-n", "24", "--temp", "1.0", "--seed", "42", "--ids")
b = run("-n", "24", "--temp", "1.0", "--seed", "42", "--ids")
c = run("-n", "24", "--temp", "1.0", "--seed", "43", "--ids")
check(a[0] == 0 and a[1] == b[1], "the same --seed gave different tokens")
check(a[1] != c[1], "different seeds gave the same 24 tokens")
d = run("-n", "8", "--temp", "1.0", "--ids")
check(d[0] == 0 and re.search(r"seed \d+", d[2]) is not None, "a random seed is not reported: " + d[2])
if d[0] == 0:
    seed = re.search(r"seed (\d+)", d[2]).group(1)
    e = run("-n", "8", "--temp", "1.0", "--ids", "--seed", seed)
    check(e[1] == d[1], "re-running with the reported seed gave other tokens")

# n-best: K hypotheses, scores sorted
rc, out, err = run("-n", "16", "--beam", "4", "--n-best", "3", "--length-penalty", "1")
scores = [float(x) for x in re.findall(r"^\[\d+\] score (-?[\d.]+)", out, re.M)]
check(rc == 0 and len(scores) == 3 and scores == sorted(scores, reverse=True), "--n-best 3: %r" % out[:300])

# bad values and conflicts: status 2 and a message naming the option
bad = [
    (["--temp", "-1"], "--temp"),
    (["--top-k", "-1"], "--top-k"),
    (["--top-p", "0"], "top-p"),
    (["--top-p", "1.5"], "--top-p"),
    (["--min-p", "2"], "--min-p"),
    (["--repeat-penalty", "0"], "repeat-penalty"),
    (["--repeat-last-n", "-2"], "--repeat-last-n"),
    (["--logit-bias", "abc"], "--logit-bias"),
    (["--logit-bias", "5=+inf"], "--logit-bias"),
    (["--logit-bias", "99999=1"], "outside the vocabulary"),
    (["--stop", ""], "--stop"),
    (["--beam", "2", "--temp", "0.8"], "cannot be combined"),
    (["--beam", "2", "--top-k", "5"], "cannot be combined"),
    (["--beam", "2", "--n-best", "3"], "--n-best"),
    (["--n-best", "2"], "need --beam"),
    (["--beam", "0"], "--beam"),
]
for args, word in bad:
    rc, out, err = run("-n", "4", *args)
    check(rc == 2 and word in err and out == "", "%s: status %d, stderr %r" % (" ".join(args), rc, err.strip()))

if failures:
    print("check_sampling_cli: %d of %d checks FAILED" % (failures, checks), file=sys.stderr)
    sys.exit(1)
print("check_sampling_cli: all %d checks passed" % checks)
