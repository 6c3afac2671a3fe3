#!/usr/bin/env python3
"""Churn an lmc server: N clients connect, stream a little and disconnect at random.

Each client loops over a random mix of: streaming chat/completions read to the end, streams
dropped after a random number of chunks (0 = right after the status line), requests
dropped before any answer, half-sent bodies, non-streaming requests (some abandoned),
n > 1, logprobs, echo, stop strings, bad requests (malformed JSON, bad fields, context too long,
unknown paths, wrong methods, oversized bodies) and the small endpoints. Meanwhile the
server's VmRSS and open fds are sampled. At the end it checks:

  * the server never died, answered no 5xx, and every 4xx was the expected one;
  * /metrics: lmc_kv_blocks_used, lmc_sequences_running, lmc_queue_length and
    lmc_requests_in_flight return to 0, and used + free blocks equal the pool at start;
  * open fds when idle after the run == when idle before it;
  * RSS: the highest sample of the last minute minus the highest of the minute after the
    warm-up stays under --rss-tol MiB (the warm-up is max(60 s, 20 % of the run));
  * a greedy request gives the same text before and after (no KV state left behind);
  * a server this script started exits 0 on SIGTERM (under ASan: no leak report).

Exits 1 on any failure. Standard library only.
  python3 bench/serve_churn.py --seconds 600 --clients 64 \\
      --cmd 'build/lmc serve -m ~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf --port {port} -t 2'
  python3 bench/serve_churn.py --seconds 60 --url http://127.0.0.1:8080 --pid $(pidof lmc)
"""
import argparse, asyncio, json, os, random, shlex, signal, subprocess, sys, time, urllib.error
import urllib.request

from procutil import free_port, rss_fds

PROMPTS = ["Tell me a story about a dragon.", "What is the capital of France?", "Write a poem about the sea.",
           "Explain how a CPU cache works.", "List ten fruits.", "Why is the sky blue?", "Hi", "Count to twenty.",
           "Translate 'good morning' to French and German.", "What is 17 times 23?"]


class Churn:
    def __init__(self, a, host, port, pid, proc):
        self.a, self.host, self.port, self.pid, self.proc = a, host, port, pid, proc
        self.count = {}          # action -> completed
        self.fail = []           # failure messages (first few kept)
        self.n_fail = 0
        self.busy = 0            # 503 server_busy: back-pressure, allowed
        self.samples = []        # (t, rss MiB, fds)
        self.dead = False
        self.rng = random.Random(a.seed)

    def bad(self, msg):
        self.n_fail += 1
        if len(self.fail) < 20:
            self.fail.append(msg)
            print("FAIL:", msg, flush=True)

    # ---- raw HTTP ----
    async def send(self, method, path, body=b"", ctype=b"application/json", clen=None, extra=b""):
        r, w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 10)
        clen = len(body) if clen is None else clen
        w.write(b"%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n"
                % (method.encode(), path.encode(), ctype, clen, extra) + body)
        await w.drain()
        return r, w

    async def status(self, r):
        line = await asyncio.wait_for(r.readline(), self.a.timeout)
        if not line:
            raise ConnectionError("closed before the status line")
        code = int(line.split()[1])
        r.chunked = False  # kept on the reader: clients run concurrently
        while True:  # headers
            h = await asyncio.wait_for(r.readline(), self.a.timeout)
            if h in (b"\r\n", b""):
                break
            if h.lower().startswith(b"transfer-encoding:") and b"chunked" in h.lower():
                r.chunked = True
        return code

    async def sse_lines(self, r, chunked):
        """The body's lines, chunked transfer encoding undone (a chunk may end mid-line)."""
        if not chunked:
            while True:
                line = await asyncio.wait_for(r.readline(), self.a.timeout)
                if not line:
                    return
                yield line
        buf = b""
        while True:
            size = await asyncio.wait_for(r.readline(), self.a.timeout)
            if not size:
                return
            n = int(size.split(b";")[0], 16)
            if n == 0:
                return
            buf += await asyncio.wait_for(r.readexactly(n + 2), self.a.timeout)
            buf = buf[:-2]  # the CRLF after the chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                yield line + b"\n"

    async def whole(self, method, path, obj=None, raw=None):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        r, w = await self.send(method, path, body)
        try:
            code = await self.status(r)
            data = await asyncio.wait_for(r.read(), self.a.timeout)
            return code, data
        finally:
            w.close()

    def check_code(self, what, code, want):
        if code == 503:
            self.busy += 1
        elif code != want:
            self.bad(f"{what}: status {code}, expected {want}")

    # ---- actions ----
    def gen_body(self, stream, max_tokens):
        rng = self.rng
        chat = rng.random() < 0.7
        o = {"model": "m", "stream": stream, "max_tokens": max_tokens,
             "temperature": rng.choice([0, 0.7, 1.0]), "seed": rng.randrange(1 << 30)}
        if chat:
            msgs = [{"role": "user", "content": rng.choice(PROMPTS)}]
            if rng.random() < 0.3:
                msgs.insert(0, {"role": "system", "content": "You are terse."})
            o["messages"] = msgs
        else:
            o["prompt"] = rng.choice(PROMPTS)
        if rng.random() < 0.15:
            o["n"] = 2
        if rng.random() < 0.15:
            if chat:
                o["logprobs"], o["top_logprobs"] = True, rng.randrange(0, 4)
            else:
                o["logprobs"] = rng.randrange(0, 4)
        if rng.random() < 0.2:
            o["stop"] = [rng.choice(["\n", ".", "the", "a"])]
        if not chat and not stream and rng.random() < 0.2:
            o["echo"] = True  # with logprobs the prompt is scored before the generation
            o.setdefault("logprobs", rng.randrange(0, 3))
            o.pop("n", None)  # echo + logprobs takes n = 1 (400 otherwise)
        if stream and rng.random() < 0.3:
            o["stream_options"] = {"include_usage": True}
        return ("/v1/chat/completions" if chat else "/v1/completions"), o

    async def stream(self, max_chunks):
        path, o = self.gen_body(True, self.rng.randint(1, 96))
        r, w = await self.send("POST", path, json.dumps(o).encode())
        try:
            if max_chunks == -1:
                return "drop_before_status"  # close without reading anything
            code = await self.status(r)
            self.check_code("stream", code, 200)
            if code != 200 or max_chunks == 0:
                return "drop_after_status"
            n, done = 0, False
            async for line in self.sse_lines(r, r.chunked):
                if not line.startswith(b"data: "):
                    continue
                if line.strip() == b"data: [DONE]":
                    done = True
                    break
                d = json.loads(line[6:])
                if "error" in d:
                    self.bad(f"stream error event: {d}")
                    return "stream_error"
                n += 1
                if max_chunks is not None and n >= max_chunks:
                    return "drop_mid_stream"
            if not done:
                self.bad("stream ended without [DONE]")
            return "stream_full"
        finally:
            w.close()

    async def nonstream(self, abandon):
        path, o = self.gen_body(False, self.rng.randint(1, 32))
        if abandon:
            r, w = await self.send("POST", path, json.dumps(o).encode())
            await asyncio.sleep(self.rng.random() * 0.2)
            w.close()
            return "nonstream_abandoned"
        code, data = await self.whole("POST", path, o)
        self.check_code("non-streaming", code, 200)
        if code == 200:
            j = json.loads(data)
            if len(j.get("choices", [])) != o.get("n", 1):
                self.bad(f"non-streaming: {len(j.get('choices', []))} choices for n={o.get('n', 1)}")
        return "nonstream"

    async def half_body(self):
        body = json.dumps(self.gen_body(True, 8)[1]).encode()
        r, w = await self.send("POST", "/v1/chat/completions", body[:len(body) // 2], clen=len(body))
        await asyncio.sleep(self.rng.random() * 0.2)
        w.close()
        return "half_body"

    async def bad_request(self):
        rng = self.rng
        k = rng.randrange(8)
        msgs = [{"role": "user", "content": "hi"}]
        if k == 0:
            code, _ = await self.whole("POST", "/v1/chat/completions", raw=b'{"messages": [')
            self.check_code("malformed JSON", code, 400)
        elif k == 1:
            code, _ = await self.whole("POST", "/v1/chat/completions", {"messages": msgs, "temperature": "hot"})
            self.check_code("bad temperature", code, 400)
        elif k == 2:
            code, _ = await self.whole("POST", "/v1/chat/completions",
                                       {"messages": msgs, "max_tokens": 10 ** 7, "stream": rng.random() < 0.5})
            self.check_code("context too long", code, 400)
        elif k == 3:
            code, _ = await self.whole("POST", "/v1/completions", {"prompt": "x", "n": 1000})
            self.check_code("n too large", code, 400)
        elif k == 4:
            code, _ = await self.whole("GET", "/v1/nope")
            self.check_code("unknown path", code, 404)
        elif k == 5:
            code, _ = await self.whole("GET", "/v1/chat/completions")
            self.check_code("wrong method", code, 405)
        elif k == 6:  # a declared body over --max-body is refused before it is read
            code, _ = await self.whole("POST", "/v1/completions", raw=b"x" * (self.a.max_body + 1))
            self.check_code("oversized body", code, 413)
        else:
            code, _ = await self.whole("POST", "/v1/completions", {"prompt": [1, 2, 10 ** 9]})
            self.check_code("token id out of range", code, 400)
        return "bad_request"

    async def small(self):
        k = self.rng.randrange(5)
        if k == 0:
            code, _ = await self.whole("GET", "/health")
        elif k == 1:
            code, _ = await self.whole("GET", "/metrics")
        elif k == 2:
            code, _ = await self.whole("GET", "/v1/models")
        elif k == 3:
            code, _ = await self.whole("POST", "/tokenize", {"content": self.rng.choice(PROMPTS)})
        else:
            code, _ = await self.whole("POST", "/v1/embeddings", {"input": self.rng.choice(PROMPTS)})
        self.check_code("small endpoint", code, 200)
        return "small"

    async def one(self):
        x = self.rng.random()
        if x < 0.25:
            return await self.stream(None)
        if x < 0.50:
            return await self.stream(self.rng.randint(1, 20))
        if x < 0.55:
            return await self.stream(self.rng.choice([-1, 0]))
        if x < 0.70:
            return await self.nonstream(False)
        if x < 0.75:
            return await self.nonstream(True)
        if x < 0.78:
            return await self.half_body()
        if x < 0.92:
            return await self.bad_request()
        return await self.small()

    async def client(self, deadline):
        while time.monotonic() < deadline and not self.dead:
            try:
                # 10 s after the end a request still running is dropped (one more disconnect)
                what = await asyncio.wait_for(self.one(), deadline - time.monotonic() + 10)
                self.count[what] = self.count.get(what, 0) + 1
            except (ConnectionError, OSError, asyncio.TimeoutError, ValueError, IndexError) as e:
                if self.server_gone():
                    return
                if time.monotonic() >= deadline and isinstance(e, asyncio.TimeoutError):
                    self.count["cut_at_end"] = self.count.get("cut_at_end", 0) + 1
                    return
                self.bad(f"client: {e!r}")
            await asyncio.sleep(self.rng.random() * 0.3)

    def server_gone(self):
        gone = (self.proc and self.proc.poll() is not None) or (self.pid and rss_fds(self.pid)[0] is None)
        if gone and not self.dead:
            self.dead = True
            self.bad("the server died" + (f" (exit {self.proc.returncode})" if self.proc else ""))
        return gone

    async def monitor(self, t0, deadline):
        while time.monotonic() < deadline and not self.dead:
            if self.server_gone():
                return
            if self.pid:
                rss, fds = rss_fds(self.pid)
                self.samples.append((round(time.monotonic() - t0, 1), rss, fds))
                print(f"t={self.samples[-1][0]:6.1f}s rss={rss} MiB fds={fds} "
                      f"requests={sum(self.count.values())} failures={self.n_fail}", flush=True)
            await asyncio.sleep(self.a.sample)


def idle_fds(pid):
    """Open fds once the count is steady (a connection just answered may still be closing)."""
    last = None
    for _ in range(20):
        n = rss_fds(pid)[1]
        if n == last:
            return n
        last = n
        time.sleep(0.5)
    return last


def metrics(base):
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        out = {}
        for line in r.read().decode().splitlines():
            if line and not line.startswith("#") and "{" not in line:
                k, v = line.split()
                out[k] = float(v)
        return out


def greedy(base):
    body = json.dumps({"prompt": "The three primary colours are", "max_tokens": 24, "temperature": 0}).encode()
    req = urllib.request.Request(base + "/v1/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())["choices"][0]["text"]


def quiesce(base, timeout=60):
    """Waits until nothing runs; returns the last /metrics."""
    t0 = time.time()
    while True:
        m = metrics(base)
        idle = all(m.get(k, 0) == 0 for k in ("lmc_kv_blocks_used", "lmc_sequences_running", "lmc_queue_length",
                                               "lmc_requests_in_flight"))
        if idle or time.time() - t0 > timeout:
            return m
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--clients", type=int, default=64)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8080 (give --pid for RSS/fds)")
    g.add_argument("--cmd", help="command that starts the server; {port} is replaced by a free port")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--sample", type=float, default=5, help="RSS/fd sampling period, s")
    ap.add_argument("--rss-tol", type=float, default=8, help="allowed RSS growth after warm-up, MiB")
    ap.add_argument("--timeout", type=float, default=120, help="per read, s")
    ap.add_argument("--max-body", type=int, default=1 << 20, help="the server's --max-body")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--log", help="server log file (with --cmd; default /tmp/serve_churn-PORT.log)")
    a = ap.parse_args()

    proc, pid = None, a.pid
    if a.cmd:
        port = free_port()
        cmd = [os.path.expanduser(x) for x in shlex.split(a.cmd.replace("{port}", str(port)))]
        logname = a.log or f"/tmp/serve_churn-{port}.log"
        log = open(logname, "w")
        print("$ " + " ".join(cmd), f"(log: {logname})", flush=True)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        pid, host, base = proc.pid, "127.0.0.1", f"http://127.0.0.1:{port}"
        for _ in range(1200):
            if proc.poll() is not None:
                sys.exit(f"the server exited ({proc.returncode}); see {logname}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=5):
                    break
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
    else:
        base = a.url.rstrip("/")
        u = urllib.parse.urlparse(base)
        host, port = u.hostname, u.port or 80

    failures = []
    ref = greedy(base)
    m0 = quiesce(base)
    pool = m0["lmc_kv_blocks_used"] + m0["lmc_kv_blocks_free"]
    fds_idle_before = idle_fds(pid) if pid else None
    ch = Churn(a, host, port, pid, proc)
    t0 = time.monotonic()
    deadline = t0 + a.seconds

    async def run():
        await asyncio.gather(ch.monitor(t0, deadline), *[ch.client(deadline) for _ in range(a.clients)])
    asyncio.run(run())
    elapsed = time.monotonic() - t0

    summary = {"seconds": round(elapsed, 1), "clients": a.clients, "actions": ch.count,
               "requests": sum(ch.count.values()), "busy_503": ch.busy, "failures": ch.n_fail}
    if not ch.dead and not ch.server_gone():
        m1 = quiesce(base)
        after = greedy(base)
        fds_idle_after = idle_fds(pid) if pid else None
        rss_idle_after = rss_fds(pid)[0] if pid else None
        for k in ("lmc_kv_blocks_used", "lmc_sequences_running", "lmc_queue_length", "lmc_requests_in_flight"):
            if m1.get(k, 0) != 0:
                failures.append(f"{k} is {m1[k]} after the run (leak)")
        if m1["lmc_kv_blocks_used"] + m1["lmc_kv_blocks_free"] != pool:
            failures.append(f"KV blocks used + free = {m1['lmc_kv_blocks_used'] + m1['lmc_kv_blocks_free']}, "
                            f"{pool} at start")
        if after != ref:
            failures.append(f"greedy text changed: {ref!r} -> {after!r}")
        summary.update({"kv_blocks_used_after": m1["lmc_kv_blocks_used"], "kv_blocks_pool": pool,
                        "kv_blocks_cached_after": m1.get("lmc_kv_blocks_cached"),
                        "generated_tokens": m1.get("lmc_generated_tokens_total"),
                        "preemptions": m1.get("lmc_preemptions_total"), "greedy_same": after == ref})
        if pid:
            if fds_idle_after != fds_idle_before:
                failures.append(f"open fds idle: {fds_idle_before} before, {fds_idle_after} after")
            warm = max(60.0, 0.2 * a.seconds)
            first = [s[1] for s in ch.samples if warm <= s[0] < warm + 60 and s[1]]
            last = [s[1] for s in ch.samples if s[0] >= elapsed - 60 and s[1]]
            if first and last:
                growth = max(last) - max(first)
                summary.update({"rss_mib_max_minute_after_warmup": max(first), "rss_mib_max_last_minute": max(last),
                                "rss_growth_mib": growth})
                if growth > a.rss_tol:
                    failures.append(f"RSS grew {growth} MiB after the warm-up (> {a.rss_tol})")
            fd_run = [s[2] for s in ch.samples if s[2]]
            summary.update({"rss_mib_idle_after": rss_idle_after, "fds_idle_before": fds_idle_before,
                            "fds_idle_after": fds_idle_after, "fds_max_during": max(fd_run, default=None),
                            "rss_mib_samples": [[s[0], s[1]] for s in ch.samples]})
    failures = ch.fail[:10] + failures if ch.n_fail else failures
    if ch.dead:
        failures.append("the server died")
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "killed after 60 s"
        summary["exit_code"] = rc
        if rc != 0:
            failures.append(f"the server exited {rc} on SIGTERM (see its log)")
    summary["loadavg"] = os.getloadavg()
    summary["result"] = "FAIL" if failures else "ok"
    print(json.dumps(summary))
    for f in failures:
        print("FAIL:", f)
    if proc and failures:
        log.flush()
        print("---- server log tail ----\n" + "".join(open(logname, errors="replace").readlines()[-40:]))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
