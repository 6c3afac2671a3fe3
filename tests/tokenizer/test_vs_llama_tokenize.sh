#!/usr/bin/env bash
# lmc's ids vs llama.cpp's llama-tokenize (release b10573, built outside this
# repository) on 300 KB of WikiText-2 and of WMT23 Russian, for every shared vocab,
# with special-token parsing off and on. Skipped (exit 77) when llama-tokenize is not
# found: set LLAMA_TOKENIZE=/path/to/llama-tokenize.
set -u
LMC=${LMC_BIN:?}; SHARED=${LMC_SHARED_DIR:?}
LT=${LLAMA_TOKENIZE:-/work/llama.cpp/build/bin/llama-tokenize}
[ -x "$LT" ] || { echo "SKIP: llama-tokenize not found ($LT)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# whole lines only, so no UTF-8 character is cut
head -c 300000 "$SHARED/data/wikitext2/wiki.test.tokens" | sed '$d' > "$tmp/en.txt"
head -c 300000 "$SHARED/data/bleu/wmt23_en-ru/ref.ru" | sed '$d' > "$tmp/ru.txt"
fail=0
for vocab in "$SHARED"/ref/tokenizer/*.gguf "$SHARED/models/stories260K.gguf"; do
  for f in "$tmp/en.txt" "$tmp/ru.txt"; do
    for mode in plain special; do
      if [ $mode = plain ]; then lt_opt=--no-parse-special; lmc_opt=; else lt_opt=; lmc_opt=--special; fi
      "$LT" -m "$vocab" -f "$f" --ids $lt_opt --log-disable 2>/dev/null | tr -d '[],' | tr -s ' ' | sed 's/^ //' > "$tmp/a"
      "$LMC" tokenize -m "$vocab" -f "$f" --ids $lmc_opt > "$tmp/b"
      name="$(basename "$vocab") $(basename "$f") $mode"
      if [ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b"; then echo "ok: $name ($(wc -w < "$tmp/b") ids)"; else echo "FAIL: $name"; fail=1; fi
    done
  done
done
exit $fail
