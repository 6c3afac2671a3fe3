#!/usr/bin/env bash
# Data-parallel training over MPI on loopback: `mpirun -np 2 lmc train` with
# --grad-accum 1 has the global batch of one process with --grad-accum 2, so the two
# loss sequences must agree within 1e-5 (relative) over 50 steps. Then one rank is
# killed mid-run: the job stops with an error, and --resume from the last checkpoint
# finishes it.
set -u
L="$LMC_BIN"
MPIRUN="$1"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail=0
die() { echo "FAIL: $*"; fail=1; }
head -c 100000 "$LMC_SHARED_DIR/data/tinyshakespeare/input.txt" > "$D/c.txt"
"$L" data prepare --tokenizer char --out "$D/data" "$D/c.txt" 2>/dev/null || die "data prepare"
A=(--data "$D/data" --arch gpt2 --layers 2 --heads 2 --dim 32 --ctx 16 --batch 4 --steps 50 --lr 3e-3
   --eval-interval 25 --ckpt-interval 5 --seed 3)
"$L" train "${A[@]}" --grad-accum 2 --out "$D/one.gguf" 2> "$D/one.err" || die "1 rank: $(tail -2 "$D/one.err")"
"$MPIRUN" -np 2 --oversubscribe "$L" train "${A[@]}" --grad-accum 1 --out "$D/two.gguf" > "$D/two.out" 2> "$D/two.err" \
  || die "2 ranks: $(tail -5 "$D/two.err")"
grep "all-reduce" "$D/two.err"
paste "$D/one.gguf.losses.tsv" "$D/two.gguf.losses.tsv" > "$D/both.tsv"
awk '{ d = $2 - $4; if (d < 0) d = -d; r = d / $2; if (r > m) m = r } END { printf "2 ranks vs 1 rank: %d steps, max relative loss difference %.3g\n", NR, m; exit !(NR == 50 && m < 1e-5) }' \
  "$D/both.tsv" || die "loss sequences differ beyond 1e-5"

# kill one rank: the job must stop (not hang) with a message, and resume must finish
A2=("${A[@]/50/400}")
"$MPIRUN" -np 2 --oversubscribe "$L" train "${A2[@]}" --grad-accum 1 --out "$D/k.gguf" > "$D/k.out" 2> "$D/k.err" &
mp=$!
for _ in $(seq 1 200); do [ -f "$D/k.gguf.ckpt" ] && break; sleep 0.05; done
victim=$(pgrep -f "lmc train .*--out $D/k.gguf" | while read p; do [ "$(ps -o comm= -p "$p")" = "lmc" ] && echo "$p"; done | tail -1)
[ -n "$victim" ] && kill -9 "$victim" || die "no rank to kill"
for _ in $(seq 1 300); do kill -0 $mp 2>/dev/null || break; sleep 0.1; done
if kill -0 $mp 2>/dev/null; then die "the job hung after a rank died"; kill -9 $mp; fi
wait $mp && die "the job reported success after a rank was killed"
echo "after killing a rank: $(grep -v '^\s*$' "$D/k.err" | grep -i -m1 -E 'signal|killed|exited|abort|error')"
[ -f "$D/k.gguf.ckpt" ] || die "no checkpoint to resume from"
"$MPIRUN" -np 2 --oversubscribe "$L" train "${A2[@]}" --grad-accum 1 --out "$D/k.gguf" --resume "$D/k.gguf.ckpt" \
  > /dev/null 2> "$D/k2.err" || die "resume after the kill: $(tail -3 "$D/k2.err")"
[ "$(wc -l < "$D/k.gguf.losses.tsv")" = 400 ] || die "the resumed run did not reach 400 steps"
exit $fail
