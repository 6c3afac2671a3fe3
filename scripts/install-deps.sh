#!/usr/bin/env bash
# Installs what lmc needs to build and test on Debian/Ubuntu: a C toolchain, CMake,
# the libraries lmc links (PCRE2, cJSON, OpenBLAS, libcurl, OpenSSL, libmicrohttpd) and the Python
# packages that the tests use as independent references. Safe to run again.
set -euo pipefail

APT_PKGS=(build-essential cmake pkg-config git ca-certificates python3 python3-pip unzip
          libpcre2-dev libcjson-dev libopenblas-dev libcurl4-openssl-dev libssl-dev libmicrohttpd-dev
          libopenmpi-dev openmpi-bin chromium chromium-driver
          clang libclang-rt-14-dev)
PIP_PKGS=(gguf numpy sacrebleu kenlm tokenizers jinja2 safetensors openai selenium)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=python3
need_pip=()
for p in "${PIP_PKGS[@]}"; do
  $PY -c "import $p" 2>/dev/null || need_pip+=("$p")
done
if [ ${#need_pip[@]} -gt 0 ]; then
  echo "== installing Python packages (test references only): ${need_pip[*]}"
  # Debian's own python3 refuses system-wide pip installs (PEP 668); the flag is
  # only passed where pip knows it.
  extra=()
  if $PY -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
    extra+=(--break-system-packages)
  fi
  $PY -m pip install -q "${extra[@]}" "${need_pip[@]}"
fi
