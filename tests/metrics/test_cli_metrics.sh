#!/bin/bash
# `lmc bleu` and `lmc ngram` from the outside: the report formats, and bad input
# (line-count mismatch, invalid UTF-8, empty files, malformed ARPA) failing with exit
# status 1 and a message naming the file (and line).
set -u
LMC=${LMC_BIN:-lmc}
D=${LMC_SHARED_DIR:-../shared}/data
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fail=1; }

# expect_error NAME PATTERN CMD...: exit status 1 and PATTERN in stderr
expect_error() {
    local name=$1 pat=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    if [ $rc -eq 1 ] && grep -qF -- "$pat" "$T/err"; then ok "$name"; else
        bad "$name (exit $rc, stderr: $(head -c 300 "$T/err"))"; fi
}

EX=$D/bleu/sacrebleu_example
out=$("$LMC" bleu "$EX/hyp.txt" "$EX/ref.A.txt" "$EX/ref.B.txt")
want="BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)"
if [ "$(echo "$out" | head -1)" = "$want" ]; then ok "bleu report line"; else bad "bleu report line: $out"; fi
if echo "$out" | grep -qF "signature: nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:"; then ok "bleu signature"
else bad "bleu signature: $out"; fi
"$LMC" bleu "$EX/hyp.txt" "$EX/ref.A.txt" --json >"$T/j" && python3 -c "
import json,sys; j=json.load(open('$T/j'))
assert set(['score','signature','precisions','bp','sys_len','ref_len']) <= set(j), j
assert isinstance(j['score'], float) and len(j['precisions']) == 4" && ok "bleu --json keys" || bad "bleu --json keys"

printf 'one\ntwo\n' >"$T/two.txt"
printf 'one\n' >"$T/one.txt"
printf 'ok\nbad \xff\n' >"$T/utf8.txt"
: >"$T/empty.txt"
printf 'one\n\n' >"$T/blank.txt"
expect_error "bleu line counts" "$T/one.txt has 1 lines but $T/two.txt has 2" "$LMC" bleu "$T/two.txt" "$T/one.txt"
expect_error "bleu invalid UTF-8" "$T/utf8.txt:2: invalid UTF-8" "$LMC" bleu "$T/two.txt" "$T/utf8.txt"
expect_error "bleu empty file" "$T/empty.txt is empty" "$LMC" bleu "$T/empty.txt" "$T/empty.txt"
"$LMC" bleu "$T/blank.txt" "$T/two.txt" >/dev/null 2>"$T/err"
if grep -qF "$T/blank.txt:2: empty line" "$T/err"; then ok "bleu empty line warning"; else bad "bleu empty line warning"; fi
"$LMC" bleu --tokenize xyz "$T/two.txt" "$T/two.txt" 2>"$T/err"
if [ $? -eq 2 ] && grep -qF -- "--tokenize must be" "$T/err"; then ok "bleu usage error"; else bad "bleu usage error"; fi

# n-gram: train, score, generate, and bad files
head -300 "$D/ptb/ptb.test.txt" >"$T/train.txt"
"$LMC" ngram train --order 3 -o "$T/m.arpa" "$T/train.txt" 2>/dev/null && ok "ngram train" || bad "ngram train"
out=$("$LMC" ngram ppl -m "$T/m.arpa" -f "$T/train.txt")
if echo "$out" | grep -q "^file .*: 300 sentences, .* words, 0 OOVs" && echo "$out" | grep -q "^logprob= .* ppl= .* ppl1= "; then
    ok "ngram ppl report"; else bad "ngram ppl report: $out"; fi
g1=$("$LMC" ngram generate -m "$T/m.arpa" -n 40 --seed 5 2>/dev/null)
g2=$("$LMC" ngram generate -m "$T/m.arpa" -n 40 --seed 5 2>/dev/null)
if [ -n "$g1" ] && [ "$g1" = "$g2" ]; then ok "ngram generate is seeded"; else bad "ngram generate: '$g1' vs '$g2'"; fi
# n-grams of a GGUF model's tokens: every training token is known, so no OOVs, and
# the token perplexity is far below the word perplexity of the same model size
TOKM=${LMC_SHARED_DIR:-../shared}/models/stories260K.gguf
if "$LMC" ngram train --order 3 --tokenizer "$TOKM" -o "$T/t.arpa" "$T/train.txt" 2>/dev/null; then
    out=$("$LMC" ngram ppl --tokenizer "$TOKM" -m "$T/t.arpa" -f "$T/train.txt" --json)
    if python3 -c "import json,sys; j=json.loads(sys.argv[1]); assert j['sentences']==300 and j['oovs']==0 and 1<j['ppl']<50, j" "$out"
    then ok "ngram over model tokens"; else bad "ngram over model tokens: $out"; fi
    g=$("$LMC" ngram generate --tokenizer "$TOKM" -m "$T/t.arpa" -n 30 --seed 1 2>/dev/null)
    if [ -n "$g" ]; then ok "ngram generate over tokens"; else bad "ngram generate over tokens"; fi
else
    bad "ngram train --tokenizer"
fi
printf '\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-x\t</s>\n\n\\end\\\n' >"$T/bad.arpa"
expect_error "ngram malformed ARPA" "$T/bad.arpa:6: the probability is not a number" \
    "$LMC" ngram ppl -m "$T/bad.arpa" -f "$T/train.txt"
expect_error "ngram empty corpus" "empty corpus" "$LMC" ngram train --order 2 -o "$T/x.arpa" "$T/empty.txt"
expect_error "ngram invalid UTF-8" "$T/utf8.txt:2: invalid UTF-8" "$LMC" ngram train -o "$T/x.arpa" "$T/utf8.txt"
expect_error "ngram empty text" "no sentences to score" "$LMC" ngram ppl -m "$T/m.arpa" -f "$T/empty.txt"
expect_error "ngram missing corpus" "$T/nope.txt" "$LMC" ngram train -o "$T/x.arpa" "$T/nope.txt"
exit $fail
