#!/usr/bin/env bash
# Without -t, the commands use one thread per CPU core this process may run on: the CPU
# affinity counts (taskset, container limits), SMT siblings are halved. Read from the
# thread count `lmc bench-engine` prints (the same default as run, chat, eval, perplexity
# and serve). Skips (77) without taskset.
set -u
LMC=${LMC_BIN:?}
MODEL=${LMC_SHARED_DIR:?}/models/stories260K.gguf
command -v taskset >/dev/null || { echo "no taskset here: skipped"; exit 77; }
threads() { taskset -c "$1" "$LMC" bench-engine -m "$MODEL" --ttft --prefix 16 2>&1 | sed -nE 's/.*, ([0-9]+) thread\(s\).*/\1/p'; }
fail=0
got=$(threads 0)
if [ "$got" = 1 ]; then echo "ok: one CPU allowed -> 1 thread"; else echo "FAIL: one CPU allowed -> '$got' threads"; fail=1; fi
smt=$(cat /sys/devices/system/cpu/smt/active 2>/dev/null || echo 0)
if [ "$(nproc --all)" -ge 2 ] && [ "$smt" != 1 ]; then
  got=$(threads 0,1)
  if [ "$got" = 2 ]; then echo "ok: two CPUs allowed -> 2 threads"; else echo "FAIL: two CPUs allowed -> '$got' threads"; fail=1; fi
else
  echo "one CPU, or SMT on: the two-CPU case is not checked here"
fi
exit $fail
