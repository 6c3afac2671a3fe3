"""The web chat page in a real browser (headless Chromium driven by Selenium).

Starts `lmc serve` with the default chat model on a free loopback port, loads the
page, sends a message, watches the reply grow through several visible states while
it streams, presses Stop, and checks through /metrics that the sequence's KV blocks
went back to the pool. Other paths must be 404. A screenshot is saved in the build
directory (webchat.png). Skips (exit 77) without chromium/chromedriver/selenium or
without the default model."""
import os, re, shutil, socket, subprocess, sys, time, urllib.request, urllib.error

SKIP = 77
lmc = os.environ["LMC_BIN"]
model = os.path.expanduser(os.environ.get("LMC_WEBCHAT_MODEL", "~/.cache/lmc/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
driver_bin = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.chrome.service import Service
except ImportError:
    print("skip: selenium is not installed (pip install selenium)")
    sys.exit(SKIP)
if not chromium or not driver_bin:
    print("skip: chromium / chromedriver not found (Debian: chromium chromium-driver)")
    sys.exit(SKIP)
if not os.path.exists(model):
    print(f"skip: {model} not found (scripts/get-default-model.sh)")
    sys.exit(SKIP)

s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
base = f"http://127.0.0.1:{port}"
srv = subprocess.Popen([lmc, "serve", "-m", model, "--port", str(port), "-t", "1"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")

def kv_blocks_used():
    _, text = get("/metrics")
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^(lmc_kv_blocks_used|lmc_kv_blocks\{[^}]*state=\"used\"[^}]*\})\s+([0-9.e+]+)", line)
        if m:
            return float(m.group(2))
    raise AssertionError("no KV blocks-used metric in /metrics:\n" + text[:2000])

fail = []
browser = None
try:
    for _ in range(300):
        try:
            if get("/health")[0] == 200:
                break
        except Exception:
            pass
        if srv.poll() is not None:
            sys.exit("FAIL: lmc serve exited:\n" + srv.stdout.read())
        time.sleep(0.1)
    else:
        sys.exit("FAIL: the server did not come up")

    code, _ = get("/no-such-page.html")
    if code != 404:
        fail.append(f"/no-such-page.html gave {code}, not 404")
    code, html = get("/")
    if code != 200 or "lmc chat" not in html:
        fail.append(f"/ gave {code}")

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,800"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(driver_bin), options=opts)
    browser.get(base + "/")
    browser.find_element(By.ID, "settings-toggle").click()
    mt = browser.find_element(By.ID, "max_tokens"); mt.clear(); mt.send_keys("400")
    temp = browser.find_element(By.ID, "temperature"); temp.clear(); temp.send_keys("0.8")
    browser.find_element(By.ID, "settings-toggle").click()
    box = browser.find_element(By.ID, "input")
    box.send_keys("Write a long story about a dragon who learns to bake bread.")
    browser.find_element(By.ID, "send").click()

    # the reply grows: collect distinct non-empty states while it streams
    states = []
    t0 = time.time()
    while time.time() - t0 < 60 and len(states) < 5:
        els = browser.find_elements(By.CSS_SELECTOR, ".msg.assistant .text")
        if els:
            txt = els[-1].text
            if txt and (not states or txt != states[-1]):
                states.append(txt)
        time.sleep(0.05)
    print(f"reply states seen while streaming: {len(states)}; lengths {[len(x) for x in states]}")
    if len(states) < 3:
        fail.append(f"only {len(states)} visible states while streaming")
    if any(not b.startswith(a) for a, b in zip(states, states[1:])):
        fail.append("the reply did not grow monotonically")
    if not browser.find_elements(By.CSS_SELECTOR, ".msg.assistant.streaming"):
        fail.append("the stream ended before Stop could be pressed (model too fast?)")
    stop = browser.find_element(By.ID, "stop")
    if not stop.is_displayed():
        fail.append("no Stop button while streaming")
    stop.click()
    t1 = time.time()
    while browser.find_elements(By.CSS_SELECTOR, ".msg.assistant.streaming") and time.time() - t1 < 10:
        time.sleep(0.05)
    if browser.find_elements(By.CSS_SELECTOR, ".msg.assistant.streaming"):
        fail.append("Stop did not end the stream")
    n_after_stop = len(browser.find_elements(By.CSS_SELECTOR, ".msg.assistant .text")[-1].text)
    time.sleep(1.0)
    if len(browser.find_elements(By.CSS_SELECTOR, ".msg.assistant .text")[-1].text) != n_after_stop:
        fail.append("text kept growing after Stop")
    # the server notices the closed connection and frees the sequence's blocks
    used = None
    for _ in range(100):
        used = kv_blocks_used()
        if used == 0:
            break
        time.sleep(0.1)
    print(f"KV blocks used after Stop: {used}")
    if used != 0:
        fail.append(f"{used} KV blocks still used after Stop")
    if not browser.find_elements(By.CSS_SELECTOR, ".msg.assistant .regenerate"):
        fail.append("no Regenerate button on the stopped reply")
    shot = os.path.join(os.getcwd(), "webchat.png")
    browser.save_screenshot(shot)
    print("screenshot:", shot)

    # a refused request shows a clear error line (max_tokens beyond the context)
    browser.find_element(By.ID, "settings-toggle").click()
    mt = browser.find_element(By.ID, "max_tokens"); mt.clear(); mt.send_keys("100000000")
    browser.find_element(By.ID, "input").send_keys("Hello")
    browser.find_element(By.ID, "send").click()
    t2 = time.time()
    while not browser.find_element(By.ID, "error").is_displayed() and time.time() - t2 < 20:
        time.sleep(0.05)
    err = browser.find_element(By.ID, "error")
    print("error line:", err.text if err.is_displayed() else "(none)")
    if not err.is_displayed() or not err.text.startswith("Error:"):
        fail.append("no error line for a refused request")
    browser.save_screenshot(os.path.join(os.getcwd(), "webchat-error.png"))
finally:
    if browser:
        browser.quit()
    srv.terminate()
    try:
        srv.wait(timeout=20)
    except subprocess.TimeoutExpired:
        srv.kill()
        fail.append("lmc serve did not exit within 20 s of SIGTERM")

if fail:
    print("FAIL:\n  " + "\n  ".join(fail))
    sys.exit(1)
print("ok")
