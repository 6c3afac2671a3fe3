#!/bin/sh
# compare.sh — lmc vs llama.cpp's llama-bench on the same models, same settings, same run.
# usage: bench/compare.sh [-p 512] [-n 128] [-t 1,2] [-r 5] [-fa auto|on|off] [--bw GB/s] LLAMA_BIN_DIR MODEL...
# -fa goes to both engines (default auto: llama-bench turns flash attention on, lmc for pp only).
# See bench/README.md. Needs python3 (standard library only) to read both JSON outputs.
set -eu

P=512 N=128 T=1,2 R=5 BW= FA=auto
while [ $# -gt 0 ]; do
    case "$1" in
    -p) P=$2; shift 2 ;;
    -n) N=$2; shift 2 ;;
    -t) T=$2; shift 2 ;;
    -r) R=$2; shift 2 ;;
    --bw) BW=$2; shift 2 ;;
    -fa) FA=$2; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    -*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "usage: bench/compare.sh [-p N] [-n N] [-t LIST] [-r N] [-fa auto|on|off] [--bw GB/s] LLAMA_BIN_DIR MODEL..." >&2
    exit 2
fi
LLAMA_DIR=$1; shift
LLAMA_BENCH=$LLAMA_DIR/llama-bench
[ -x "$LLAMA_BENCH" ] || { echo "compare.sh: no executable $LLAMA_BENCH" >&2; exit 2; }
# The lmc binary: $LMC, else lmc on PATH, else a build next to this script.
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "${LMC:-}" ]; then
    if command -v lmc >/dev/null 2>&1; then LMC=$(command -v lmc)
    elif [ -x "$here/../build/lmc" ]; then LMC=$here/../build/lmc
    else echo "compare.sh: set LMC to the lmc binary" >&2; exit 2; fi
fi

exec python3 - "$LMC" "$LLAMA_BENCH" "$P" "$N" "$T" "$R" "$BW" "$FA" "$@" <<'PY'
import json, os, subprocess, sys

lmc, llama, p, n, t, r, bw, fa = sys.argv[1:9]
models = sys.argv[9:]

def run(cmd):
    """Runs cmd; returns (stdout, peak RSS in bytes of that process)."""
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"compare.sh: {cmd[0]} failed with status {proc.returncode}")
    return out.decode(), ru.ru_maxrss * 1024

rows = []  # (model, engine, test, threads, mean, sd, extra)
summary = []
for m in models:
    name = os.path.basename(m)
    lcmd = [lmc, "bench", "-m", m, "-p", p, "-n", n, "-t", t, "-r", r, "-fa", fa, "--json"]
    lcmd += ["--bw", bw] if bw else ["--memory"]
    lout, _ = run(lcmd)
    lj = json.loads(lout)
    lrss = lj["peak_rss_bytes"]  # measured before --memory's 256 MiB buffer
    gout, grss = run([llama, "-m", m, "-p", p, "-n", n, "-t", t, "-r", r, "-fa", fa, "-o", "json"])
    gj = json.loads(gout)
    res = {}
    for e in lj["results"]:
        res[(e["test"], e["n_threads"], "lmc")] = e
    for e in gj:
        test = f"pp{e['n_prompt']}" if e["n_gen"] == 0 else f"tg{e['n_gen']}"
        res[(test, e["n_threads"], "llama.cpp")] = e
    summary.append((name, lj, lrss, grss))
    keys = sorted({(k[0], k[1]) for k in res}, key=lambda k: (k[1], k[0]))
    for test, th in keys:
        a, b = res.get((test, th, "lmc")), res.get((test, th, "llama.cpp"))
        rows.append((name, test, th, a, b))

print("| model | test | threads | lmc t/s | llama.cpp t/s | lmc/llama.cpp | lmc weight GB/s (% of bw) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, test, th, a, b in rows:
    fa = f"{a['avg_ts']:.2f} ± {a['stddev_ts']:.2f}" if a else "-"
    fb = f"{b['avg_ts']:.2f} ± {b['stddev_ts']:.2f}" if b else "-"
    ratio = f"{a['avg_ts'] / b['avg_ts']:.2f}" if a and b else "-"
    gbs = ""
    if a and "weight_gbs" in a:
        gbs = f"{a['weight_gbs']:.2f}"
        if "bw_fraction" in a:
            gbs += f" ({100 * a['bw_fraction']:.0f}% of {a['bw_gbs']:.1f})"
    print(f"| {name} | {test} | {th} | {fa} | {fb} | {ratio} | {gbs} |")
print()
print("| model | file MiB | lmc peak RSS MiB | budget MiB (file + KV + 64) | llama-bench peak RSS MiB |")
print("| --- | ---: | ---: | ---: | ---: |")
for name, lj, lrss, grss in summary:
    fs = lj["file_size"] / 2**20
    print(f"| {name} | {fs:.1f} | {lrss / 2**20:.1f} | {fs + lj['kv_cache_bytes'] / 2**20 + 64:.1f} | {grss / 2**20:.1f} |")
load = os.getloadavg()
print(f"\nload average during the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs"
      " (numbers are low and noisy when this exceeds the CPU count)")
PY
