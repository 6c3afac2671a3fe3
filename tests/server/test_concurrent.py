"""Many clients at once through the continuous-batching engine (stories260K, F32 KV):
32 concurrent greedy requests (mixed streaming / non-streaming, different prompts) must
each equal the same request run alone; a client that disconnects mid-stream has its
sequence cancelled and its KV blocks freed (/metrics lmc_kv_blocks_used back to 0,
lmc_requests_in_flight 0); SIGTERM with requests in flight exits 0 promptly."""
import json, socket, sys, threading, time
from srvutil import Server, Checks, STORIES, SKIP

try:
    import openai
except ImportError:
    print("skip: pip install openai")
    sys.exit(SKIP)

c = Checks()
srv = Server(STORIES, "--kv-type", "f32", "-t", "2", "--parallel", "16", "-c", "256")
try:
    cl = openai.OpenAI(base_url=srv.base + "/v1", api_key="none", max_retries=0)
    words = ["Once", "The dog", "Lily", "One day", "Tom", "The sun", "A little", "She"]
    prompts = [f"{words[i % len(words)]} {'and ' * (i % 5)}".strip() for i in range(32)]
    alone = {}
    for p in set(prompts):
        alone[p] = cl.completions.create(model="x", prompt=p, max_tokens=24, temperature=0).choices[0].text
    got = [None] * len(prompts)

    def worker(i):
        try:
            if i % 2:
                s = cl.completions.create(model="x", prompt=prompts[i], max_tokens=24, temperature=0, stream=True)
                got[i] = "".join(ch.choices[0].text for ch in s if ch.choices)
            else:
                got[i] = cl.completions.create(model="x", prompt=prompts[i], max_tokens=24, temperature=0).choices[0].text
        except Exception as e:
            got[i] = f"exception {e}"

    t0 = time.time()
    th = [threading.Thread(target=worker, args=(i,)) for i in range(len(prompts))]
    for t in th:
        t.start()
    for t in th:
        t.join()
    print(f"{len(prompts)} concurrent requests in {time.time() - t0:.2f} s")
    bad = [i for i in range(len(prompts)) if got[i] != alone[prompts[i]]]
    c.check(not bad, f"{len(bad)} concurrent results differ from running alone: " +
            "; ".join(f"{prompts[i]!r}: {got[i]!r} vs {alone[prompts[i]]!r}" for i in bad[:3]))

    # disconnect mid-stream: raw socket, read a few chunks, close
    def open_stream(max_tokens):
        s = socket.create_connection(("127.0.0.1", srv.port))
        body = json.dumps({"prompt": "Once", "max_tokens": max_tokens, "stream": True, "temperature": 1.0,
                           "seed": 3, "ignore": None} if False else
                          {"prompt": "Once", "max_tokens": max_tokens, "stream": True, "temperature": 1.0, "seed": 3})
        s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
        data = b""
        while data.count(b"data: ") < 3:
            data += s.recv(4096)
        return s

    socks = [open_stream(250) for _ in range(4)]
    used = srv.metric("lmc_kv_blocks_used")
    c.check(used > 0, f"no KV blocks used while 4 streams run ({used})")
    for s in socks:
        s.close()
    g = srv.wait_metrics({"lmc_kv_blocks_used": 0, "lmc_requests_in_flight": 0})
    used, fl = g["lmc_kv_blocks_used"], g["lmc_requests_in_flight"]
    print(f"after disconnect: kv blocks used {used}, in flight {fl}")
    c.check(used == 0 and fl == 0, f"disconnected streams not freed: blocks {used}, in flight {fl}")
    gen = srv.metric("lmc_generated_tokens_total")
    c.check(gen < len(prompts) * 24 * 2 + 4 * 250, "cancelled streams ran to the end")

    # SIGTERM with two requests in flight: exits 0 within a few seconds
    socks = [open_stream(250) for _ in range(2)]
    t0 = time.time()
    rc = srv.stop()
    dt = time.time() - t0
    for s in socks:
        s.close()
    print(f"SIGTERM with 2 streams in flight: exit {rc} after {dt:.2f} s")
    c.check(rc == 0 and dt < 10, f"SIGTERM: exit {rc} after {dt:.1f} s")
    c.check("stopped" in srv.logtext(), "no 'stopped' line")
finally:
    if srv.p.poll() is None:
        srv.stop()
c.done()
