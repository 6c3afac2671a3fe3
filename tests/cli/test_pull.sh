#!/usr/bin/env bash
# lmc pull: download over file://, checksum verification, resume of a partial download,
# and clear errors for bad URLs. The reference checksum is the one in models/SOURCES.md.
set -u
LMC=${LMC_BIN:?}; SHARED=${LMC_SHARED_DIR:?}
SRC="$SHARED/models/stories260K.gguf"
SHA=270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fail=1; fi; }

"$LMC" pull -o "$tmp/a.gguf" --sha256 $SHA "file://$SRC" >"$tmp/out" 2>"$tmp/err"
check "download succeeds" '[ $? -eq 0 ] && cmp -s "$SRC" "$tmp/a.gguf"'
check "prints the path" 'grep -qx "$tmp/a.gguf" "$tmp/out"'

# Resume: a .part holding the first 300000 bytes is completed, not restarted.
head -c 300000 "$SRC" > "$tmp/b.gguf.part"
"$LMC" pull -o "$tmp/b.gguf" --sha256 $SHA "file://$SRC" >/dev/null 2>&1
check "resume completes the file" '[ $? -eq 0 ] && cmp -s "$SRC" "$tmp/b.gguf" && [ ! -e "$tmp/b.gguf.part" ]'

# Wrong checksum: error, nothing left under the final name.
"$LMC" pull -o "$tmp/c.gguf" --sha256 ${SHA/2/3} "file://$SRC" >/dev/null 2>"$tmp/err"
check "bad checksum fails" '[ $? -ne 0 ] && [ ! -e "$tmp/c.gguf" ] && grep -q "sha256" "$tmp/err"'

# Cache folder default comes from LMC_CACHE_DIR.
LMC_CACHE_DIR="$tmp/cache" "$LMC" pull "file://$SRC" >"$tmp/out" 2>/dev/null
check "default destination is the cache" '[ $? -eq 0 ] && cmp -s "$SRC" "$tmp/cache/models/stories260K.gguf"'

"$LMC" pull "not a url" >/dev/null 2>"$tmp/err"
check "non-URL is a clear error" '[ $? -ne 0 ] && [ $(wc -l < "$tmp/err") -eq 1 ] && grep -q "not a URL" "$tmp/err"'
"$LMC" pull -o "$tmp/d.gguf" "file://$tmp/does-not-exist.gguf" >/dev/null 2>"$tmp/err"
check "missing source is a clear error" '[ $? -ne 0 ] && [ ! -e "$tmp/d.gguf" ] && [ $(wc -l < "$tmp/err") -eq 1 ]'
"$LMC" pull --sha256 >/dev/null 2>"$tmp/err"
check "missing option value" '[ $? -eq 2 ] && grep -q "needs a value" "$tmp/err"'
exit $fail
