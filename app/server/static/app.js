// ragd chat page: wires the status line, collection picker, API key, composer, chat and documents.
import { apiKey, getJSON, setApiKey } from "./api.js";
import { ask, conversationId, isAnswering, newChat, openConversation, setupChat, stop } from "./chat.js";
import { refreshConversations, setupConversations } from "./conversations.js";
import { openDocuments, refreshList, setupDocuments } from "./documents.js";
import { currentFilter, filterProblem, filterText, refreshFilterOptions, setupFilters } from "./filters.js";
import { closePanel } from "./sources.js";

const $ = (id) => document.getElementById(id);
const COLLECTION_STORE = "ragd.collection";
const DEVICES = { cpu: "CPU", cuda: "CUDA", mps: "Metal", metal: "Metal" };
let sizes = {}; // collection name -> {documents, chunks}, from /health

function collection() {
  return localStorage.getItem(COLLECTION_STORE) || "default";
}

function chooseCollection(name) {
  localStorage.setItem(COLLECTION_STORE, name);
  fillCollections(Object.keys(sizes));
  showStatus();
  refreshList();
  refreshFilterOptions();
}

async function showStatus() {
  try {
    const health = await getJSON("/health");
    sizes = health.collections || {};
    $("status").textContent = statusText(health);
    $("status").classList.remove("error");
    $("notice").textContent = health.notice || "";
    $("notice").hidden = !health.notice;
  } catch (err) {
    $("status").textContent = err.message;
    $("status").classList.add("error");
  }
  const size = sizes[collection()];
  $("welcome-empty").hidden = Boolean(size && size.documents);
}

function statusText(health) {
  const model = health.models?.generation || {};
  const device = DEVICES[String(model.device || health.device).toLowerCase()] || model.device;
  const size = sizes[collection()];
  const documents = size ? `${size.documents} documents` : "no documents";
  return `${model.name} on ${device} · ${documents} in ${collection()}${watchText(health.watch)}`;
}

function watchText(watches) {
  // `ragd serve --watch`: which folders keep which collection in step, and the last sync.
  return (watches || [])
    .map((w) => {
      const when = w.last_sync ? new Date(w.last_sync).toLocaleTimeString() : "not yet";
      const state = w.error ? `error: ${w.error}` : `synced ${when}`;
      return ` · watching ${w.paths.length} folder(s) for ${w.collection}, ${state}`;
    })
    .join("");
}

async function loadCollections() {
  try {
    const body = await getJSON("/api/collections");
    fillCollections((body.collections || []).map((c) => c.name));
  } catch (err) {
    fillCollections(Object.keys(sizes));
    if (err.status === 401) showKeyForm(err.message);
  }
}

function fillCollections(names) {
  const all = [...new Set([...names, "default", collection()])].sort();
  const select = $("collection");
  select.replaceChildren(...all.map((name) => new Option(name, name, false, name === collection())));
}

function showKeyForm(message) {
  $("key-form").hidden = false;
  $("key-message").textContent = message || "This server needs an API key.";
  $("api-key").value = apiKey();
  $("api-key").focus();
}

function setupKey() {
  $("open-key").hidden = !apiKey();
  $("open-key").addEventListener("click", () => showKeyForm("The API key this page sends."));
  $("close-key").addEventListener("click", () => { $("key-form").hidden = true; });
  $("forget-key").addEventListener("click", () => saveKey(""));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveKey($("api-key").value.trim());
  });
}

function saveKey(key) {
  setApiKey(key);
  $("key-form").hidden = true;
  $("open-key").hidden = !key;
  loadCollections();
  if ($("documents").open) refreshList();
  $("question").focus();
}

function setupComposer() {
  const box = $("question");
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const question = box.value.trim();
    if (!question || isAnswering() || !filterReady()) return;
    box.value = "";
    fit(box);
    ask(question, { filter: currentFilter(), scope: currentFilter() ? filterText() : "" }).then(showStatus);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    } else if (event.key === "Escape" && isAnswering()) {
      stop();
    }
  });
  box.addEventListener("input", () => fit(box));
  $("stop").addEventListener("click", () => { stop(); box.focus(); });
}

// An ask waits until the filter bar's input makes sense, rather than silently dropping a part.
function filterReady() {
  if (!filterProblem()) return true;
  $("filter-bar").open = true;
  $("filter-error").focus();
  return false;
}

// The question box grows with its text, up to the limit the stylesheet sets.
function fit(box) {
  box.style.height = "auto";
  box.style.height = `${box.scrollHeight + 2}px`;
}

function setupPage() {
  $("collection").addEventListener("change", (event) => chooseCollection(event.target.value));
  $("new-chat").addEventListener("click", () => { newChat(); $("question").focus(); });
  $("open-documents").addEventListener("click", openDocuments);
  $("welcome-upload").addEventListener("click", openDocuments);
  $("close-sources").addEventListener("click", closePanel);
  $("new-collection").addEventListener("submit", (event) => {
    event.preventDefault();
    chooseCollection($("new-collection-name").value.trim());
    $("new-collection-name").value = "";
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("sources-open")) closePanel();
  });
}

function main() {
  const onUnauthorized = (message) => showKeyForm(message);
  setupKey();
  setupComposer();
  setupPage();
  setupChat({ collection, onUnauthorized, onSaved: refreshConversations });
  setupConversations({ onOpen: openConversation, current: conversationId });
  setupFilters({ collection, onUnauthorized });
  const onChange = () => { showStatus(); loadCollections(); refreshFilterOptions(); };
  setupDocuments({ collection, onChange, onUnauthorized });
  fillCollections([]);
  showStatus().then(loadCollections);
  setInterval(() => { if (!document.hidden) showStatus(); }, 20000);
}

main();
