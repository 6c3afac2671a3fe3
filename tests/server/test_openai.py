"""lmc serve driven by the official `openai` Python client, on stories260K (F32 KV),
against llama.cpp's reference generation (ref/generation/stories260K.once-upon-a-time):
greedy completion tokens/text, per-token logprobs = log-softmax of llama.cpp's logits,
echo logprobs of the prompt, streaming with include_usage, n > 1, embeddings (base64 vs
float, unit norm), chat shape (ChatML fallback), /tokenize vs the reference prompt ids."""
import json, os, sys
import numpy as np
from srvutil import Server, Checks, STORIES, SHARED, SKIP

try:
    import openai
except ImportError:
    print("skip: pip install openai")
    sys.exit(SKIP)

ref = json.load(open(os.path.join(SHARED, "ref/generation/stories260K.once-upon-a-time.json")))
logits = np.fromfile(os.path.join(SHARED, "ref/generation", ref["logits_file"]), dtype=np.float32).reshape(-1, ref["n_vocab"])
lsm = logits - logits.max(1, keepdims=True)
lsm = lsm - np.log(np.exp(lsm).sum(1, keepdims=True))
P, G = ref["prompt_tokens"], ref["generated_tokens"]

c = Checks()
srv = Server(STORIES, "--kv-type", "f32", "-t", "2", "--parallel", "4")
try:
    cl = openai.OpenAI(base_url=srv.base + "/v1", api_key="none")
    c.check("ChatML" in srv.logtext(), "no ChatML warning for a model without a template")
    models = cl.models.list()
    c.check(models.data[0].id == "stories260K.gguf", f"model id {models.data[0].id}")

    # greedy completion from the reference prompt ids == llama.cpp's text, with logprobs
    r = cl.completions.create(model="x", prompt=P, max_tokens=len(G), temperature=0, logprobs=3)
    ch = r.choices[0]
    c.check(ch.text == ref["generated_text"], f"greedy text differs:\n{ch.text!r}\n{ref['generated_text']!r}")
    c.check(ch.finish_reason == "length", f"finish_reason {ch.finish_reason}")
    c.check(r.usage.prompt_tokens == len(P) and r.usage.completion_tokens == len(G), f"usage {r.usage}")
    lp = ch.logprobs
    n = min(len(G), ref["logits_rows"] - len(P) + 1)
    err = max(abs(lp.token_logprobs[j] - lsm[len(P) - 1 + j][G[j]]) for j in range(n))
    print(f"max |logprob - llama.cpp log-softmax| over {n} tokens: {err:.2e}")
    c.check(err < 2e-3, f"logprobs differ from llama.cpp's by {err}")
    for j in range(n):
        top = lp.top_logprobs[j]
        want = np.argsort(-lsm[len(P) - 1 + j])[:3]
        c.check(len(top) == 3 and abs(max(top.values()) - lsm[len(P) - 1 + j][want[0]]) < 2e-3,
                f"top_logprobs at {j}: {top}")

    # echo: the prompt's own logprobs (first token has none) + the generated tokens
    r = cl.completions.create(model="x", prompt=P, max_tokens=2, temperature=0, logprobs=1, echo=True)
    lp = r.choices[0].logprobs
    c.check(lp.token_logprobs[0] is None and len(lp.token_logprobs) == len(P) + 2, f"echo logprobs {lp.token_logprobs}")
    e = max(abs(lp.token_logprobs[i] - lsm[i - 1][P[i]]) for i in range(1, len(P)))
    c.check(e < 2e-3, f"echo logprobs differ from llama.cpp's by {e}")
    c.check(r.choices[0].text.startswith("<s>") or r.choices[0].text.startswith("Once") or "Once upon a time" in r.choices[0].text,
            f"echo text {r.choices[0].text!r}")

    # text prompt (BOS added like llama.cpp) and max_tokens 0 echo scoring
    r = cl.completions.create(model="x", prompt=ref["prompt"], max_tokens=16, temperature=0)
    c.check(ref["generated_text"].startswith(r.choices[0].text) and r.choices[0].text, f"text prompt: {r.choices[0].text!r}")

    # streaming with include_usage: same text, usage in the last chunk
    parts, usage, finish = [], None, None
    for chunk in cl.completions.create(model="x", prompt=P, max_tokens=24, temperature=0, stream=True,
                                       stream_options={"include_usage": True}):
        if chunk.usage:
            usage = chunk.usage
        for chc in chunk.choices:
            parts.append(chc.text)
            finish = chc.finish_reason or finish
    full = cl.completions.create(model="x", prompt=P, max_tokens=24, temperature=0).choices[0].text
    c.check("".join(parts) == full, f"stream {''.join(parts)!r} != {full!r}")
    c.check(usage is not None and usage.completion_tokens == 24 and usage.prompt_tokens == len(P), f"stream usage {usage}")
    c.check(finish == "length", f"stream finish {finish}")

    # stop string (not included) and n = 3 sampled outputs with a seed (reproducible)
    r = cl.completions.create(model="x", prompt=P, max_tokens=64, temperature=0, stop=[" Lily."])
    c.check(r.choices[0].text == ", there was a little girl named" and r.choices[0].finish_reason == "stop",
            f"stop: {r.choices[0].text!r} {r.choices[0].finish_reason}")
    r1 = cl.completions.create(model="x", prompt=P, max_tokens=12, temperature=1.0, n=3, seed=7)
    r2 = cl.completions.create(model="x", prompt=P, max_tokens=12, temperature=1.0, n=3, seed=7)
    c.check(len(r1.choices) == 3 and sorted(x.index for x in r1.choices) == [0, 1, 2], "n=3 choices")
    c.check([x.text for x in r1.choices] == [x.text for x in r2.choices], "same seed, different samples")
    c.check(len({x.text for x in r1.choices}) > 1, "n=3 sampled outputs all equal")

    # chat (ChatML fallback): shape, streaming equals non-streaming
    msgs = [{"role": "user", "content": "Once upon a time"}]
    r = cl.chat.completions.create(model="x", messages=msgs, max_tokens=10, temperature=0, logprobs=True, top_logprobs=2)
    c.check(r.object == "chat.completion" and r.choices[0].message.role == "assistant", "chat shape")
    c.check(len(r.choices[0].logprobs.content) == r.usage.completion_tokens or r.choices[0].finish_reason == "stop",
            "chat logprobs count")
    s = "".join(ch.choices[0].delta.content or "" for ch in
                cl.chat.completions.create(model="x", messages=msgs, max_tokens=10, temperature=0, stream=True)
                if ch.choices)
    c.check(s == r.choices[0].message.content, f"chat stream {s!r} != {r.choices[0].message.content!r}")

    # embeddings: base64 (the client's default) == float, unit norm, batch
    e1 = cl.embeddings.create(model="x", input=["Once upon a time", "The dog ran"])
    e2 = cl.embeddings.create(model="x", input="Once upon a time", encoding_format="float")
    v1, v2 = np.array(e1.data[0].embedding), np.array(e2.data[0].embedding)
    c.check(len(e1.data) == 2 and len(v1) == 64, f"embedding count/size {len(e1.data)} {len(v1)}")
    c.check(np.abs(v1 - v2).max() < 1e-6, "base64 and float embeddings differ")
    c.check(abs(np.linalg.norm(v1) - 1) < 1e-4, f"norm {np.linalg.norm(v1)}")
    c.check(e1.usage.prompt_tokens == 2 * 5 - 0 or e1.usage.prompt_tokens > 0, "embedding usage")

    # /tokenize and /detokenize against the reference prompt ids
    st, b = srv.post("/tokenize", {"content": ref["prompt"], "add_special": True})
    c.check(st == 200 and b["tokens"] == P, f"/tokenize {b}")
    st, b = srv.post("/detokenize", {"tokens": G})
    c.check(st == 200 and b["content"] == ref["generated_text"], f"/detokenize {b}")
finally:
    rc = srv.stop()
    c.check(rc == 0, f"exit status after SIGTERM: {rc}")
c.done()
