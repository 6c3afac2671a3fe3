#!/usr/bin/env python3
"""New tasks from spec files alone, checked against llama.cpp's logits.

Writes task specs and their data into a temporary folder (no C is touched), runs
`lmc eval` / `lmc perplexity` on the tiny F32 models, and compares with log-probs
computed here (numpy) from llama.cpp b10573's stored logits (ref/generation/*.f32:
"Once upon a time" + 64 greedy tokens, KV f32, flash attention off):
  - multiple choice: the log-likelihood of the choice that is llama.cpp's greedy text;
  - loglikelihood (LAMBADA-style): same value, and acc = 1 (it is the greedy text);
  - generate: greedy output == llama.cpp's text (exact_match 1, BLEU 100), and a stop
    string cuts it where the text first has it;
  - perplexity --stride: exp(mean NLL) of all tokens, word/byte perplexity, bits/byte.
"""
import json, math, os, subprocess, sys, tempfile
import numpy as np

shared = os.environ.get("LMC_SHARED_DIR", "../shared")
lmc = os.environ.get("LMC_BIN", "lmc")
fails = 0


def check(cond, msg):
    global fails
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails += 1


def logprobs(ref, logits):
    seq = ref["prompt_tokens"] + ref["generated_tokens"]
    out = []
    for i in range(len(seq) - 1):
        row = logits[i].astype(np.float64)
        m = row.max()
        out.append(row[seq[i + 1]] - m - math.log(np.exp(row - m).sum()))
    return out  # out[i] = log p(seq[i+1] | seq[..i])


def run(args):
    p = subprocess.run([lmc] + args, capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    return p


for stem in ["stories260K", "aidreams260K"]:
    gdir = os.path.join(shared, "ref/generation")
    ref = json.load(open(os.path.join(gdir, stem + ".once-upon-a-time.json")))
    V = ref["n_vocab"]
    logits = np.fromfile(os.path.join(gdir, ref["logits_file"]), dtype="<f4").reshape(-1, V)
    lp = logprobs(ref, logits)
    n_prompt = len(ref["prompt_tokens"])
    gen_lp = lp[n_prompt - 1:]  # log p of generated token k
    model = os.path.join(shared, "models", ref["model_path"])
    text = ref["generated_text"]
    first = text[: text.index(".") + 1]  # ", there was a little girl named Lily."
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "story.jsonl"), "w") as f:
            f.write(json.dumps({"ctx": ref["prompt"], "endings": [first, " in a big, dark forest.", "!"],
                                "answer": 0, "full": text}) + "\n")
        with open(os.path.join(d, "mc.task"), "w") as f:
            f.write("# a task added from a spec alone\nname: story_mc\ntype: multiple_choice\n"
                    "data: ./story.jsonl\nprompt: \"{{ctx}}\"\nchoices_field: endings\n"
                    "choice_template: \"{{choice}}\"\ngold_field: answer\n")
        with open(os.path.join(d, "ll.task"), "w") as f:
            f.write("name: story_ll\ntype: loglikelihood\ndata: ./story.jsonl\nprompt: \"{{ctx}}\"\n"
                    "target: \"{{endings[0]}}\"\n")
        with open(os.path.join(d, "gen.task"), "w") as f:
            f.write("name: story_gen\ntype: generate\ndata: ./story.jsonl\nprompt: \"{{ctx}}\"\n"
                    "max_tokens: 64\ngold_field: full\nanswer_regex: \"(?s)^(.*)$\"\n")
        with open(os.path.join(d, "bleu.task"), "w") as f:
            f.write("name: story_bleu\ntype: generate\ndata: ./story.jsonl\nprompt: \"{{ctx}}\"\n"
                    "max_tokens: 64\ngold_field: full\nmetric: bleu\n")
        with open(os.path.join(d, "stop.task"), "w") as f:
            f.write("name: story_stop\ntype: generate\ndata: ./story.jsonl\nprompt: \"{{ctx}}\"\n"
                    "max_tokens: 64\ngold_field: full\nstop: \".\", \"zzz\"\n")
        out = os.path.join(d, "r.json")
        p = run(["eval", "-m", model, "--kv-type", "f32", "--out", out] +
                sum([["--task", os.path.join(d, t)] for t in ["mc.task", "ll.task", "gen.task", "bleu.task", "stop.task"]], []))
        check(p.returncode == 0, f"{stem}: lmc eval on five spec-only tasks")
        if p.returncode:
            continue
        r = json.load(open(out))
        det = r["details"]
        mc = det["story_mc"][0]
        k = int(mc["continuation_tokens"][0])
        want = sum(gen_lp[:k])
        check(abs(mc["loglikelihoods"][0] - want) < 2e-3,
              f"{stem}: MC choice 0 log-likelihood {mc['loglikelihoods'][0]:.5f} vs llama.cpp {want:.5f} ({k} tokens)")
        check(r["results"]["story_mc"]["items"] == 1 and mc["gold"] == 0, f"{stem}: MC gold read from the spec's field")
        ll = det["story_ll"][0]
        check(abs(ll["loglikelihood"] - want) < 2e-3 and ll["greedy"] is True,
              f"{stem}: loglikelihood {ll['loglikelihood']:.5f}, greedy {ll['greedy']}")
        check(abs(r["results"]["story_ll"]["ppl"] - math.exp(-want)) < 1e-2 * math.exp(-want),
              f"{stem}: loglikelihood ppl {r['results']['story_ll']['ppl']:.4f} vs {math.exp(-want):.4f}")
        g = det["story_gen"][0]
        check(g["output"] == text, f"{stem}: greedy generation equals llama.cpp's 64 tokens")
        check(r["results"]["story_gen"]["exact_match"] == 1, f"{stem}: exact_match 1")
        check(abs(r["results"]["story_bleu"]["bleu"] - 100) < 1e-9, f"{stem}: BLEU of the same text is 100")
        s = det["story_stop"][0]
        check(s["output"] == first[:-1], f"{stem}: stop string '.' ends the output: {s['output']!r}")
        # Perplexity with a sliding window that covers the text in one window.
        tf = os.path.join(d, "story.txt")
        full = ref["prompt"] + text
        open(tf, "w").write(full)
        p = run(["perplexity", "-m", model, "-f", tf, "-c", "128", "--stride", "64", "--kv-type", "f32"])
        nll = -sum(lp)
        ppl_want = math.exp(nll / len(lp))
        got = dict(kv.split(" = ") for kv in p.stdout.split("\n")[-3].split("  ") if " = " in kv) if p.returncode == 0 else {}
        line = [l for l in p.stdout.splitlines() if l.startswith("PPL = ")]
        ppl = float(line[0].split()[2]) if line else -1
        check(abs(ppl - ppl_want) < 1e-4 * ppl_want, f"{stem}: stride PPL {ppl:.4f} vs llama.cpp logits {ppl_want:.4f}")
        nb, nw = len(full.encode()), len(full.split())
        check(abs(float(got.get("word_perplexity", -1)) - math.exp(nll / nw)) < 1e-3 * math.exp(nll / nw),
              f"{stem}: word_perplexity {got.get('word_perplexity')} vs {math.exp(nll / nw):.4f}")
        check(abs(float(got.get("bits_per_byte", -1)) - nll / nb / math.log(2)) < 1e-5,
              f"{stem}: bits_per_byte {got.get('bits_per_byte')} vs {nll / nb / math.log(2):.6f}")

print(f"{fails} failed")
sys.exit(1 if fails else 0)
