// lmc web chat: streams replies from POST /v1/chat/completions (OpenAI SSE chunks).
"use strict";
const $ = (id) => document.getElementById(id);
const history = []; // {role, content} of the conversation, without the system prompt
let controller = null;

function showError(text) {
  const e = $("error");
  e.textContent = text || "";
  e.hidden = !text;
}

function bubble(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  const t = document.createElement("div");
  t.className = "text";
  t.textContent = text;
  div.appendChild(t);
  $("log").appendChild(div);
  $("log").scrollTop = $("log").scrollHeight;
  return div;
}

function addTools(div, content) {
  const tools = document.createElement("div");
  tools.className = "tools";
  const copy = document.createElement("button");
  copy.type = "button";
  copy.textContent = "Copy";
  copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(content);
  const regen = document.createElement("button");
  regen.type = "button";
  regen.textContent = "Regenerate";
  regen.className = "regenerate";
  regen.onclick = () => {
    if (controller) return;
    // drop this answer (the last assistant turn) and ask again
    if (history.length && history[history.length - 1].role === "assistant") history.pop();
    div.remove();
    generate();
  };
  tools.append(copy, regen);
  div.appendChild(tools);
}

function busy(on) {
  $("send").hidden = on;
  $("stop").hidden = !on;
}

async function generate() {
  showError("");
  const messages = [];
  const sys = $("system").value.trim();
  if (sys) messages.push({ role: "system", content: sys });
  messages.push(...history);
  const body = {
    messages,
    stream: true,
    temperature: parseFloat($("temperature").value),
    top_p: parseFloat($("top_p").value),
    max_tokens: parseInt($("max_tokens").value, 10),
  };
  const div = bubble("assistant streaming", "");
  const text = div.querySelector(".text");
  let content = "";
  controller = new AbortController();
  busy(true);
  try {
    const res = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!res.ok) {
      let msg = res.status + " " + res.statusText;
      try { const j = await res.json(); if (j.error && j.error.message) msg = j.error.message; } catch (_) {}
      throw new Error(msg);
    }
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message || "server error");
        const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
        if (delta && delta.content) {
          content += delta.content;
          text.textContent = content;
          $("log").scrollTop = $("log").scrollHeight;
        }
      }
    }
  } catch (err) {
    if (err.name !== "AbortError") showError("Error: " + err.message);
  } finally {
    controller = null;
    busy(false);
    div.classList.remove("streaming");
    if (content) {
      history.push({ role: "assistant", content });
      addTools(div, content);
    } else if (!$("error").hidden) {
      div.remove();
    }
  }
}

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const msg = $("input").value.trim();
  if (!msg || controller) return;
  $("input").value = "";
  history.push({ role: "user", content: msg });
  bubble("user", msg);
  generate();
});

$("input").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) {
    ev.preventDefault();
    $("composer").requestSubmit();
  }
});

$("stop").addEventListener("click", () => controller && controller.abort());

$("settings-toggle").addEventListener("click", () => {
  const s = $("settings");
  s.hidden = !s.hidden;
  $("settings-toggle").setAttribute("aria-expanded", String(!s.hidden));
});

$("clear").addEventListener("click", () => {
  if (controller) controller.abort();
  history.length = 0;
  $("log").innerHTML = "";
  showError("");
});

fetch("/v1/models").then((r) => r.json()).then((j) => {
  if (j.data && j.data[0]) $("model").textContent = j.data[0].id;
}).catch(() => {});
