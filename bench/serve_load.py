#!/usr/bin/env python3
"""Steady streaming load on an OpenAI-compatible server: lmc serve and/or llama-server.

N clients stream chat completions back to back (same prompts in the same order for every
server, greedy by default, same max_tokens; client starts spread over the warm-up). After a warm-up (load on, nothing counted)
the measured window reports: errors, p50/p99 time to first token (request sent -> first
content chunk), p50/p99 inter-token latency (gaps between content chunks of one stream),
aggregate tokens/s (content chunks that arrived inside the window), and the server's RSS
and open fds sampled over the whole run.

Either start the servers here (one after the other, same settings, ratio table at the end):
  python3 bench/serve_load.py --lmc build/lmc --llama-server /work/llama.cpp/build/bin/llama-server \\
      -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf --clients 32 --seconds 60
  (lmc serve --parallel N -c CTX -t T; llama-server -c N*CTX --parallel N -t T -tb T: the same
   context per slot, N = --clients unless --parallel is given)
or load a running server:
  python3 bench/serve_load.py --port 8080 --pid $(pidof lmc) --clients 32 --seconds 60

Standard library only (asyncio streams, raw HTTP/1.1). The churn test is bench/serve_churn.py.
"""
import argparse, asyncio, json, os, signal, subprocess, sys, time, urllib.request

from procutil import free_port, rss_fds

PROMPTS = ["Tell me a story about a dragon.", "What is the capital of France? Explain its history.",
           "Write a poem about the sea.", "Explain how a CPU cache works.",
           "List ten fruits and describe each.", "Why is the sky blue?",
           "Describe a walk through a forest in autumn.", "How do airplanes stay in the air?"]


def pct(xs, p):
    return round(sorted(xs)[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000, 1) if xs else None


async def until(coro, t_end):
    """coro, cancelled at t_end (asyncio.TimeoutError)."""
    left = t_end - time.perf_counter()
    if left <= 0:
        coro.close()
        raise asyncio.TimeoutError
    return await asyncio.wait_for(coro, timeout=left + 0.01)


async def body_lines(r, chunked, t_end):
    """The body's lines until t_end, chunked transfer encoding undone (a chunk may end
    mid-line: both servers cut their SSE output into chunks by size)."""
    read = lambda coro: until(coro, t_end)
    if not chunked:
        while line := await read(r.readline()):
            yield line
        return
    buf = b""
    while True:
        size = await read(r.readline())
        if not size or int(size.split(b";")[0], 16) == 0:
            return
        buf += (await read(r.readexactly(int(size.split(b";")[0], 16) + 2)))[:-2]
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield line


class Run:
    def __init__(self, args, port, pid):
        self.a, self.port, self.pid = args, port, pid
        self.t_start = self.t_meas = self.t_end = 0.0
        self.errors, self.done, self.tokens = 0, 0, 0
        self.ttft, self.itl, self.why, self.samples = [], [], [], []

    def measuring(self, t):
        return self.t_meas <= t <= self.t_end

    async def stream_once(self, prompt):
        a = self.a
        body = json.dumps({"model": "m", "stream": True, "max_tokens": a.max_tokens, "temperature": a.temperature,
                           "seed": 1, "messages": [{"role": "user", "content": prompt}]}).encode()
        try:
            r, w = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError as e:
            self.err(f"connect: {e!r}")
            return
        t0 = time.perf_counter()
        finished = False
        try:
            w.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            await w.drain()
            status = await until(r.readline(), self.t_end)
            if b" 200 " not in status:
                self.err(f"status {status!r}")
                return
            chunked = False
            while True:  # headers
                h = (await until(r.readline(), self.t_end)).lower()
                if h in (b"\r\n", b""):
                    break
                chunked |= h.startswith(b"transfer-encoding:") and b"chunked" in h
            last = None
            async for raw in body_lines(r, chunked, self.t_end):
                line = raw.strip()
                if not line.startswith(b"data: "):
                    continue
                if line == b"data: [DONE]":
                    finished = True
                    break
                d = json.loads(line[6:])
                if "error" in d:
                    self.err(f"stream error: {d['error']}")
                    return
                ch = d.get("choices") or [{}]
                if not ch[0].get("delta", {}).get("content"):
                    continue
                now = time.perf_counter()
                if last is None:
                    if self.measuring(t0):
                        self.ttft.append(now - t0)
                elif self.measuring(last):
                    self.itl.append(now - last)
                if self.measuring(now):
                    self.tokens += 1
                last = now
            if finished:
                if self.measuring(time.perf_counter()):
                    self.done += 1
            else:
                self.err("stream ended without [DONE]")
        except asyncio.TimeoutError:
            pass  # window over
        except Exception as e:  # noqa: BLE001 - counted, not raised
            self.err(repr(e))
        finally:
            w.close()

    def err(self, why):
        if time.perf_counter() <= self.t_end:
            self.errors += 1
            if len(self.why) < 5:
                self.why.append(why)

    async def client(self, i):
        # starts spread over the warm-up, so requests arrive at a running batch instead of
        # 32 at once in lockstep rounds; client i walks the prompt list from its own offset:
        # the same schedule on every server
        await asyncio.sleep(i * self.a.warmup / self.a.clients)
        k = i
        while time.perf_counter() < self.t_end:
            await self.stream_once(PROMPTS[k % len(PROMPTS)])
            k += 1

    async def monitor(self):
        while time.perf_counter() < self.t_end:
            rss, fds = rss_fds(self.pid) if self.pid else (None, None)
            self.samples.append((round(time.perf_counter() - self.t_start, 1), rss, fds))
            if self.pid and rss is None:  # the server is gone: a crash
                return
            await asyncio.sleep(self.a.sample)

    async def go(self):
        a = self.a
        self.t_start = time.perf_counter()
        self.t_meas = self.t_start + a.warmup
        self.t_end = self.t_meas + a.seconds
        await asyncio.gather(self.monitor(), *[self.client(i) for i in range(a.clients)])
        await asyncio.sleep(1)
        rss, fds = rss_fds(self.pid) if self.pid else (None, None)
        warm = [s for s in self.samples if s[0] >= a.warmup and s[1] is not None]
        return {
            "clients": a.clients, "warmup_s": a.warmup, "seconds": a.seconds, "max_tokens": a.max_tokens,
            "temperature": a.temperature, "requests_done": self.done, "errors": self.errors,
            "first_errors": self.why, "tokens": self.tokens, "tokens_per_s": round(self.tokens / a.seconds, 1),
            "ttft_ms_p50": pct(self.ttft, 50), "ttft_ms_p99": pct(self.ttft, 99),
            "itl_ms_p50": pct(self.itl, 50), "itl_ms_p99": pct(self.itl, 99),
            "n_ttft": len(self.ttft), "n_itl": len(self.itl),
            "rss_mib_start": self.samples[0][1] if self.samples else None,
            "rss_mib_after_warmup": warm[0][1] if warm else None,
            "rss_mib_max_measured": max((s[1] for s in warm), default=None), "rss_mib_end": rss,
            "fds_after_warmup": warm[0][2] if warm else None, "fds_end": fds,
            "rss_samples": [[s[0], s[1]] for s in self.samples], "server_alive": not self.pid or rss is not None}


def wait_health(port, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return True
        except Exception:  # noqa: BLE001 - 503 while loading, refused before listening
            pass
        time.sleep(0.2)
    return False


def start(cmd, port, log):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    if not wait_health(port, p):
        p.kill()
        sys.exit(f"{cmd[0]} did not come up (log: {log.name})")
    return p


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def run_engine(args, name, cmd, port):
    with open(f"/tmp/serve_load-{name}-{port}.log", "w") as log:
        p = start(cmd, port, log)
        try:
            res = asyncio.run(Run(args, port, p.pid).go())
        finally:
            res_rc = stop(p)
    res["exit_code"] = res_rc
    res["command"] = " ".join(cmd)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, help="a running server's port (no --lmc/--llama-server)")
    ap.add_argument("--pid", type=int, help="the running server's pid (RSS / fds)")
    ap.add_argument("--lmc", help="lmc binary: start lmc serve")
    ap.add_argument("--llama-server", help="llama-server binary: start it with the same settings")
    ap.add_argument("-m", "--model", default=os.path.expanduser("~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--parallel", type=int, help="server slots (default: --clients)")
    ap.add_argument("--ctx-per-slot", type=int, default=256)
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60, help="measured window")
    ap.add_argument("--warmup", type=float, default=10, help="load before the window, not counted")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--sample", type=float, default=5, help="RSS/fd sampling period, s")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    par = args.parallel or args.clients
    if args.lmc and par * args.ctx_per_slot > 8192:
        # lmc's default KV pool holds --parallel contexts up to 8192 tokens; beyond that
        # the two servers would not hold the same KV: size it with --kv-mem by hand
        ap.error("--parallel x --ctx-per-slot above 8192 tokens: start lmc by hand with --kv-mem")
    results = {}
    if args.lmc:
        port = free_port()
        results["lmc"] = run_engine(args, "lmc", [args.lmc, "serve", "-m", args.model, "--port", str(port),
                                                  "--parallel", str(par), "-c", str(args.ctx_per_slot),
                                                  "-t", str(args.threads)], port)
    if args.llama_server:
        port = free_port()
        results["llama.cpp"] = run_engine(args, "llama", [args.llama_server, "-m", args.model, "--host", "127.0.0.1",
                                                          "--port", str(port), "-c", str(par * args.ctx_per_slot),
                                                          "--parallel", str(par), "-t", str(args.threads),
                                                          "-tb", str(args.threads), "--no-webui"], port)
    if not results:
        if not args.port:
            ap.error("give --port (a running server) or --lmc / --llama-server")
        results["server"] = asyncio.run(Run(args, args.port, args.pid).go())
    for name, r in results.items():
        print(f"== {name}: " + json.dumps(r), flush=True)
    load = os.getloadavg()
    print("\n| engine | tokens/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms | requests | errors "
          "| RSS MiB after warm-up / max / end | fds after warm-up / end |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['tokens_per_s']} | {r['ttft_ms_p50']} | {r['ttft_ms_p99']} | {r['itl_ms_p50']} "
              f"| {r['itl_ms_p99']} | {r['requests_done']} | {r['errors']} | {r['rss_mib_after_warmup']} / "
              f"{r['rss_mib_max_measured']} / {r['rss_mib_end']} | {r['fds_after_warmup']} / {r['fds_end']} |")
    if "lmc" in results and "llama.cpp" in results:
        a, b = results["lmc"], results["llama.cpp"]
        ratio = lambda k: round(a[k] / b[k], 2) if a[k] and b[k] else None
        print("\n| lmc / llama.cpp | tokens/s | TTFT p50 | TTFT p99 | ITL p50 | ITL p99 |\n|---|---:|---:|---:|---:|---:|")
        print(f"| ratio | {ratio('tokens_per_s')} | {ratio('ttft_ms_p50')} | {ratio('ttft_ms_p99')} "
              f"| {ratio('itl_ms_p50')} | {ratio('itl_ms_p99')} |")
        print("(tokens/s: higher is better for lmc; latencies: lower is better for lmc)")
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "loadavg": load}, f, indent=1)
    bad = any(r["errors"] or not r["server_alive"] for r in results.values())
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
