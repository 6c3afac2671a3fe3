#!/usr/bin/env bash
# lmc tokenize / lmc detokenize: output formats, --no-bos, --special, empty text,
# round trips through a pipe, and clear errors. Expected ids come from references:
# ref/README.md ("Once upon a time" -> [1, 403, 407, 261, 378] with stories260K) and
# the first line of ref/tokenizer/ggml-vocab-gpt-2.gguf.out (Hugging Face's ids).
set -u
LMC=${LMC_BIN:?}; SHARED=${LMC_SHARED_DIR:?}
ST="$SHARED/models/stories260K.gguf"
GPT2="$SHARED/ref/tokenizer/ggml-vocab-gpt-2.gguf"
SPM="$SHARED/ref/tokenizer/ggml-vocab-llama-spm.gguf"
STAR="$SHARED/ref/tokenizer/ggml-vocab-starcoder.gguf"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

out=$("$LMC" tokenize -m "$ST" --ids "Once upon a time")
check "--ids adds BOS (SentencePiece)" '[ "$out" = "1 403 407 261 378" ]'
out=$("$LMC" tokenize -m "$ST" --ids --no-bos "Once upon a time")
check "--no-bos adds nothing" '[ "$out" = "403 407 261 378" ]'
out=$("$LMC" tokenize -m "$ST" --ids "")
check "empty text with BOS" '[ "$out" = "1" ]'
"$LMC" tokenize -m "$ST" --ids --no-bos "" > "$tmp/e"
check "empty text prints an empty line" '[ $? -eq 0 ] && [ "$(od -An -c "$tmp/e" | tr -d " ")" = "\n" ]'
"$LMC" tokenize -m "$GPT2" "" > "$tmp/e2"
check "empty text, default format" '[ $? -eq 0 ] && [ "$(wc -c < "$tmp/e2")" -eq 1 ]'

first_inp=$(python3 -c "import sys; print(open(sys.argv[1],'rb').read().split(b'\n__ggml_vocab_test__\n')[0].decode(), end='')" "$SHARED/ref/tokenizer/ggml-vocab-gpt-2.gguf.inp" 2>/dev/null || printf 'ied 4 \xc2\xbd months')
want=$(head -1 "$SHARED/ref/tokenizer/ggml-vocab-gpt-2.gguf.out" | sed 's/^ //')
out=$("$LMC" tokenize -m "$GPT2" --ids "$first_inp")
check "gpt-2 ids match Hugging Face" '[ "$out" = "$want" ]'

out=$("$LMC" tokenize -m "$ST" "Once upon")
check "default format: id -> 'piece'" '[ "$(echo "$out" | head -2 | tail -1 | tr -s " ")" = " 403 -> '"'"' Once'"'"'" ]'
out=$("$LMC" tokenize -m "$ST" --pieces --no-bos "Once upon")
check "--pieces" '[ "$out" = "$(printf " Once\n upon")" ]'

out=$("$LMC" tokenize -m "$STAR" --ids --special "<fim_prefix>")
check "--special parses special-token text" '[ "$out" = "1" ]'
out=$("$LMC" tokenize -m "$STAR" --ids "<fim_prefix>")
check "without --special it is plain text" '[ "$out" != "1" ] && [ -n "$out" ]'

out=$("$LMC" detokenize -m "$ST" 1 403 407 261 378)
check "detokenize ids as arguments" '[ "$out" = "Once upon a time" ]'
out=$("$LMC" detokenize -m "$ST" "[1, 403, 407, 261, 378]")
check "detokenize a bracketed list" '[ "$out" = "Once upon a time" ]'
out=$("$LMC" detokenize -m "$ST" --special 1 403 407 261 378 2)
check "detokenize --special shows BOS/EOS" '[ "$out" = "<s>Once upon a time</s>" ]'

text='Привет, мир! 你好 🍕  tabs	and
newlines — ünïcödé'
printf '%s' "$text" > "$tmp/t.txt"
for m in "$SPM" "$GPT2" "$STAR" "$ST"; do
  "$LMC" tokenize -m "$m" --ids -f "$tmp/t.txt" | "$LMC" detokenize -m "$m" -n > "$tmp/back"
  check "round trip through a pipe ($(basename "$m"))" 'cmp -s "$tmp/t.txt" "$tmp/back"'
done
"$LMC" tokenize -m "$GPT2" --ids -f - < "$tmp/t.txt" > "$tmp/ids_stdin"
"$LMC" tokenize -m "$GPT2" --ids -f "$tmp/t.txt" > "$tmp/ids_file"
check "-f - reads standard input" 'cmp -s "$tmp/ids_stdin" "$tmp/ids_file"'

"$LMC" tokenize -m "$GPT2" --stats --ids "hello" > /dev/null 2> "$tmp/err"
check "--stats prints MB/s" 'grep -q "MB/s" "$tmp/err"'

"$LMC" tokenize -m "$GPT2" "$(printf 'bad \xff byte')" > /dev/null 2> "$tmp/err"
check "invalid UTF-8 is a clear error" '[ $? -eq 1 ] && grep -q "UTF-8" "$tmp/err" && [ $(wc -l < "$tmp/err") -eq 1 ]'
"$LMC" detokenize -m "$ST" 1 99999 > /dev/null 2> "$tmp/err"
check "out-of-range id is a clear error" '[ $? -eq 1 ] && grep -q "out of range" "$tmp/err"'
"$LMC" detokenize -m "$ST" 1 x2 > /dev/null 2> "$tmp/err"
check "non-number id is a usage error" '[ $? -eq 2 ]'
"$LMC" tokenize -m "$ST" --bogus "x" > /dev/null 2> "$tmp/err"
check "unknown option is a usage error" '[ $? -eq 2 ]'
"$LMC" tokenize --ids "x" > /dev/null 2> "$tmp/err"
check "missing model is a usage error" '[ $? -eq 2 ]'
"$LMC" tokenize -m "$tmp/nope.gguf" "x" > /dev/null 2> "$tmp/err"
check "missing file is an error" '[ $? -eq 1 ]'
"$LMC" tokenize --list-pre > "$tmp/pre"
check "--list-pre lists smollm and llama-bpe" 'grep -qx smollm "$tmp/pre" && grep -qx llama-bpe "$tmp/pre"'
exit $fail
