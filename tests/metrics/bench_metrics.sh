#!/bin/bash
# Benchmarks of the metrics area (not a test; run by hand):
#   1. lmc bleu vs the sacrebleu CLI on the WMT23 en-ru ONLINE-B output (CPU seconds);
#   2. PTB test perplexity of every smoothing at orders 2..5, trained on PTB train,
#      with the time to count + estimate, as a Markdown table.
# usage: tests/metrics/bench_metrics.sh [LMC_BIN] [SHARED_DIR]
set -eu
LMC=${1:-${LMC_BIN:-build/lmc}}
D=${2:-${LMC_SHARED_DIR:-../shared}}/data
W=$D/bleu/wmt23_en-ru
cpu() { # CPU seconds (user+sys) of a command, its output discarded
    /usr/bin/time -f "%U %S" -o /tmp/lmc_bench_time "$@" >/dev/null 2>&1
    awk '{printf "%.2f", $1+$2}' /tmp/lmc_bench_time
}
echo "## BLEU: WMT23 en-ru ONLINE-B, 2074 segments (CPU seconds, best of 3)"
best() { local b=999; for _ in 1 2 3; do t=$(cpu "$@"); b=$(echo "$t $b" | awk '{print ($1<$2)?$1:$2}'); done; echo "$b"; }
echo "| tool | BLEU | BLEU + chrF |"
echo "|---|---|---|"
echo "| lmc bleu | $(best "$LMC" bleu "$W/hyp.ONLINE-B.ru" "$W/ref.ru") | $(best "$LMC" bleu --chrf "$W/hyp.ONLINE-B.ru" "$W/ref.ru") |"
if command -v sacrebleu >/dev/null; then
    echo "| sacrebleu $(sacrebleu --version 2>/dev/null | awk '{print $NF}') | $(best sacrebleu "$W/ref.ru" -i "$W/hyp.ONLINE-B.ru" -m bleu) | $(best sacrebleu "$W/ref.ru" -i "$W/hyp.ONLINE-B.ru" -m bleu chrf) |"
fi
echo
echo "## PTB test perplexity (train: ptb.train.txt.gz, 887k words; test 82k tokens incl. </s>)"
echo "| smoothing | order 2 | order 3 | order 4 | order 5 | CPU s (order 5: count + estimate + ppl) |"
echo "|---|---|---|---|---|---|"
for s in mkn kn witten-bell katz add-k; do
    row="| $s"
    for n in 2 3 4 5; do
        /usr/bin/time -f "%U %S" -o /tmp/lmc_bench_time "$LMC" ngram train --order $n --smoothing $s \
            --eval "$D/ptb/ptb.test.txt" "$D/ptb/ptb.train.txt.gz" >/tmp/lmc_bench_out 2>/dev/null
        row="$row | $(awk '/ppl=/{printf "%.1f", $4}' /tmp/lmc_bench_out)"
    done
    echo "$row | $(awk '{printf "%.2f", $1+$2}' /tmp/lmc_bench_time) |"
done
