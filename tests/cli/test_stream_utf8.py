"""`lmc run` streams whole UTF-8 characters only.

stories260K has 256 byte tokens among its 512; sampling at a very high temperature
draws them almost uniformly, so raw pieces would put broken UTF-8 on stdout. The
streaming detokenizer must hold incomplete characters and turn invalid bytes into
U+FFFD, with and without stop strings (which see the same text)."""
import os, subprocess, sys

lmc = os.environ["LMC_BIN"]
model = os.path.join(os.environ["LMC_SHARED_DIR"], "models", "stories260K.gguf")
bad_runs = 0
replaced = 0
for seed in range(1, 9):
    for extra in ([], ["--stop", "zzzq"]):
        cmd = [lmc, "run", "-m", model, "-p", "Once", "-n", "96", "--temp", "8", "--top-k", "0", "--top-p", "1", "--min-p", "0",
               "--seed", str(seed), "--ignore-eos"] + extra
        out = subprocess.run(cmd, capture_output=True, timeout=60)
        if out.returncode != 0:
            sys.exit(f"FAIL: {' '.join(cmd)} exited {out.returncode}: {out.stderr.decode(errors='replace')}")
        try:
            text = out.stdout.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            print(f"invalid UTF-8 with seed {seed} {extra}: {e}")
            bad_runs += 1
            continue
        replaced += text.count("\ufffd")
if bad_runs:
    sys.exit(f"FAIL: {bad_runs} runs wrote invalid UTF-8")
# The test only means something if byte tokens were actually drawn.
if replaced == 0:
    sys.exit("FAIL: no U+FFFD at all: the sampler never produced stray byte tokens, test is vacuous")
print(f"ok: 16 runs valid UTF-8, {replaced} replacement characters")
