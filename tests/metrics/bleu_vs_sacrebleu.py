#!/usr/bin/env python3
"""`lmc bleu --json` against sacreBLEU itself (pip package `sacrebleu`) on real system
outputs (WMT23 en-ru) and on strings chosen to exercise every tokenizer rule: each
tokenizer, lowercasing, every smoothing method, several references, chrF and chrF++,
sentence BLEU, and the signatures. Exit 0 only if every number and string agrees."""
import json
import os
import subprocess
import sys
import tempfile

try:
    import sacrebleu
    from sacrebleu.metrics import BLEU, CHRF
except ImportError:
    print("FAIL: the sacrebleu Python package is missing (pip install sacrebleu)")
    sys.exit(1)

LMC = os.environ.get("LMC_BIN", "lmc")
SHARED = os.environ.get("LMC_SHARED_DIR", "../shared")
WMT = os.path.join(SHARED, "data", "bleu", "wmt23_en-ru")
TOL = 1e-9
failures = 0
checks = 0


def check(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what)


def read(path):
    # what the sacrebleu CLI does: text mode, rstrip()
    with open(path, encoding="utf-8") as f:
        return [line.rstrip() for line in f]


def lmc_json(hyp, refs, *opts):
    out = subprocess.run([LMC, "bleu", hyp, *refs, "--json", *opts], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"lmc bleu failed: {out.stderr}")
    return json.loads(out.stdout)


def compare(name, hyp_path, ref_paths, tok="13a", lc=False, smooth="exp", smooth_value=None,
            chrf_word_order=None, sentence=False):
    hyps = read(hyp_path)
    refs = [read(r) for r in ref_paths]
    opts = ["--tokenize", tok, "--smooth", smooth]
    if lc:
        opts.append("-lc")
    if smooth_value is not None:
        opts += ["--smooth-value", str(smooth_value)]
    if chrf_word_order is not None:
        opts += ["--chrf-word-order", str(chrf_word_order)]
    if sentence:
        opts.append("--sentence")
    got = lmc_json(hyp_path, ref_paths, *opts)
    bleu = BLEU(tokenize=tok, lowercase=lc, smooth_method=smooth, smooth_value=smooth_value)
    want = bleu.corpus_score(hyps, refs)
    sig = bleu.get_signature().format()
    tag = f"{name} tok={tok} lc={lc} smooth={smooth}"
    check(abs(got["score"] - want.score) <= TOL, f"{tag}: BLEU {got['score']!r} vs sacrebleu {want.score!r}")
    check(got["signature"] == sig, f"{tag}: signature {got['signature']} vs {sig}")
    check(got["sys_len"] == want.sys_len and got["ref_len"] == want.ref_len,
          f"{tag}: lengths {got['sys_len']}/{got['ref_len']} vs {want.sys_len}/{want.ref_len}")
    check(all(abs(a - b) <= TOL for a, b in zip(got["precisions"], want.precisions)),
          f"{tag}: precisions {got['precisions']} vs {want.precisions}")
    check(abs(got["bp"] - want.bp) <= 1e-12, f"{tag}: bp {got['bp']} vs {want.bp}")
    check(got["verbose_score"] == f"{want.score:.2f} {want._verbose}",
          f"{tag}: report '{got['verbose_score']}' vs '{want.score:.2f} {want._verbose}'")
    if chrf_word_order is not None:
        chrf = CHRF(word_order=chrf_word_order, lowercase=lc)
        w = chrf.corpus_score(hyps, refs)
        csig = chrf.get_signature().format()
        check(abs(got["chrf"]["score"] - w.score) <= TOL, f"{tag}: {w.name} {got['chrf']['score']!r} vs {w.score!r}")
        check(got["chrf"]["name"] == w.name, f"{tag}: chrF name {got['chrf']['name']} vs {w.name}")
        check(got["chrf"]["signature"] == csig, f"{tag}: chrF signature {got['chrf']['signature']} vs {csig}")
    if sentence:
        sb = BLEU(tokenize=tok, lowercase=lc, smooth_method=smooth, smooth_value=smooth_value,
                  effective_order=True)
        bad = 0
        for i, h in enumerate(hyps):
            s = sb.sentence_score(h, [r[i] for r in refs]).score
            if abs(got["sentence_bleu"][i] - s) > TOL:
                bad += 1
                if bad <= 3:
                    print(f"  segment {i + 1}: {got['sentence_bleu'][i]!r} vs {s!r}")
        check(bad == 0, f"{tag}: {bad} of {len(hyps)} sentence BLEU scores differ")
    print(f"ok? {tag}: lmc {got['score']:.10f} sacrebleu {want.score:.10f}")


# Strings that exercise each tokenizer rule (13a punctuation classes, digits around
# periods/commas/dashes, HTML entities, <skipped>, Unicode punctuation and symbols,
# case mapping outside ASCII, odd whitespace) and the smoothing paths.
TRICKY_HYP = [
    "The price rose 3.5% to $1,234.56 on 2023-05-01 -- really?",
    "AT&amp;T &quot;said&quot; &lt;no&gt; <skipped> comment, ok.",
    "«Привет», сказал ОН — и ушёл... Ёлка! 2,5 млн. ₽",
    "Ελληνικά ΚΕΦΑΛΑΙΑ: ΣΟΦΟΣ; a+b=c {x} [y] ~z~ `q` |p| \\ /",
    "tabs\tand\u00a0nbsp\u2003em space   end   ",
    "x",
    "",
    "Numbers: 1.000.000, 3-4, -5, 6.-7. end.",
    "中文，标点。还有“引号”！",
    "İstanbul ÇAĞ ẞ ǅ Ω ℃ № ½ ™ © ® € £ ¥",
]
TRICKY_REF_A = [
    "The price rose 3.5 % to $ 1,234.56 on 2023-05-01 - really ?",
    "AT&T said \"no\" comment, OK.",
    "«Привет», — сказал он и ушёл… Ёлка! 2,5 млн ₽",
    "Ελληνικά κεφάλαια: σοφος; a+b=c {x} [y] ~z~",
    "tabs and nbsp em space end",
    "y",
    "something",
    "Numbers: 1.000.000, 3 - 4, -5, 6.-7. end .",
    "中文，标点。还有“引号”!",
    "istanbul çağ ß ǆ ω ℃ № ½ ™ © ® € £ ¥",
]
TRICKY_REF_B = [
    "Prices rose by 3.5% to $1,234.56 on 1 May 2023 -- really?",
    "AT&amp;T &quot;said&quot; no comment.",
    "«Привет», сказал он — и ушёл... Ёлка!",
    None,  # written as an empty line
    "tabs and nbsp",
    "x",
    "",
    "Numbers: 1.000.000 , 3-4 , -5, 6.-7. end.",
    "中文 ， 标点 。",
    "İstanbul ÇAĞ",
]


def main():
    global failures
    if not os.path.exists(os.path.join(WMT, "ref.ru")):
        print(f"missing {WMT}")
        return 1
    ref = os.path.join(WMT, "ref.ru")
    sys_ = {s: os.path.join(WMT, f"hyp.{s}.ru") for s in ("ONLINE-B", "GPT4-5shot", "NLLB_Greedy")}
    for tok in ("13a", "intl"):
        compare("wmt23 ONLINE-B", sys_["ONLINE-B"], [ref], tok=tok)
    compare("wmt23 GPT4-5shot", sys_["GPT4-5shot"], [ref], lc=True, chrf_word_order=0)
    compare("wmt23 NLLB_Greedy", sys_["NLLB_Greedy"], [ref], tok="intl", lc=True, chrf_word_order=2)
    # several references: another system's output serves as a second reference
    compare("wmt23 ONLINE-B 2 refs", sys_["ONLINE-B"], [ref, sys_["NLLB_Greedy"]], chrf_word_order=2)

    with tempfile.TemporaryDirectory() as d:
        # the other tokenizers and smoothings on the first 500 segments
        h500, r500 = os.path.join(d, "h500"), os.path.join(d, "r500")
        with open(h500, "w", encoding="utf-8") as f:
            f.writelines(open(sys_["GPT4-5shot"], encoding="utf-8").readlines()[:500])
        with open(r500, "w", encoding="utf-8") as f:
            f.writelines(open(ref, encoding="utf-8").readlines()[:500])
        for tok in ("none", "char"):
            compare("wmt23 GPT4-5shot first 500", h500, [r500], tok=tok)
        for smooth, val in (("none", None), ("floor", None), ("floor", 0.3), ("add-k", None), ("add-k", 2)):
            compare("wmt23 GPT4-5shot first 500", h500, [r500], smooth=smooth, smooth_value=val)

        paths = []
        for name, lines in (("hyp", TRICKY_HYP), ("refA", TRICKY_REF_A), ("refB", TRICKY_REF_B)):
            p = os.path.join(d, name)
            with open(p, "w", encoding="utf-8") as f:
                for line in lines:
                    f.write((line or "") + "\n")
            paths.append(p)
        for tok in ("13a", "intl", "none", "char"):
            for lc in (False, True):
                for smooth in ("exp", "floor", "add-k", "none"):
                    compare("tricky", paths[0], paths[1:], tok=tok, lc=lc, smooth=smooth,
                            chrf_word_order=2 if smooth == "exp" else None, sentence=True)
        # sentence BLEU on real data, one reference
        compare("wmt23 GPT4-5shot first 500", h500, [r500], sentence=True)

    print(f"bleu_vs_sacrebleu (sacrebleu {sacrebleu.__version__}): {checks - failures} of {checks} checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
