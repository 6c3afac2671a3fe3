#!/usr/bin/env bash
# From a fresh Debian machine to an answer: install dependencies, build lmc, fetch the
# default model (SmolLM2-135M-Instruct Q4_1) into ~/.cache/lmc/models and ask it something.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
MODEL=$(bash scripts/get-default-model.sh)
PROMPT="${1:-Name three primary colors.}"
if ./build/lmc --help | grep -q '^  chat '; then
  echo "== lmc chat -m $MODEL -p \"$PROMPT\""
  ./build/lmc chat -m "$MODEL" -p "$PROMPT" -n 128
else
  # The forward pass has not landed yet: show what lmc knows about the model.
  ./build/lmc info --no-tensors "$MODEL"
fi
echo
echo "lmc is built at ./build/lmc; try: ./build/lmc --help"
