// The sources panel: each passage with its file and page, the quoted sentences highlighted.

const $ = (id) => document.getElementById(id);
const NOTES = {
  none: "The passages behind an answer appear here.",
  streaming: "The passages given to the model. Which ones the answer cites shows when it is complete.",
  abstained: "ragd could not answer this from the documents. The nearest passages it found:",
  uncited: "The answer cites none of these passages: check it against them.",
  cited: "",
  empty: "No passage was found for this question.",
};

let shown = null; // the turn whose sources are on screen

export function shownTurn() {
  return shown;
}

// Fill the panel with the sources of one assistant turn (null clears it).
export function showSources(turn) {
  shown = turn;
  const sources = turn?.sources || [];
  const mode = panelMode(turn, sources);
  $("sources-note").textContent = NOTES[mode];
  $("sources-note").hidden = !NOTES[mode];
  const split = mode === "cited" || mode === "uncited";
  const first = split ? sources.filter((s) => s.cited) : sources;
  const rest = split ? sources.filter((s) => !s.cited) : [];
  $("cited-title").textContent = mode === "abstained" ? "Nearest passages"
    : split ? "Cited in the answer" : "Retrieved passages";
  fillGroup("cited-block", "sources-cited", first);
  fillGroup("uncited-block", "sources-uncited", rest);
  $("uncited-title").textContent = `Retrieved but not cited (${rest.length})`;
}

function panelMode(turn, sources) {
  if (!turn) return "none";
  if (turn.answerable === false) return "abstained";
  if (!sources.length) return turn.done ? "empty" : "none";
  if (!turn.done) return "streaming";
  return sources.some((s) => s.cited) ? "cited" : "uncited";
}

function fillGroup(blockId, listId, sources) {
  $(blockId).hidden = sources.length === 0;
  $(listId).replaceChildren(...sources.map(sourceItem));
}

function sourceItem(source) {
  const li = document.createElement("li");
  li.id = `source-${source.n}`;
  li.value = source.n;
  li.tabIndex = -1;
  li.dataset.n = String(source.n);
  const title = document.createElement("h4");
  title.append(span("n", `[${source.n}] `), span("file", source.source));
  if (source.page) title.append(span("page", ` page ${source.page}`));
  li.append(title);
  if (source.heading) li.append(paragraph("heading", source.heading));
  const chunk = paragraph("chunk", "");
  chunk.append(...highlighted(tidy(source.text || ""), source.quote || ""));
  li.append(chunk);
  return li;
}

// Blank lines between a document's paragraphs take too much room in a narrow panel.
function tidy(text) {
  return text.replace(/\n\s*\n+/g, "\n").trim();
}

function span(className, text) {
  const el = document.createElement("span");
  el.className = className;
  el.textContent = text;
  return el;
}

function paragraph(className, text) {
  const el = document.createElement("p");
  el.className = className;
  el.textContent = text;
  return el;
}

// The chunk as text nodes, with the quote's sentences wrapped in <mark> (whitespace may differ).
export function highlighted(text, quote) {
  const nodes = [];
  let last = 0;
  for (const [start, end] of quoteRanges(text, quote)) {
    nodes.push(document.createTextNode(text.slice(last, start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end);
    nodes.push(mark);
    last = end;
  }
  nodes.push(document.createTextNode(text.slice(last)));
  return nodes;
}

function quoteRanges(text, quote) {
  const ranges = [];
  for (const piece of quote.split(/(?<=[.!?])\s+/)) {
    const words = piece.trim().split(/\s+/).filter(Boolean);
    if (!words.length) continue;
    const found = new RegExp(words.map(escapeRegExp).join("\\s+")).exec(text);
    if (found) ranges.push([found.index, found.index + found[0].length]);
  }
  return merged(ranges.sort((a, b) => a[0] - b[0]), text);
}

function merged(ranges, text) {
  const out = [];
  for (const range of ranges) {
    const prev = out[out.length - 1];
    if (prev && !text.slice(prev[1], range[0]).trim()) prev[1] = Math.max(prev[1], range[1]);
    else if (!prev || range[0] >= prev[1]) out.push([...range]);
  }
  return out;
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Open the panel (a drawer on narrow screens) on source n, highlighted and focused.
export function focusSource(n) {
  openPanel();
  const panel = $("sources-panel");
  for (const item of panel.querySelectorAll(".sources li")) {
    item.classList.toggle("active", item.dataset.n === String(n));
  }
  const target = document.getElementById(`source-${n}`);
  if (!target) return;
  const group = target.closest("details");
  if (group) group.open = true;
  target.focus({ preventScroll: true });
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  (target.querySelector("mark") || target).scrollIntoView({ block: "center", behavior: calm ? "auto" : "smooth" });
}

export function openPanel() {
  $("sources-panel").classList.add("open");
  document.body.classList.add("sources-open");
}

export function closePanel() {
  $("sources-panel").classList.remove("open");
  document.body.classList.remove("sources-open");
}
