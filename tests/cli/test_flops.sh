#!/usr/bin/env bash
# lmc flops against the published table of the course (6*N*D, PF-days) within 0.5%,
# and Chinchilla's ~20 tokens per parameter.
set -u
LMC=${LMC_BIN:?}
fail=0
# expect NAME ARGS... -- LABEL EXPECTED: the number after LABEL in the output is within 0.5%
within() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if abs(a-b)<=0.005*abs(b) else 1)" "$1" "$2"; }
field() { grep "^$1" | sed -E "s/^$1 *//" | awk '{print $1}'; }
check() {
  local name=$1 got=$2 want=$3
  if [ -n "$got" ] && within "$got" "$want"; then echo "ok: $name ($got ~ $want)"; else echo "FAIL: $name (got '$got', want $want)"; fail=1; fi
}
out=$("$LMC" flops --params 174.6e9 --tokens 300e9)
check "GPT-3 175B FLOPs" "$(echo "$out" | field 'training compute:')" 3.14e23
check "GPT-3 175B PF-days" "$(echo "$out" | grep '^training compute' | sed -E 's/.*= ([0-9.e+]+) PF-days/\1/')" 3637
echo "$out" | grep -q "PF-days" || { echo "FAIL: PF-days label"; fail=1; }
echo "$out" | grep -q "3.14e+23 FLOPs" || { echo "FAIL: 3 significant digits in scientific notation"; fail=1; }
check "BERT-Base" "$("$LMC" flops --params 109e6 --tokens 250e9 | field 'training compute:')" 1.64e20
check "GPT-3 Small" "$("$LMC" flops --params 125M --tokens 300B | field 'training compute:')" 2.25e20
out=$("$LMC" flops --budget 5.76e23)
n=$(echo "$out" | field 'compute-optimal N:'); d=$(echo "$out" | field 'compute-optimal D:')
check "Chinchilla D/N" "$(python3 -c "print($d/$n)")" 20
check "Chinchilla 6ND = C" "$(python3 -c "print(6*$n*$d)")" 5.76e23
out=$("$LMC" flops --params 1e9 --tokens 1e10 --peak-flops 1e15 --mfu 0.5 --price-per-hour 2)
echo "$out" | grep -q "wall time: *33.3 h" || { echo "FAIL: wall time"; echo "$out"; fail=1; }
echo "$out" | grep -q "cost: *66.7" || { echo "FAIL: cost"; fail=1; }
out=$("$LMC" flops --model "${LMC_SHARED_DIR:?}/models/stories260K.gguf" --tokens 1e6)
echo "$out" | grep -q "parameters N: *2.93e+05" || { echo "FAIL: params from model"; echo "$out"; fail=1; }
echo "$out" | grep -q "attention term" || { echo "FAIL: attention term from model shape"; fail=1; }
"$LMC" flops --params abc --tokens 1 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: bad number"; fail=1; }
"$LMC" flops --params 1e9 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: missing tokens"; fail=1; }
"$LMC" flops --mfu 2 --params 1 --tokens 1 2>/dev/null; [ $? -eq 2 ] || { echo "FAIL: mfu range"; fail=1; }
exit $fail
