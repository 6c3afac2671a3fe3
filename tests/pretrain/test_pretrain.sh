#!/usr/bin/env bash
# Pretraining end to end on tiny settings: data prepare -> train -> a GGUF that
# `lmc run` loads; a run killed with SIGKILL at a random step and resumed gives the
# same loss at every step as one that never stopped (with dropout and 2 threads: masks
# and the batch split are functions of seed, step and thread count, not of history); bad input gives clear errors and
# overwrites nothing.
set -u
L="$LMC_BIN"
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fail=0
die() { echo "FAIL: $*"; fail=1; }

head -c 60000 "$LMC_SHARED_DIR/data/tinyshakespeare/input.txt" > "$D/corpus.txt"
"$L" data prepare --tokenizer char --out "$D/data" "$D/corpus.txt" 2> "$D/prep.err" || die "data prepare: $(cat "$D/prep.err")"
grep -q "vocabulary of" "$D/prep.err" || die "data prepare printed no summary"

ARGS=(--data "$D/data" --arch gpt2 --layers 2 --heads 2 --dim 32 --ctx 16 --batch 4 --steps 150 --lr 3e-3
      --warmup 5 --eval-interval 50 --ckpt-interval 1 --seed 7 --dropout 0.1 -t 2)
t0=$(date +%s%N)
"$L" train "${ARGS[@]}" --out "$D/a.gguf" 2> "$D/a.err" || die "train: $(tail -3 "$D/a.err")"
run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -s "$D/a.gguf.losses.tsv" ] || die "no loss log"
[ -s "$D/a.gguf.loss.svg" ] && grep -q "<svg" "$D/a.gguf.loss.svg" || die "no loss curve SVG"
first=$(head -1 "$D/a.gguf.losses.tsv" | cut -f2); last=$(tail -1 "$D/a.gguf.losses.tsv" | cut -f2)
awk -v f="$first" -v l="$last" 'BEGIN { exit !(l < f - 0.5) }' || die "loss did not fall ($first -> $last)"
"$L" run -m "$D/a.gguf" -p "ROMEO:" -n 20 --temp 0 > "$D/run.out" 2> "$D/run.err" || die "lmc run on the trained model: $(cat "$D/run.err")"
[ -s "$D/run.out" ] || die "lmc run wrote nothing"
# 200 characters through a 16-token context: no character may end the text (a char vocab
# has no end-of-text token) and the full context is cropped rather than the run stopped
"$L" run -m "$D/a.gguf" -p "ROMEO:" -n 200 --temp 0.8 --seed 1 > "$D/long.out" 2> "$D/long.err" || die "lmc run -n 200: $(cat "$D/long.err")"
nch=$(wc -m < "$D/long.out")
[ "$nch" -ge 199 ] || die "lmc run stopped after $nch of 200 characters: $(cat "$D/long.err")"
grep -q "filled" "$D/long.err" || die "lmc run reported no context shift: $(cat "$D/long.err")"

# SIGKILL at a random step, then resume. The run takes a few hundred ms, so on a loaded
# machine it can finish before the kill (or be killed before its first checkpoint): then
# it is tried again, killed between 20 % and 50 % (at most 5 tries), rather than passing
# vacuously.
for try in 1 2 3 4 5; do
  rm -f "$D"/b.gguf*
  "$L" train "${ARGS[@]}" --out "$D/b.gguf" 2> "$D/b.err" &
  pid=$!
  # a random moment between 20 % and 80 % of the uninterrupted run's time (50 % on retries)
  kill_ms=$(( run_ms * (20 + RANDOM % (try == 1 ? 61 : 31)) / 100 ))
  sleep "$(awk -v m="$kill_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
  kill -9 $pid 2>/dev/null
  wait $pid 2>/dev/null
  [ ! -f "$D/b.gguf.losses.tsv" ] && [ -f "$D/b.gguf.ckpt" ] && break
  echo "note: try $try killed at $kill_ms ms of a $run_ms ms run hit no step in between; trying again"
done
[ -f "$D/b.gguf.losses.tsv" ] && die "the run finished before the kill in 5 tries (run $run_ms ms): test is vacuous"
[ -f "$D/b.gguf.ckpt" ] || die "no checkpoint before the kill"
ls "$D" | grep -q "\.tmp$" && echo "note: a temporary file was left by the kill (the checkpoint itself is intact)"
"$L" train "${ARGS[@]}" --out "$D/b.gguf" --resume "$D/b.gguf.ckpt" 2> "$D/b2.err" || die "resume: $(tail -3 "$D/b2.err")"
if cmp -s "$D/a.gguf.losses.tsv" "$D/b.gguf.losses.tsv"; then
  echo "ok: killed at $kill_ms ms of a $run_ms ms run and resumed: all $(wc -l < "$D/a.gguf.losses.tsv") step losses identical"
else
  die "losses after kill + resume differ:"; diff "$D/a.gguf.losses.tsv" "$D/b.gguf.losses.tsv" | head -5
fi

# bad input: clear errors, nothing overwritten
: > "$D/empty.txt"
"$L" data prepare --tokenizer char --out "$D/e" "$D/empty.txt" 2> "$D/e.err" && die "empty corpus accepted"
grep -q "empty" "$D/e.err" || die "empty corpus: unclear error: $(cat "$D/e.err")"
"$L" data prepare --tokenizer nosuch.gguf --out "$D/e" "$D/corpus.txt" 2> "$D/e.err" && die "unknown tokenizer accepted"
grep -qi "nosuch.gguf" "$D/e.err" || die "unknown tokenizer: unclear error: $(cat "$D/e.err")"
"$L" train --data "$D/data" --out "$D/c.gguf" --ctx 100000 --dim 32 --heads 2 --layers 1 --steps 2 2> "$D/e.err" \
  && die "context longer than the data accepted"
grep -q "too few" "$D/e.err" || die "long context: unclear error: $(cat "$D/e.err")"
cp "$D/a.gguf.ckpt" "$D/keep.ckpt"
"$L" train "${ARGS[@]}" --dim 64 --out "$D/a.gguf" --resume "$D/a.gguf.ckpt" 2> "$D/e.err" && die "checkpoint of another shape accepted"
grep -q "another model" "$D/e.err" || die "shape mismatch: unclear error: $(cat "$D/e.err")"
cmp -s "$D/keep.ckpt" "$D/a.gguf.ckpt" || die "a refused resume changed the checkpoint"
# a full disk (here: a file-size limit) while checkpointing keeps the previous checkpoint
cp "$D/a.gguf.ckpt" "$D/keep.ckpt"
( trap '' XFSZ; ulimit -f 64; exec "$L" train "${ARGS[@]/150/155}" --out "$D/a.gguf" --resume "$D/a.gguf.ckpt" ) 2> "$D/e.err" \
  && die "checkpointing past the file-size limit succeeded?"
grep -qi "write\|error" "$D/e.err" || die "full disk: unclear error: $(cat "$D/e.err")"
cmp -s "$D/keep.ckpt" "$D/a.gguf.ckpt" || die "a failed checkpoint write damaged the previous checkpoint"
"$L" train "${ARGS[@]}" --out "$D/a.gguf" --resume "$D/a.gguf.ckpt" 2> /dev/null || die "the kept checkpoint does not resume"
"$L" train "${ARGS[@]}" --dropout 1.5 --out "$D/d.gguf" 2> /dev/null && die "dropout 1.5 accepted"
# dropout is applied: the same run without it has other training losses
"$L" train "${ARGS[@]}" --dropout 0 --steps 3 --out "$D/n.gguf" 2> /dev/null || die "train --dropout 0"
cmp -s <(head -3 "$D/a.gguf.losses.tsv" | cut -f2) <(head -3 "$D/n.gguf.losses.tsv" | cut -f2) &&
  die "--dropout 0.1 gave the same losses as --dropout 0"
exit $fail
