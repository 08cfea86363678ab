// ragd chat page: streams answers from /api/ask over SSE and shows numbered, clickable sources.
"use strict";

const $ = (id) => document.getElementById(id);
const history = [];
let controller = null;

async function showStatus() {
  try {
    const health = await (await fetch("/health")).json();
    const gen = health.models.generation;
    $("status").textContent = `${gen.name} on ${gen.device.toUpperCase()}`;
  } catch (err) {
    $("status").textContent = "server unreachable";
  }
}

function addMessage(role, text) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = text;
  $("messages").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

// Render answer text with [n] as buttons; text only, never HTML.
function renderAnswer(li, text, count) {
  li.replaceChildren();
  for (const part of text.split(/(\[\d+\])/)) {
    const match = part.match(/^\[(\d+)\]$/);
    const n = match ? Number(match[1]) : 0;
    if (n >= 1 && n <= count) {
      const button = document.createElement("button");
      button.className = "cite";
      button.type = "button";
      button.textContent = part;
      button.addEventListener("click", () => focusSource(n));
      li.appendChild(button);
    } else {
      li.appendChild(document.createTextNode(part));
    }
  }
}

function focusSource(n) {
  for (const item of $("sources").children) item.classList.toggle("active", item.dataset.n === String(n));
  const target = $("sources").querySelector(`[data-n="${n}"]`);
  if (target) target.scrollIntoView({ block: "nearest" });
}

function showSources(sources) {
  $("sources").replaceChildren(...sources.map((s) => {
    const li = document.createElement("li");
    li.dataset.n = String(s.n);
    li.value = s.n;
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = s.source + (s.page ? `, page ${s.page}` : "") + (s.cited === false && s.quote ? " (not cited)" : "");
    const quote = document.createElement("span");
    quote.className = "quote";
    quote.textContent = s.quote || s.text.slice(0, 300);
    li.append(where, quote);
    return li;
  }));
}

async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = blocks.pop();
    for (const block of blocks) {
      let event = "message", data = "";
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) yield { event, data: JSON.parse(data) };
    }
  }
}

// With API keys configured the server answers 401: ask for a key once, keep it for this tab.
function authHeaders() {
  const key = sessionStorage.getItem("ragd-key");
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function fetchWithKey(url, options) {
  const send = () => fetch(url, { ...options, headers: { ...options.headers, ...authHeaders() } });
  const response = await send();
  if (response.status !== 401) return response;
  const key = window.prompt("This ragd server needs an API key:");
  if (!key) return response;
  sessionStorage.setItem("ragd-key", key.trim());
  return send();
}

async function ask(question) {
  addMessage("user", question);
  const li = addMessage("assistant", "…");
  let text = "", count = 0;
  controller = new AbortController();
  $("stop").hidden = false;
  try {
    const response = await fetchWithKey("/api/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ question, history: history.slice(-6), stream: true }),
      signal: controller.signal,
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(typeof body.detail === "string" ? body.detail : `error ${response.status}`);
    }
    for await (const { event, data } of sseEvents(response)) {
      if (event === "sources") { count = data.sources.length; showSources(data.sources); }
      else if (event === "token") { text += data.text; renderAnswer(li, text, count); }
      else if (event === "done") { text = data.answer; renderAnswer(li, text, count); showSources(data.sources); }
      else if (event === "error") throw new Error(data.detail);
    }
    history.push({ role: "user", content: question }, { role: "assistant", content: text });
  } catch (err) {
    if (err.name !== "AbortError") { li.className = "assistant error"; li.textContent = err.message; }
  } finally {
    controller = null;
    $("stop").hidden = true;
  }
}

$("ask-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question || controller) return;
  $("question").value = "";
  ask(question);
});
$("question").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("ask-form").requestSubmit(); }
});
$("stop").addEventListener("click", () => controller && controller.abort());
showStatus();
