#!/usr/bin/env bash
# Tokenizer throughput (MB/s), lmc vs llama.cpp's llama-tokenize, on the files of
# issue 4: WikiText-2 test (English) and the WMT23 en-ru Russian files concatenated,
# with the SmolLM2 vocab (byte-level BPE, pre "smollm") and ggml-vocab-llama-spm.gguf
# (SentencePiece). Not a test: numbers depend on the machine and its load.
#
# usage: scripts/bench-tokenize.sh [LMC] [LLAMA_TOKENIZE]
#   LMC             default build/lmc
#   LLAMA_TOKENIZE  default /work/llama.cpp/build/bin/llama-tokenize (skipped if absent)
# env: LMC_SHARED_DIR (default ../shared), SMOLLM2 (default ~/.cache/lmc/models/
#      SmolLM2-135M-Instruct.Q4_1.gguf; any gguf with that vocab), REPS (default 3).
#
# Both programs are timed the same way: CPU time (user+sys) of the whole process on
# the file minus that on a one-word input (which is the vocab load), best of REPS;
# MB/s = file bytes / that difference. lmc's own --stats figure (tokenizer only) is
# printed too. llama-tokenize runs with --no-parse-special (its default parses special
# tokens; lmc's does not), and "same ids" says whether both printed identical ids.
set -euo pipefail
cd "$(dirname "$0")/.."
LMC=${1:-build/lmc}
LT=${2:-/work/llama.cpp/build/bin/llama-tokenize}
SHARED=${LMC_SHARED_DIR:-../shared}
SMOL=${SMOLLM2:-$HOME/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf}
REPS=${REPS:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat "$SHARED/data/bleu/wmt23_en-ru/ref.ru" "$SHARED"/data/bleu/wmt23_en-ru/hyp.*.ru > "$tmp/ru.txt"
printf 'hello' > "$tmp/tiny.txt"
WIKI="$SHARED/data/wikitext2/wiki.test.tokens"

# cpu seconds (user + sys) of one run: cmd...
cpu_of() {
  local TIMEFORMAT='%U %S' t
  t=$( { time "$@" > /dev/null 2>&1 ; } 2>&1 )
  echo "$t" | awk '{printf "%.3f", $1 + $2}'
}
best_cpu() { # best of REPS
  local b=999999 c
  for _ in $(seq "$REPS"); do c=$(cpu_of "$@"); b=$(echo "$b $c" | awk '{print ($2<$1)?$2:$1}'); done
  echo "$b"
}
mbps() { echo "$1 $2 $3" | awk '{d=$2-$3; if (d<=0) print "n/a"; else printf "%.2f", $1/1e6/d}'; }

printf '%-28s %-10s %10s %12s %14s %14s %8s %9s\n' vocab file bytes "lmc --stats" "lmc process" "llama.cpp" ratio "same ids"
for vocab in "$SMOL" "$SHARED/ref/tokenizer/ggml-vocab-llama-spm.gguf"; do
  [ -f "$vocab" ] || { echo "missing $vocab (skipped)"; continue; }
  for f in "$WIKI" "$tmp/ru.txt"; do
    bytes=$(stat -c %s "$f")
    stats=$("$LMC" tokenize -m "$vocab" --stats --ids -f "$f" 2>&1 >/dev/null | sed -n 's/.*cpu [0-9.]* s = \([0-9.]*\) MB\/s.*/\1/p')
    l_full=$(best_cpu "$LMC" tokenize -m "$vocab" --ids -f "$f")
    l_tiny=$(best_cpu "$LMC" tokenize -m "$vocab" --ids -f "$tmp/tiny.txt")
    lmc_mb=$(mbps "$bytes" "$l_full" "$l_tiny")
    ref_mb="n/a"; ratio="n/a"; same="-"
    if [ -x "$LT" ]; then
      r_full=$(best_cpu "$LT" -m "$vocab" -f "$f" --ids --no-parse-special --log-disable)
      r_tiny=$(best_cpu "$LT" -m "$vocab" -f "$tmp/tiny.txt" --ids --no-parse-special --log-disable)
      # same ids? (llama-tokenize prints [1, 2, 3])
      "$LT" -m "$vocab" -f "$f" --ids --no-parse-special --log-disable 2>/dev/null | tr -d '[],' | tr -s ' ' | sed 's/^ //' > "$tmp/a"
      "$LMC" tokenize -m "$vocab" -f "$f" --ids > "$tmp/b"
      cmp -s "$tmp/a" "$tmp/b" && same=yes || same=NO
      ref_mb=$(mbps "$bytes" "$r_full" "$r_tiny")
      ratio=$(echo "$lmc_mb $ref_mb" | awk '{ if ($2+0>0) printf "%.2fx", $1/$2; else print "n/a"}')
    fi
    printf '%-28s %-10s %10s %12s %14s %14s %8s %9s\n' "$(basename "$vocab" | cut -c1-28)" "$(basename "$f" | cut -c1-10)" \
      "$bytes" "$stats" "$lmc_mb" "$ref_mb" "$ratio" "$same"
  done
done
[ -x "$LT" ] || echo "(llama-tokenize not found at $LT: lmc alone)"
