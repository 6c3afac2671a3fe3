"""Chat on SmolLM2-135M-Instruct (its own Jinja chat template): the server's greedy
chat answer equals `lmc run` on the same prompt rendered by Python's jinja2 the way
transformers' apply_chat_template renders it; the prompt token count equals /tokenize
of that rendering (also with `tools` passed to the template); streaming equals
non-streaming; chat logprobs are consistent (greedy token = top alternative).
Skips (77) without the model."""
import os, subprocess, sys
from srvutil import Server, Checks, SMOL, LMC, SKIP

try:
    import openai, jinja2
    from gguf import GGUFReader
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(SKIP)
if not os.path.exists(SMOL):
    print(f"skip: {SMOL} not found (scripts/get-default-model.sh)")
    sys.exit(SKIP)

rd = GGUFReader(SMOL)


def meta_str(key):
    f = rd.fields[key]
    return bytes(f.parts[f.data[0]]).decode()


tmpl_src = meta_str("tokenizer.chat_template")
tokens = rd.fields["tokenizer.ggml.tokens"]
bos_id = int(rd.fields["tokenizer.ggml.bos_token_id"].parts[-1][0])
eos_id = int(rd.fields["tokenizer.ggml.eos_token_id"].parts[-1][0])
tok_text = lambda i: bytes(tokens.parts[tokens.data[i]]).decode()
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = lambda x, **kw: __import__("json").dumps(x, **kw)
tmpl = env.from_string(tmpl_src)


def render(messages, tools=None):
    return tmpl.render(messages=messages, tools=tools, add_generation_prompt=True,
                       bos_token=tok_text(bos_id), eos_token=tok_text(eos_id))


c = Checks()
srv = Server(SMOL, "-t", "2", "--parallel", "4", "-c", "1024")
try:
    c.check("ChatML" not in srv.logtext(), "ChatML warning for a model with a template")
    cl = openai.OpenAI(base_url=srv.base + "/v1", api_key="none")
    for q in ["What is the capital of France?", "Write a haiku about the sea."]:
        msgs = [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": q}]
        r = cl.chat.completions.create(model="x", messages=msgs, max_tokens=24, temperature=0)
        answer = r.choices[0].message.content
        prompt = render(msgs)
        st, tk = srv.post("/tokenize", {"content": prompt, "add_special": True})
        c.check(r.usage.prompt_tokens == len(tk["tokens"]),
                f"prompt tokens {r.usage.prompt_tokens} != /tokenize of the jinja2 rendering {len(tk['tokens'])}")
        out = subprocess.run([LMC, "run", "-m", SMOL, "-p", prompt, "-n", "24", "--temp", "0", "-t", "2", "-c", "1024"],
                             capture_output=True, text=True, timeout=120)
        ref = out.stdout[:-1] if out.stdout.endswith("\n") else out.stdout
        print(f"chat: {answer!r}\nrun:  {ref!r}")
        c.check(out.returncode == 0 and answer == ref, "greedy chat differs from lmc run on the rendered prompt")
        s = "".join(ch.choices[0].delta.content or "" for ch in
                    cl.chat.completions.create(model="x", messages=msgs, max_tokens=24, temperature=0, stream=True)
                    if ch.choices)
        c.check(s == answer, f"stream {s!r} != {answer!r}")

    # logprobs: greedy token is the top alternative; the reported tokens spell the answer
    msgs = [{"role": "user", "content": "Say hello."}]
    r = cl.chat.completions.create(model="x", messages=msgs, max_tokens=12, temperature=0, logprobs=True, top_logprobs=3)
    lp = r.choices[0].logprobs.content
    c.check(all(abs(t.logprob - t.top_logprobs[0].logprob) < 1e-5 and t.logprob <= 0 for t in lp),
            "greedy token is not the most likely alternative")
    c.check("".join(t.token for t in lp).startswith(r.choices[0].message.content[:5]), "logprob tokens vs content")

    # tools reach the template
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
                                               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
    r = cl.chat.completions.create(model="x", messages=msgs, max_tokens=2, temperature=0, tools=tools)
    st, tk = srv.post("/tokenize", {"content": render(msgs, tools), "add_special": True})
    c.check(r.usage.prompt_tokens == len(tk["tokens"]), f"with tools: {r.usage.prompt_tokens} vs {len(tk['tokens'])}")
finally:
    rc = srv.stop()
    c.check(rc == 0, f"exit status after SIGTERM: {rc}")
c.done()
