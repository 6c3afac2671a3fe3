"""Every error status of lmc serve in OpenAI's error shape ({"error": {"message", "type",
"param", "code"}}): 400 (malformed JSON, wrong types, unknown field, bad sampling values,
prompt + max_tokens beyond the context, bad token ids), 401 (--api-key), 404, 405, 413
(--max-body), 503 + Retry-After (--max-queue full); CORS headers and preflight; also
through the openai client's exception classes."""
import json, sys, threading, time, http.client
from srvutil import Server, Checks, STORIES, SKIP

try:
    import openai
except ImportError:
    print("skip: pip install openai")
    sys.exit(SKIP)

c = Checks()


def is_error(body, status, param=None, code=None):
    try:
        e = json.loads(body)["error"]
    except Exception:
        return False
    ok = isinstance(e.get("message"), str) and e["message"] and "type" in e and "param" in e and "code" in e
    if param is not None:
        ok = ok and e["param"] == param
    if code is not None:
        ok = ok and e["code"] == code
    return ok


srv = Server(STORIES, "-t", "1", "-c", "256", "--max-body", "4096", "--max-queue", "1", "--api-key", "sekret",
             "--cors-origin", "https://example.org")
try:
    H = {"Authorization": "Bearer sekret"}
    chat = "/v1/chat/completions"
    msgs = [{"role": "user", "content": "hi"}]
    cases = [
        ("malformed JSON", "/v1/completions", b'{"prompt": "x",', None, None),
        ("not an object", "/v1/completions", b'[1,2]', None, None),
        ("wrong type", chat, json.dumps({"messages": "hi"}).encode(), "messages", None),
        ("unknown field", chat, json.dumps({"messages": msgs, "temprature": 0.5}).encode(), "temprature", None),
        ("bad temperature", chat, json.dumps({"messages": msgs, "temperature": -1}).encode(), "temperature", None),
        ("bad top_p", chat, json.dumps({"messages": msgs, "top_p": 0}).encode(), "top_p", None),
        ("n too large", chat, json.dumps({"messages": msgs, "n": 1000}).encode(), "n", None),
        ("bad role", chat, json.dumps({"messages": [{"role": "x", "content": "a"}]}).encode(), "messages", None),
        ("max_tokens beyond context", "/v1/completions", json.dumps({"prompt": "x", "max_tokens": 300}).encode(),
         "max_tokens", "context_length_exceeded"),
        ("prompt beyond context", "/v1/completions", json.dumps({"prompt": "a b " * 400, "max_tokens": 1}).encode(),
         None, "context_length_exceeded"),
        ("token id out of vocab", "/v1/completions", json.dumps({"prompt": [1, 99999], "max_tokens": 1}).encode(),
         "prompt", None),
        ("bad logit_bias", "/v1/completions", json.dumps({"prompt": "x", "logit_bias": {"a": 1}}).encode(), "logit_bias", None),
        ("bad stop", "/v1/completions", json.dumps({"prompt": "x", "stop": [1]}).encode(), "stop", None),
        ("bad embedding input", "/v1/embeddings", json.dumps({"input": 5}).encode(), "input", None),
    ]
    for name, path, raw, param, code in cases:
        st, body, hdr = srv.request("POST", path, raw=raw, headers={**H, "Content-Type": "application/json"})
        c.check(st == 400 and is_error(body, 400, param, code), f"400 {name}: {st} {body[:300]}")
        c.check(hdr.get("Access-Control-Allow-Origin") == "https://example.org", f"CORS header on {name}: {hdr}")

    # 401: missing and wrong key; /health needs none
    st, body, _ = srv.request("POST", chat, {"messages": msgs})
    c.check(st == 401 and is_error(body, 401), f"401 without key: {st} {body}")
    st, body, _ = srv.request("GET", "/v1/models", headers={"Authorization": "Bearer wrong"})
    c.check(st == 401 and is_error(body, 401), f"401 wrong key: {st} {body}")
    c.check(srv.get("/health")[0] == 200, "/health with a key set")
    cl = openai.OpenAI(base_url=srv.base + "/v1", api_key="wrong", max_retries=0)
    try:
        cl.models.list()
        c.check(False, "openai client: no AuthenticationError")
    except openai.AuthenticationError:
        pass
    cl = openai.OpenAI(base_url=srv.base + "/v1", api_key="sekret", max_retries=0)
    try:
        cl.chat.completions.create(model="x", messages=msgs, temperature=5)
        c.check(False, "openai client: no BadRequestError")
    except openai.BadRequestError as e:
        c.check(e.status_code == 400, "BadRequestError status")

    # 404, 405
    st, body, _ = srv.request("GET", "/v1/nothing", headers=H)
    c.check(st == 404 and is_error(body, 404), f"404: {st} {body}")
    st, body, hdr = srv.request("GET", chat, headers=H)
    c.check(st == 405 and is_error(body, 405) and "POST" in hdr.get("Allow", ""), f"405: {st} {body} {hdr}")
    st, body, _ = srv.request("PUT", "/v1/models", raw=b"{}", headers=H)
    c.check(st == 405, f"405 PUT: {st}")

    # 413: body over --max-body (declared length, and a chunked upload)
    big = json.dumps({"prompt": "x" * 10000}).encode()
    st, body, _ = srv.request("POST", "/v1/completions", raw=big, headers={**H, "Content-Type": "application/json"})
    c.check(st == 413 and is_error(body, 413), f"413: {st} {body[:200]}")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.putrequest("POST", "/v1/completions")
    conn.putheader("Authorization", "Bearer sekret")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for _ in range(4):
        piece = b"x" * 2000
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    c.check(resp.status == 413, f"413 chunked: {resp.status}")
    conn.close()

    # CORS preflight
    st, body, hdr = srv.request("OPTIONS", chat, headers={"Origin": "https://example.org",
                                                          "Access-Control-Request-Method": "POST"})
    c.check(st == 204 and hdr.get("Access-Control-Allow-Origin") == "https://example.org" and
            "Authorization" in hdr.get("Access-Control-Allow-Headers", ""), f"preflight: {st} {hdr}")

    # 503 + Retry-After: --max-queue 1 is taken by a long stream
    holder = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    holder.request("POST", "/v1/completions", json.dumps({"prompt": "Once", "max_tokens": 250, "stream": True,
                                                          "temperature": 1.0, "seed": 1}),
                   {"Authorization": "Bearer sekret", "Content-Type": "application/json"})
    hr = holder.getresponse()
    hr.read(64)  # the generation is running
    st, body, hdr = srv.request("POST", "/v1/completions", {"prompt": "x", "max_tokens": 2}, headers=H)
    c.check(st == 503 and is_error(body, 503) and hdr.get("Retry-After"), f"503: {st} {body} {hdr}")
    holder.close()
finally:
    rc = srv.stop()
    c.check(rc == 0, f"exit status after SIGTERM: {rc}")
c.done()
