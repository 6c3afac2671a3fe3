#!/bin/bash
# Benchmark of `lmc eval` scoring: throughput (tokens run through the model per second,
# and items per second) and the speed-up from keeping each item's shared context in
# the cache across its choices (default) versus re-running it per choice (--no-share).
# usage: bench_eval.sh MODEL TASK_SPEC [LIMIT]   (not a test: timings, no pass/fail)
set -eu
LMC=${LMC_BIN:-lmc}
MODEL=$1; TASK=$2; LIMIT=${3:-100}
for mode in share no-share; do
  flag=""; [ $mode = no-share ] && flag=--no-share
  out=$(mktemp)
  "$LMC" eval -m "$MODEL" --task "$TASK" --limit "$LIMIT" $flag --out "$out" > /dev/null 2>&1
  python3 - "$out" "$mode" <<'PY'
import json, sys
r = list(json.load(open(sys.argv[1]))["results"].values())[0]
print("%-9s %5d items  %8.2f s  %8d tokens  %8.1f tokens/s  %6.2f items/s  acc_norm %.4f" % (
    sys.argv[2], r["items"], r["seconds"], r["tokens"], r["tokens_per_second"], r["items"] / r["seconds"],
    r.get("acc_norm", float("nan"))))
PY
  rm -f "$out"
done
