#!/usr/bin/env python3
"""Differential test of lmc's Jinja interpreter against Python's jinja2 (pip: jinja2).

Generates random templates from a grammar of the constructs chat templates use
(whitespace control markers around text with spaces/tabs/newlines, if/elif/else, for
with loop.* and filters and else, break/continue, set and block set, namespace, macros
with defaults/keywords, filters, tests, string/dict methods, slices, operators,
literals), renders each with jinja2 configured exactly as transformers configures it,
and with lmc (tests/chat/chat_batch). Both must give the same bytes, or both must fail.

usage: jinja_diff.py CHAT_BATCH_BINARY [N_CASES] [SEED]
"""
import copy
import json
import random
import subprocess
import sys
from datetime import datetime

import jinja2
import jinja2.ext
import jinja2.sandbox


def make_env():
    # transformers.utils.chat_template_utils._compile_jinja_template (minus the
    # AssistantTracker extension, whose {% generation %} tag these templates do not use)
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime(2024, 7, 26, 0, 0, 0).strftime(fmt)
    return env


VARS = {
    "s": "  Hello, World!\n\tMixed Case ünïcödé  ",
    "t": "a,b,,c",
    "w": "one two  three",
    "n": 7,
    "m": -3,
    "f": 2.5,
    "z": 0,
    "b": True,
    "nb": False,
    "nn": None,
    "l": [3, 1, 2],
    "ls": ["pear", "Apple", "fig"],
    "d": {"name": "x", "k": 2, "items_": [1, 2], "nested": {"a": [1, {"b": "c"}]}},
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi \"there\" \\ 'you'\n"},
        {"role": "assistant", "content": "Hello!", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": {"x": 1, "y": "é"}}}]},
        {"role": "user", "content": "  Москва  "},
    ],
}

SCALARS = ["s", "t", "w", "n", "m", "f", "z", "b", "nb", "nn", "l", "ls", "d", "u", "messages"]
STRS = ["s", "t", "w", "'abc'", '"x y"', "'Ünï'", "''", "messages[1].content", "d.name"]
STR_CALLS = ['strip()', 'lstrip()', 'rstrip()', 'upper()', 'lower()', 'title()', 'split()', 'split(",")',
             'startswith("a")', 'endswith("!")', 'replace("l", "L")', 'strip(" H")', 'split(" ", 1)',
             'capitalize()', 'find("o")', 'count("o")', 'rsplit(" ", 1)', 'splitlines()']
DICT_CALLS = ['name', 'k', 'missing', 'nested', 'get("k")', 'get("zz", 5)', 'keys()|list', 'values()|list',
              'items()|list', 'nested.a[1].b']
LISTS = ["l", "ls", "messages", "[1, 'a', none]", "[]", "range(4)", "d.items_", "t.split(',')"]


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.loop_vars = []
        self.macros = []

    def lit(self):
        r = self.r
        return r.choice([
            str(r.randint(-5, 20)), r.choice(["0.5", "1.0", "2.25", "1e-5", "1e20", "3.14159", "10.0"]),
            repr(r.choice(["", "a", "hi there", "x\ny", "tab\tz", "q'uote", "ü"])),
            '"dq \\" \\n end"', "true", "false", "none", "True", "None",
        ])

    def name(self):
        return self.r.choice(SCALARS + self.loop_vars * 3)

    def expr(self, depth=0):
        r = self.r
        if depth > 3:
            return r.choice([self.lit, self.name])()
        k = r.randint(0, 27)
        e = lambda: self.expr(depth + 1)
        if k == 0: return self.lit()
        if k == 1: return self.name()
        if k == 2: return f"({e()} {r.choice(['+', '-', '*', '%', '//', '/'])} {e()})"
        if k == 3: return f"({e()} ~ {e()})"
        if k == 4: return f"({e()} {r.choice(['==', '!=', '<', '>', '<=', '>='])} {e()})"
        if k == 5: return f"({e()} {r.choice(['and', 'or'])} {e()})"
        if k == 6: return f"(not {e()})"
        if k == 7: return f"({e()} if {e()} else {e()})"
        if k == 8: return f"({e()} {r.choice(['in', 'not in'])} {r.choice(LISTS + STRS + ['d'])})"
        if k == 9: return r.choice(STRS) + "." + r.choice(STR_CALLS)
        if k == 10: return f"{r.choice(LISTS + STRS)}[{r.choice(['0', '-1', '1', '5', '1:', ':2', '::-1', '1:-1', '::2', '-2:'])}]"
        if k == 11:
            filt = r.choice(["length", "trim", "upper", "lower", "first", "last", "list", "string", "tojson",
                             "join(', ')", "join", "reverse|list", "sort|list", "unique|list", "default('D')",
                             "d('x', true)", "capitalize", "title", "int", "float", "abs", "round", "round(1)",
                             "replace('a', 'A')", "indent(2)", "indent(2, true)", "tojson(indent=2)", "items|list",
                             "map('upper')|list", "select|list", "reject|list", "sum", "min", "max", "count",
                             "wordcount", "dictsort", "tojson(ensure_ascii=true)", "batch(2)|list"])
            src = r.choice(LISTS + STRS + SCALARS)
            return f"({src}|{filt})"
        if k == 12:
            test = r.choice(["defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "number",
                             "integer", "float", "boolean", "true", "false", "odd", "even", "divisibleby 3",
                             "callable", "lower", "upper", "in l", "eq 7", "sameas none"])
            return f"({self.name()} is {r.choice(['', 'not '])}{test})"
        if k == 13: return f"[{e()}, {e()}]"
        if k == 14: return f"{{'a': {e()}, 'b': {e()}}}"
        if k == 15: return "d." + r.choice(DICT_CALLS)
        if k == 16: return f"messages[{r.randint(-2, 4)}].{r.choice(['role', 'content', 'tool_calls', 'name'])}"
        if k == 17: return f"(messages|selectattr('role', 'equalto', '{r.choice(['user', 'system', 'x'])}')|list|length)"
        if k == 18: return f"(messages|map(attribute='role')|join('/'))"
        if k == 19: return f"(-{e()})"
        if k == 20 and self.loop_vars: return f"loop.{r.choice(['index', 'index0', 'first', 'last', 'length', 'revindex', 'revindex0', 'previtem', 'nextitem'])}"
        if k == 21: return f"ns.v"
        if k == 22 and self.macros:
            m = r.choice(self.macros)
            return f"{m}({e()})" if r.random() < 0.5 else f"{m}({e()}, b={e()})"
        if k == 23: return f"({e()} ** {r.randint(0, 3)})"
        if k == 24: return f"({r.choice(STRS)} * {r.randint(0, 3)})"
        if k == 25: return f"(messages|rejectattr('content')|list|length)"
        if k == 26: return f"(ls|sort(reverse=true)|join(','))"
        return self.name()

    def ws(self):
        return self.r.choice(["", "", " ", "\n", "  \n", "\n  ", "\t", "x", " y\n", "\n\n", "  "])

    def tag(self, body):
        r = self.r
        left = r.choice(["{%", "{%", "{%-", "{%+"])
        right = r.choice(["%}", "%}", "-%}", "+%}"])
        return f"{self.ws()}{left} {body} {right}{self.ws()}"

    def out(self):
        r = self.r
        left = r.choice(["{{", "{{", "{{-"])
        right = r.choice(["}}", "}}", "-}}"])
        return f"{self.ws()}{left} {self.expr()} {right}{self.ws()}"

    def stmts(self, depth=0, n=None):
        r = self.r
        n = n if n is not None else r.randint(1, 4)
        return "".join(self.stmt(depth) for _ in range(n))

    def stmt(self, depth):
        r = self.r
        k = r.randint(0, 11 if depth < 3 else 2)
        if k <= 1: return self.out()
        if k == 2: return r.choice(["text ", "line\n", "  indented\n", "\n", "{# c #}", "  {# c #}\n", "{#- c -#}"])
        if k == 3:
            s = self.tag(f"if {self.expr()}") + self.stmts(depth + 1)
            if r.random() < 0.5: s += self.tag(f"elif {self.expr()}") + self.stmts(depth + 1)
            if r.random() < 0.5: s += self.tag("else") + self.stmts(depth + 1)
            return s + self.tag("endif")
        if k == 4:
            var = r.choice(["x", "item", "message"])
            src = r.choice(LISTS + ["s", "d", "d.items()", "messages[1:]", "ls|sort"])
            cond = f" if {self.expr()}" if r.random() < 0.3 else ""
            if src in ("d.items()",):
                var = "k, v"
            self.loop_vars.append(var.split(",")[0].strip())
            body = self.stmts(depth + 1)
            if r.random() < 0.3:
                body += self.tag(f"if {self.expr()}") + self.tag(r.choice(["break", "continue"])) + self.tag("endif")
            s = self.tag(f"for {var} in {src}{cond}") + body
            self.loop_vars.pop()
            if r.random() < 0.3: s += self.tag("else") + self.stmts(depth + 1)
            return s + self.tag("endfor")
        if k == 5: return self.tag(f"set {r.choice(['x', 'y', 'n', 's'])} = {self.expr()}")
        if k == 6: return self.tag(f"set ns.v = {self.expr()}")
        if k == 7:
            name = f"mac{len(self.macros)}"
            saved = self.loop_vars
            self.loop_vars = ["a", "b"]
            body = self.stmts(depth + 1)
            self.loop_vars = saved
            self.macros.append(name)
            return self.tag(f"macro {name}(a, b='B')") + body + self.tag("endmacro")
        if k == 8: return self.tag("set blk") + self.stmts(depth + 1) + self.tag("endset") + "{{ blk|trim }}"
        if k == 9: return self.tag("raw") + r.choice(["{{ x }}", "{% if %}", " plain "]) + self.tag("endraw")
        if k == 10: return self.tag("filter upper") + self.stmts(depth + 1) + self.tag("endfilter")
        return self.out()

    def template(self):
        head = "{%- set ns = namespace(v=0) -%}" if self.r.random() < 0.9 else ""
        return head + self.stmts(0, self.r.randint(1, 6)) + self.r.choice(["", "\n", "\n\n", " "])


def main():
    batch = sys.argv[1]
    n_cases = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1234
    rng = random.Random(seed)
    env = make_env()
    cases, want = [], []
    for _ in range(n_cases):
        g = Gen(rng)
        src = g.template()
        try:
            # a fresh copy: some filters mutate their input in jinja2 (indent does `s += "\n"`)
            out = env.from_string(src).render(**copy.deepcopy(VARS), add_generation_prompt=True, tools=None,
                                              documents=None)
            want.append(("ok", out))
        except Exception as e:  # any failure: lmc must fail too
            want.append(("error", f"{type(e).__name__}: {e}"))
        messages = VARS["messages"]
        extra = {k: v for k, v in VARS.items() if k != "messages"}
        cases.append({"template": src, "messages": messages, "tools": None, "vars": extra,
                      "add_generation_prompt": True})
    inp = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
    res = subprocess.run([batch], input=inp.encode(), capture_output=True, timeout=600)
    if res.returncode != 0:
        print("chat_batch failed:", res.stderr.decode(errors="replace"))
        return 1
    lines = res.stdout.decode().split("\n")[:-1]
    if len(lines) != len(cases):
        print(f"chat_batch gave {len(lines)} results for {len(cases)} cases")
        return 1
    bad = 0
    n_ok = sum(1 for w in want if w[0] == "ok")
    for case, (status, ref), line in zip(cases, want, lines):
        got = json.loads(line)
        good = (status == "ok" and got["ok"] and got["out"] == ref) or (status == "error" and not got["ok"])
        if not good:
            bad += 1
            if bad <= 8:
                print("=" * 70)
                print("template:", repr(case["template"]))
                print("jinja2:  ", status, repr(ref)[:400])
                print("lmc:     ", "ok" if got["ok"] else "error", repr(got.get("out", got.get("error")))[:400])
    print(f"jinja_diff: {len(cases)} random templates ({n_ok} render, {len(cases) - n_ok} fail in jinja2), "
          f"{bad} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
