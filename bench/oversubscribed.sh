#!/bin/sh
# oversubscribed.sh — generation speed when several processes share the CPUs: K copies of
# `lmc bench -p 0 -n N -t T` at once (e.g. 2 processes x 2 threads on 2 cores), against
# one alone and against one with T/K threads alone; with LLAMA_BIN_DIR, llama-bench the
# same way in the same run.
# usage: bench/oversubscribed.sh [-k 2] [-t 2] [-n 64] [-r 5] MODEL [LLAMA_BIN_DIR]
# Prints one line per case: the tokens/s of each process and their sum.
set -eu

K=2 T=2 N=64 R=5
while [ $# -gt 0 ]; do
    case "$1" in
    -k) K=$2; shift 2 ;;
    -t) T=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    -*) echo "oversubscribed.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ $# -lt 1 ]; then
    echo "usage: bench/oversubscribed.sh [-k N] [-t N] [-n N] [-r N] MODEL [LLAMA_BIN_DIR]" >&2
    exit 2
fi
MODEL=$1
LLAMA_DIR=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${LMC:-}" ]; then
    if command -v lmc >/dev/null 2>&1; then LMC=$(command -v lmc)
    elif [ -x "$here/../build/lmc" ]; then LMC=$here/../build/lmc
    else echo "oversubscribed.sh: set LMC to the lmc binary" >&2; exit 2; fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# t/s of one run's output: lmc's "lmc bench: tg64 t2: 391.34 ± 2.81 t/s", or llama-bench's
# csv (avg_ts is the second-to-last column of its tg row)
lmc_ts() { sed -n 's/^lmc bench: tg[0-9]* t[0-9]*: \([0-9.]*\) .*/\1/p' "$1"; }
llama_ts() { awk -F, 'NR > 1 { gsub(/"/, ""); print $(NF - 1) }' "$1"; }

# case ENGINE PROCS THREADS: PROCS copies at once, then the line
run_case() {
    engine=$1 procs=$2 threads=$3 i=0
    while [ $i -lt "$procs" ]; do
        if [ "$engine" = lmc ]; then
            "$LMC" bench -m "$MODEL" -p 0 -n "$N" -t "$threads" -r "$R" >"$tmp/$i" 2>&1 &
        else
            "$LLAMA_DIR/llama-bench" -m "$MODEL" -p 0 -n "$N" -t "$threads" -r "$R" -o csv >"$tmp/$i" 2>/dev/null &
        fi
        i=$((i + 1))
    done
    wait
    all= sum=0 i=0
    while [ $i -lt "$procs" ]; do
        if [ "$engine" = lmc ]; then v=$(lmc_ts "$tmp/$i"); else v=$(llama_ts "$tmp/$i"); fi
        [ -n "$v" ] || { echo "oversubscribed.sh: $engine run $i printed no speed:" >&2; cat "$tmp/$i" >&2; exit 1; }
        all="$all $v"
        sum=$(awk -v a="$sum" -v b="$v" 'BEGIN { printf "%.2f", a + b }')
        i=$((i + 1))
    done
    printf '%-11s %d process(es) x %d thread(s): tg%s t/s:%s  (sum %s)\n' "$engine" "$procs" "$threads" "$N" "$all" "$sum"
}

one=$((T / K)); [ "$one" -ge 1 ] || one=1
for engine in lmc ${LLAMA_DIR:+llama-bench}; do
    run_case "$engine" 1 "$T"
    run_case "$engine" 1 "$one"
    run_case "$engine" "$K" "$T"
done
