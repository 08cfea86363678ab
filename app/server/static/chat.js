// The conversation: kept in localStorage, rendered turn by turn, answers streamed in over SSE.
import { ApiError, describe, getJSON, request, sseEvents, withRetry } from "./api.js";
import { renderMarkdown, withoutCitations } from "./markdown.js";
import { focusSource, openPanel, showSources, shownTurn } from "./sources.js";

const STORE = "ragd.conversation";
const ID_STORE = "ragd.conversation-id"; // the server's copy of this conversation
const HISTORY_MESSAGES = 6; // the last three exchanges go with a follow-up question
const KEEP_TURNS = 100;
const $ = (id) => document.getElementById(id);
const views = new WeakMap(); // turn -> its <li>

const chat = {
  turns: [],
  id: localStorage.getItem(ID_STORE) || null,
  onSaved: () => {},
  controller: null,
  collection: () => "default",
  onUnauthorized: () => {},
};

export function setupChat({ collection, onUnauthorized, onSaved = () => {} }) {
  chat.onSaved = onSaved;
  chat.collection = collection;
  chat.onUnauthorized = onUnauthorized;
  chat.turns = loadTurns();
  $("messages").addEventListener("click", onMessageClick);
  renderAll();
}

function loadTurns() {
  try {
    const turns = JSON.parse(localStorage.getItem(STORE) || "[]");
    if (!Array.isArray(turns)) return [];
    for (const turn of turns) if (turn.role === "assistant" && !turn.done && !turn.error) turn.stopped = true;
    return turns;
  } catch {
    return [];
  }
}

function save() {
  try {
    localStorage.setItem(STORE, JSON.stringify(chat.turns.slice(-KEEP_TURNS)));
  } catch {
    // storage full or disabled: the conversation still works, it just is not kept
  }
}

export function isAnswering() {
  return chat.controller !== null;
}

export function stop() {
  chat.controller?.abort();
}

export function newChat() {
  stop();
  chat.turns = [];
  setConversation(null);
  save();
  renderAll();
}

export function conversationId() {
  return chat.id;
}

function setConversation(id) {
  chat.id = id;
  if (id) localStorage.setItem(ID_STORE, id);
  else localStorage.removeItem(ID_STORE);
}

// Continue a conversation kept on the server (null: start afresh).
export function openConversation(conversation) {
  if (!conversation) return newChat();
  stop();
  setConversation(conversation.id);
  chat.turns = conversation.turns.flatMap((t) => [
    { role: "user", content: t.question },
    { role: "assistant", content: t.answer, sources: t.sources || [], done: true,
      question: t.question, collection: t.collection || chat.collection() },
  ]);
  save();
  renderAll();
}

async function ensureConversation() {
  if (chat.id) return chat.id;
  try {
    const made = await (await request("/api/conversations", { method: "POST", json: {} })).json();
    setConversation(made.id);
  } catch {
    // not kept on the server (e.g. an older server): the answer still comes
  }
  return chat.id;
}

function renderAll() {
  $("messages").replaceChildren(...chat.turns.map(view));
  $("welcome").hidden = chat.turns.length > 0;
  const answers = chat.turns.filter((t) => t.role === "assistant");
  showSources(answers[answers.length - 1] || null);
  scrollToEnd(true);
}

function view(turn) {
  const li = document.createElement("li");
  li.className = `turn ${turn.role}`;
  views.set(turn, li);
  li.append(label(turn.role === "user" ? "You" : "ragd"));
  if (turn.role === "user") {
    const p = document.createElement("p");
    p.className = "question";
    p.textContent = turn.content;
    li.append(p);
    if (turn.scope) li.append(scopeNote(turn.scope));
  } else {
    li.append(assistantParts());
    update(turn);
  }
  return li;
}

function scopeNote(scope) {
  const p = document.createElement("p");
  p.className = "scope";
  p.textContent = `Filtered: ${scope}`;
  return p;
}

function label(text) {
  const h = document.createElement("h3");
  h.className = "who";
  h.textContent = text;
  return h;
}

function assistantParts() {
  const parts = document.createDocumentFragment();
  const state = document.createElement("p");
  state.className = "state";
  const answer = document.createElement("div");
  answer.className = "answer";
  const check = document.createElement("p");
  check.className = "check";
  check.hidden = true;
  const tools = document.createElement("div");
  tools.className = "tools";
  tools.append(tool("copy", "Copy"), tool("show-sources", "Sources"), tool("retry", "Retry"));
  parts.append(state, answer, check, tools);
  return parts;
}

function tool(action, text) {
  const button = document.createElement("button");
  button.type = "button";
  button.dataset.action = action;
  button.textContent = text;
  return button;
}

const PHASES = {
  searching: () => "Searching the documents…",
  busy: (n) => `The model is busy, retrying in ${n} s…`,
  queued: (n) => `Queued: the model is answering another question first (${n} waiting).`,
  thinking: () => "Reading the passages…",
  answering: () => "",
};

// Bring an assistant turn's <li> up to date with the turn.
function update(turn) {
  const li = views.get(turn);
  if (!li) return;
  const pinned = nearEnd();
  const state = li.querySelector(".state");
  state.textContent = stateText(turn);
  state.hidden = !state.textContent;
  state.setAttribute("role", turn.error ? "alert" : "status");
  li.classList.toggle("error", Boolean(turn.error));
  li.classList.toggle("streaming", !turn.done && !turn.error && !turn.stopped);
  li.classList.toggle("abstained", turn.answerable === false);
  renderMarkdown(li.querySelector(".answer"), turn.content || "", (turn.sources || []).length);
  showCheck(li, turn);
  updateTools(li, turn);
  scrollToEnd(pinned);
}

// The support check, once the answer is final: unsupported sentences are marked in place
// (they carry no citation), and a note says what was checked or replaced.
function showCheck(li, turn) {
  const note = li.querySelector(".check");
  const unsupported = (turn.sentences || []).filter((s) => !s.supported);
  for (const sentence of unsupported) markSentence(li.querySelector(".answer"), sentence.text);
  const lines = [];
  if (turn.replaced) lines.push("The generated answer failed the support check; ragd quotes the passage instead.");
  else if (turn.answerMode === "extractive") lines.push("Quoted verbatim from the passage.");
  if (unsupported.length) {
    lines.push(`${unsupported.length} sentence(s) marked like this were not found in the passages and carry no citation.`);
  }
  note.textContent = lines.join(" ");
  note.hidden = !turn.done || lines.length === 0;
}

function markSentence(root, text) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const at = node.data.indexOf(text);
    if (at < 0 || node.parentElement?.closest(".unsupported")) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + text.length);
    const mark = document.createElement("span");
    mark.className = "unsupported";
    mark.title = "Not supported by the passages: no citation";
    range.surroundContents(mark);
    return;
  }
}

function stateText(turn) {
  if (turn.error) return turn.error;
  if (turn.stopped) return turn.content ? "Stopped." : "Stopped before the answer began.";
  if (turn.answerable === false) {
    return "ragd could not answer this from the documents. The nearest passages are listed under Sources.";
  }
  if (turn.done) return "";
  return (PHASES[turn.phase] || PHASES.searching)(turn.phaseValue);
}

function updateTools(li, turn) {
  const settled = turn.done || turn.stopped || turn.error;
  const count = (turn.sources || []).length;
  li.querySelector('[data-action="copy"]').hidden = !turn.content || !settled;
  const sources = li.querySelector('[data-action="show-sources"]');
  sources.hidden = count === 0;
  sources.textContent = `Sources (${count})`;
  li.querySelector('[data-action="retry"]').hidden = !(turn.error || turn.stopped) || isAnswering();
}

function setPhase(turn, phase, value) {
  turn.phase = phase;
  turn.phaseValue = value;
  update(turn);
}

let frame = 0;
function scheduleUpdate(turn) {
  if (!frame) frame = requestAnimationFrame(() => { frame = 0; update(turn); });
}

function nearEnd() {
  const thread = $("thread");
  return thread.scrollHeight - thread.scrollTop - thread.clientHeight < 120;
}

function scrollToEnd(pinned) {
  if (pinned) $("thread").scrollTop = $("thread").scrollHeight;
}

function push(turn) {
  chat.turns.push(turn);
  $("messages").append(view(turn));
  $("welcome").hidden = true;
  scrollToEnd(true);
}

// Earlier exchanges for a follow-up: finished answers only, without their [n] markers.
function history() {
  const messages = [];
  chat.turns.forEach((turn, i) => {
    const answer = chat.turns[i + 1];
    if (turn.role !== "user" || answer?.role !== "assistant" || !answer.done || !answer.content) return;
    messages.push({ role: "user", content: turn.content.slice(0, 20000) });
    messages.push({ role: "assistant", content: withoutCitations(answer.content).slice(0, 20000) });
  });
  return messages.slice(-HISTORY_MESSAGES);
}

// Ask `question`; `filter` (the API's metadata filter) and `scope` (it in words) are optional.
export async function ask(question, { filter = null, scope = "" } = {}) {
  if (isAnswering()) return;
  const turn = {
    role: "assistant", content: "", sources: [], done: false,
    question, collection: chat.collection(), phase: "searching", filter, scope,
  };
  const earlier = history();
  push({ role: "user", content: question, scope });
  push(turn);
  showSources(turn);
  save();
  await run(turn, earlier);
}

async function run(turn, earlier) {
  const controller = new AbortController();
  chat.controller = controller;
  setAnswering(true);
  try {
    await withRetry(() => streamAnswer(turn, earlier, controller.signal), {
      signal: controller.signal,
      onWait: (seconds) => setPhase(turn, "busy", seconds),
    });
  } catch (err) {
    fail(turn, err);
  } finally {
    chat.controller = null;
    setAnswering(false);
    update(turn);
    if (shownTurn() === turn) showSources(turn);
    save();
    chat.onSaved();
  }
}

function setAnswering(on) {
  document.body.classList.toggle("answering", on);
  $("send").hidden = on;
  $("stop").hidden = !on;
}

async function streamAnswer(turn, earlier, signal) {
  turn.content = "";
  setPhase(turn, "searching");
  const json = askBody(turn, earlier);
  const id = await ensureConversation();
  if (id) json.conversation_id = id;
  const response = await request("/api/ask", {
    method: "POST",
    headers: { Accept: "text/event-stream" },
    json,
    signal,
  });
  setPhase(turn, "thinking");
  watchQueue(turn, signal);
  for await (const { event, data } of sseEvents(response)) onEvent(turn, event, data);
  if (!turn.done) throw new ApiError(0, "interrupted", "The answer was cut off: the connection closed before it was complete.");
}

function askBody(turn, earlier) {
  const body = { question: turn.question, collection: turn.collection, history: earlier, stream: true };
  if (turn.filter) body.filter = turn.filter;
  return body;
}

function onEvent(turn, event, data) {
  if (event === "sources") {
    turn.sources = data.sources || [];
    if (shownTurn() === turn) showSources(turn);
  } else if (event === "token") {
    turn.phase = "answering";
    turn.content += data.text || "";
    scheduleUpdate(turn);
  } else if (event === "done") {
    Object.assign(turn, { content: data.answer || "", sources: data.sources || turn.sources, done: true });
    // auto mode may replace the streamed text: the final answer is the one in `done`
    Object.assign(turn, { sentences: data.sentences || [], replaced: Boolean(data.replaced), answerMode: data.answer_mode });
    turn.answerable = data.answerable !== false;
    if (shownTurn() === turn) showSources(turn);
  } else if (event === "error") {
    const status = data.error === "queue_full" ? 429 : 500;
    throw new ApiError(status, data.error || "", describe(status, data), 5);
  }
}

// While waiting for the first token, say whether the request is queued behind others.
async function watchQueue(turn, signal) {
  const waiting = () => !signal.aborted && ["thinking", "queued"].includes(turn.phase);
  while (waiting()) {
    await new Promise((resolve) => setTimeout(resolve, 800));
    if (!waiting()) return;
    try {
      const { queue } = await getJSON("/health", { signal });
      if (!waiting() || !queue) continue;
      if (queue.waiting > 0) setPhase(turn, "queued", queue.waiting);
      else setPhase(turn, "thinking");
    } catch {
      return; // the status line reports an unreachable server
    }
  }
}

function fail(turn, err) {
  if (err.name === "AbortError") {
    turn.stopped = true;
    return;
  }
  turn.error = err.message || String(err);
  if (err.status === 401) chat.onUnauthorized(err.message);
}

function onMessageClick(event) {
  const button = event.target.closest("button");
  const li = button?.closest("li.turn");
  const turn = li && chat.turns.find((t) => views.get(t) === li);
  if (!turn) return;
  if (button.classList.contains("cite")) {
    if (shownTurn() !== turn) showSources(turn);
    focusSource(Number(button.dataset.n));
  } else if (button.dataset.action === "show-sources") {
    showSources(turn);
    openPanel();
    $("sources-title").focus();
  } else if (button.dataset.action === "copy") {
    copy(turn.content, button);
  } else if (button.dataset.action === "retry") {
    retry(turn);
  }
}

function retry(turn) {
  if (isAnswering()) return;
  const i = chat.turns.indexOf(turn);
  chat.turns.splice(i - 1, 2);
  renderAll();
  ask(turn.question, { filter: turn.filter || null, scope: turn.scope || "" });
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    flash(button, "Copied");
  } catch {
    flash(button, "Copy failed: select the text instead");
  }
}

function flash(button, text) {
  button.textContent = text;
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
}
