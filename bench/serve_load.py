#!/usr/bin/env python3
"""Load an OpenAI-compatible streaming server (lmc serve or llama-server).

  steady: N clients stream chat completions back to back for D seconds; reports errors,
          p50/p99 time to first token and inter-token latency, aggregate tokens/s
          (content chunks), and the server's RSS / open fds over time (--pid).
  churn:  N clients connect, read a random number of chunks, and drop the connection;
          reports crashes, RSS/fds over time and lmc_kv_blocks_used from /metrics.

Standard library only (asyncio streams, raw HTTP/1.1), so nothing to pip install.
  python3 bench/serve_load.py --port 8080 --pid $(pidof lmc) --clients 32 --seconds 60
  python3 bench/serve_load.py --port 8080 --pid ... --clients 64 --seconds 600 --churn
"""
import argparse, asyncio, json, os, random, statistics, time, urllib.request


def rss_fds(pid):
    if not pid:
        return None, None
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return -1, -1  # process gone: a crash


def kv_used(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("lmc_kv_blocks_used"):
                    return float(line.split()[-1])
    except Exception:
        pass
    return None


async def stream_once(args, stats, max_chunks=None):
    body = json.dumps({"model": "m", "stream": True, "max_tokens": args.max_tokens,
                       "temperature": 0.8, "messages": [
                           {"role": "user", "content": random.choice(PROMPTS)}]}).encode()
    t0 = time.perf_counter()
    try:
        r, w = await asyncio.open_connection("127.0.0.1", args.port)
    except OSError:
        stats["errors"] += 1
        return
    try:
        w.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await w.drain()
        status = await r.readline()
        if b" 200 " not in status:
            stats["errors"] += 1
            return
        last, n = None, 0
        async for raw in r:  # chunked framing lines are skipped: only data: lines matter
            line = raw.strip()
            if not line.startswith(b"data: "):
                continue
            if line == b"data: [DONE]":
                break
            d = json.loads(line[6:])
            if "error" in d:
                stats["errors"] += 1
                return
            ch = d.get("choices") or [{}]
            if not ch[0].get("delta", {}).get("content"):
                continue
            now = time.perf_counter()
            if last is None:
                stats["ttft"].append(now - t0)
            else:
                stats["itl"].append(now - last)
            last, n = now, n + 1
            stats["tokens"] += 1
            if max_chunks is not None and n >= max_chunks:
                break  # churn: drop mid-stream
        stats["done"] += 1
    except Exception as e:  # noqa: BLE001 - counted, not raised
        stats["errors"] += 1
        stats.setdefault("why", repr(e))
    finally:
        w.close()


PROMPTS = ["Tell me a story about a dragon.", "What is the capital of France? Explain its history.",
           "Write a poem about the sea.", "Explain how a CPU cache works.",
           "List ten fruits and describe each.", "Why is the sky blue?"]


async def client(args, stats, deadline):
    while time.perf_counter() < deadline:
        if args.churn:
            await stream_once(args, stats, random.randint(0, 20))
            await asyncio.sleep(random.random() * 0.5)
        else:
            await stream_once(args, stats)


async def monitor(args, deadline, samples):
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        rss, fds = rss_fds(args.pid)
        samples.append((round(time.perf_counter() - t0), rss, fds, kv_used(args.port)))
        print("t=%4ds rss=%s MiB fds=%s kv_used=%s" % samples[-1], flush=True)
        if rss == -1:
            return
        await asyncio.sleep(args.sample)


def pct(xs, p):
    return sorted(xs)[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000 if xs else float("nan")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--sample", type=float, default=10)
    ap.add_argument("--churn", action="store_true")
    args = ap.parse_args()
    stats = {"errors": 0, "done": 0, "tokens": 0, "ttft": [], "itl": []}
    samples = []
    t0 = time.perf_counter()
    deadline = t0 + args.seconds
    await asyncio.gather(monitor(args, deadline, samples),
                         *[client(args, stats, deadline) for _ in range(args.clients)])
    el = time.perf_counter() - t0
    await asyncio.sleep(2)
    rss, fds = rss_fds(args.pid)
    print(json.dumps({
        "mode": "churn" if args.churn else "steady", "clients": args.clients, "seconds": round(el, 1),
        "requests_done": stats["done"], "errors": stats["errors"], "first_error": stats.get("why"),
        "tokens": stats["tokens"], "tokens_per_s": round(stats["tokens"] / el, 1),
        "ttft_ms_p50": round(pct(stats["ttft"], 50), 1), "ttft_ms_p99": round(pct(stats["ttft"], 99), 1),
        "itl_ms_p50": round(pct(stats["itl"], 50), 1), "itl_ms_p99": round(pct(stats["itl"], 99), 1),
        "itl_ms_mean": round(statistics.mean(stats["itl"]) * 1000, 1) if stats["itl"] else None,
        "rss_mib_first_last": [samples[0][1] if samples else None, rss],
        "fds_first_last": [samples[0][2] if samples else None, fds],
        "kv_used_after": kv_used(args.port), "server_alive": rss != -1}))


if __name__ == "__main__":
    asyncio.run(main())
