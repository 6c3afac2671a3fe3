"""Shared helpers of the server tests: start `lmc serve` on a free loopback port,
wait for /health, stop it with SIGTERM and check it exits cleanly."""
import json, os, signal, socket, subprocess, sys, time, urllib.request, urllib.error

SKIP = 77
LMC = os.environ.get("LMC_BIN", "lmc")
SHARED = os.environ.get("LMC_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
STORIES = os.path.join(SHARED, "models", "stories260K.gguf")
SMOL = os.path.expanduser("~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, model, *args):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(f"server-{self.port}.log", "w+")
        self.p = subprocess.Popen([LMC, "serve", "-m", model, "--port", str(self.port), *args],
                                  stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            if self.p.poll() is not None:
                sys.exit("FAIL: lmc serve exited:\n" + self.logtext())
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.p.kill()
        sys.exit("FAIL: the server did not come up")

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def request(self, method, path, body=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        if data is not None and "Content-Type" not in (headers or {}):
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), dict(e.headers)

    def get(self, path, headers=None):
        s, b, _ = self.request("GET", path, headers=headers)
        return s, b

    def post(self, path, body, headers=None):
        s, b, _ = self.request("POST", path, body, headers)
        return s, (json.loads(b) if b.startswith("{") else b)

    def metric(self, name):
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no {name} in /metrics")

    def wait_metrics(self, want, tries=100, pause=0.1):
        """Polls /metrics until every gauge in want ({name: value}) has its value (gauges
        are refreshed by the engine's next step); returns the last values read."""
        for _ in range(tries):
            got = {k: self.metric(k) for k in want}
            if got == want:
                break
            time.sleep(pause)
        return got

    def stop(self, timeout=20):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None


class Checks:
    def __init__(self):
        self.fail = []

    def check(self, cond, msg):
        if not cond:
            self.fail.append(msg)
            print("FAIL:", msg)
        return cond

    def done(self):
        if self.fail:
            print(f"{len(self.fail)} check(s) failed")
            sys.exit(1)
        print("ok")
