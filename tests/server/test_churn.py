"""Clients that leave early, on SmolLM2-135M-Instruct (skips without it):

0. A refused echo+logprobs scoring (prompt larger than the KV pool) gives 400 and does not
   stay in flight (it leaked a --max-queue place and the stream struct).
1. With one slot busy, a streaming and a non-streaming request whose clients disconnect
   while they wait in the queue are cancelled there (they used to stay queued, then run
   until their first write failed - the non-streaming one to max_tokens).
2. 20 s of bench/serve_churn.py (32 clients streaming a little, dropping streams and
   requests, bad requests): no crash, no 5xx, KV blocks and in-flight back to 0, the same
   open fds before and after, the same greedy text, exit 0 on SIGTERM."""
import json, os, socket, subprocess, sys, time
from srvutil import Server, Checks, SMOL, LMC, SKIP

if not os.path.exists(SMOL):
    print(f"skip: {SMOL} not found (scripts/get-default-model.sh)")
    sys.exit(SKIP)

c = Checks()
# 0. echo + logprobs scores the prompt before submitting; a prompt larger than the KV pool
#    (2 blocks here) is refused, and the refusal must not keep an in-flight place
srv = Server(SMOL, "-t", "2", "--kv-mem", "1", "-c", "512")
try:
    for _ in range(3):
        st, body = srv.post("/v1/completions", {"prompt": "Once upon a time " * 30, "max_tokens": 0, "echo": True,
                                                "logprobs": 1})
        c.check(st == 400 and "KV blocks" in str(body), f"prompt over the pool with echo+logprobs: {st} {body}")
    fl = srv.metric("lmc_requests_in_flight")
    c.check(fl == 0, f"refused echo scoring left {fl} requests in flight")
finally:
    c.check(srv.stop() == 0, "exit status after SIGTERM")

srv = Server(SMOL, "-t", "2", "--parallel", "1", "-c", "512")


def send(path, body):
    s = socket.create_connection(("127.0.0.1", srv.port))
    b = json.dumps(body)
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(b)}\r\n\r\n{b}".encode())
    return s


try:
    msgs = [{"role": "user", "content": "Write a long story about a dragon."}]
    a = send("/v1/chat/completions", {"messages": msgs, "max_tokens": 400, "stream": True, "temperature": 0})
    data = b""
    while data.count(b"data: ") < 3:  # A holds the only slot
        data += a.recv(4096)
    b = send("/v1/chat/completions", {"messages": msgs, "max_tokens": 400, "stream": True})
    q = send("/v1/completions", {"prompt": "Once upon a time", "max_tokens": 400})
    time.sleep(0.3)
    c.check(srv.metric("lmc_requests_in_flight") == 3, "three requests in flight")
    b.close()
    q.close()
    g = srv.wait_metrics({"lmc_requests_in_flight": 1, "lmc_queue_length": 0})
    fl, ql = g["lmc_requests_in_flight"], g["lmc_queue_length"]
    print(f"after two queued clients left: in flight {fl}, queue {ql}")
    c.check(fl == 1 and ql == 0, f"queued requests of gone clients kept ({fl} in flight, {ql} queued)")
    a.close()
    g = srv.wait_metrics({"lmc_kv_blocks_used": 0, "lmc_requests_in_flight": 0})
    used, fl = g["lmc_kv_blocks_used"], g["lmc_requests_in_flight"]
    c.check(used == 0 and fl == 0, f"after all left: blocks {used}, in flight {fl}")
    c.check(srv.metric("lmc_generated_tokens_total") < 400, "a cancelled request ran to max_tokens")
finally:
    c.check(srv.stop() == 0, "exit status after SIGTERM")

churn = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "serve_churn.py")
r = subprocess.run([sys.executable, churn, "--seconds", "20", "--clients", "32", "--sample", "2",
                    "--cmd", f"{LMC} serve -m {SMOL} --port {{port}} -t 2 --parallel 8 -c 512"], timeout=600)
c.check(r.returncode == 0, "serve_churn.py failed")
c.done()
