#!/bin/sh
# bench/engine.sh — the serving engine's benchmarks (issue #9), same machine, same run:
#   1. aggregate generation tokens/s at 1, 4, 16, 64 concurrent sequences:
#      `lmc bench-engine --throughput` next to llama.cpp's llama-batched-bench
#   2. time to first token behind a 1000-token shared system prompt, cold vs cached
#   3. perplexity cost of a q8_0 KV cache vs f16 (wiki16k.txt, scored through the engine)
#
# usage: bench/engine.sh [MODEL] [LLAMA_BIN_DIR] [THREADS] [NPP] [NTG]
#   MODEL          default ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf
#   LLAMA_BIN_DIR  a llama.cpp build's bin/ (b10573) with llama-batched-bench;
#                  default /work/llama.cpp/build/bin; skipped when absent
#   env LMC        the lmc binary (default build/lmc); LMC_SHARED_DIR for wiki16k.txt;
#       REPS       lmc's runs per concurrency level, mean ± sd (default 3; llama-batched-bench
#                  has no repetitions and runs once)
set -eu
MODEL=${1:-$HOME/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf}
LLAMA=${2:-/work/llama.cpp/build/bin}
T=${3:-2}
NPP=${4:-128}
NTG=${5:-128}
LMC=${LMC:-build/lmc}
SHARED=${LMC_SHARED_DIR:-../shared}
NPL=1,4,16,64

REPS=${REPS:-3}
echo "== lmc bench-engine --throughput (threads $T, pp $NPP, tg $NTG, $REPS runs each)"
"$LMC" bench-engine -m "$MODEL" --throughput -npp "$NPP" -ntg "$NTG" -npl $NPL -t "$T" -r "$REPS"
if [ -x "$LLAMA/llama-batched-bench" ]; then
  echo
  echo "== llama-batched-bench (threads $T, pp $NPP, tg $NTG)"
  "$LLAMA/llama-batched-bench" -m "$MODEL" -c $((64 * (NPP + NTG) + 64)) -b 2048 -ub 512 \
    -npp "$NPP" -ntg "$NTG" -npl $NPL -t "$T" 2>/dev/null | grep '^|'
fi
echo
echo "== time to first token, 1000-token shared system prompt"
"$LMC" bench-engine -m "$MODEL" --ttft --prefix 1000 -t "$T"
if [ -f "$SHARED/ref/ppl/wiki16k.txt" ]; then
  echo
  echo "== perplexity cost of the KV type (first 8 chunks of 512)"
  for kv in f16 q8_0; do
    "$LMC" bench-engine -m "$MODEL" --ppl "$SHARED/ref/ppl/wiki16k.txt" --kv-type $kv --chunks 8 -t "$T" | tail -1
  done
fi
