// The documents dialog: upload with progress per file, the ingest summary, list and delete.
import { getJSON, request, uploadFile } from "./api.js";

const $ = (id) => document.getElementById(id);
const docs = { collection: () => "default", onChange: () => {}, onUnauthorized: () => {} };
let queue = Promise.resolve(); // uploads run one after another: one writer per collection

export function setupDocuments({ collection, onChange, onUnauthorized }) {
  Object.assign(docs, { collection, onChange, onUnauthorized });
  $("pick-files").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", (event) => {
    uploadAll([...event.target.files]);
    event.target.value = "";
  });
  $("close-documents").addEventListener("click", () => $("documents").close());
  $("documents").addEventListener("click", (event) => {
    if (event.target === $("documents")) $("documents").close(); // a click on the backdrop
  });
  $("documents-list").addEventListener("click", onListClick);
  setupDropping();
}

export function openDocuments() {
  const dialog = $("documents");
  if (!dialog.open) dialog.showModal();
  refreshList();
}

// Files dropped anywhere on the page are uploaded to the current collection.
function setupDropping() {
  const zone = $("dropzone");
  const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  document.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    zone.classList.add("over");
  });
  document.addEventListener("dragleave", (event) => {
    if (!event.relatedTarget) zone.classList.remove("over");
  });
  document.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("over");
    openDocuments();
    uploadAll([...event.dataTransfer.files]);
  });
}

export function uploadAll(files) {
  const collection = docs.collection();
  for (const file of files) {
    const row = uploadRow(file);
    queue = queue.then(() => uploadOne(file, collection, row));
  }
  return queue;
}

function uploadRow(file) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.className = "file";
  name.textContent = file.name;
  const progress = document.createElement("progress");
  progress.max = 1;
  progress.value = 0;
  progress.setAttribute("aria-label", `Upload of ${file.name}`);
  const outcome = document.createElement("span");
  outcome.className = "outcome";
  outcome.textContent = "waiting";
  li.append(name, " ", progress, " ", outcome);
  $("uploads").append(li);
  return { li, progress, outcome };
}

async function uploadOne(file, collection, row) {
  row.outcome.textContent = "uploading";
  try {
    const summary = await uploadFile(file, collection, (share) => {
      row.progress.value = share;
      row.outcome.textContent = share < 1 ? `uploading ${Math.round(share * 100)}%` : "indexing…";
    });
    showOutcome(row, (summary.files || [])[0]);
  } catch (err) {
    row.progress.remove();
    row.li.classList.add("failed");
    row.outcome.textContent = `failed: ${err.message}`;
    if (err.status === 401) docs.onUnauthorized(err.message);
  }
  await refreshList();
  docs.onChange();
}

const OUTCOMES = {
  added: (o) => `added, ${plural(o.chunks, "passage")}`,
  updated: (o) => `updated, ${plural(o.chunks, "passage")}`,
  unchanged: () => "unchanged: already indexed with this content",
  skipped: (o) => `skipped: ${o.reason}`,
  failed: (o) => `failed: ${o.reason}`,
};

function showOutcome(row, outcome) {
  row.progress.remove();
  const status = outcome?.status || "failed";
  row.li.classList.add(status);
  row.outcome.textContent = (OUTCOMES[status] || OUTCOMES.failed)(outcome || { reason: "no summary" });
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export async function refreshList() {
  const name = docs.collection();
  $("documents-collection").textContent = name;
  try {
    const body = await getJSON(`/api/documents?collection=${encodeURIComponent(name)}`);
    showList(body.documents || []);
    showError("");
  } catch (err) {
    showList([]);
    showError(err.message);
    if (err.status === 401) docs.onUnauthorized(err.message);
  }
}

function showError(message) {
  $("documents-error").textContent = message;
  $("documents-error").hidden = !message;
}

function showList(documents) {
  const total = documents.reduce((sum, d) => sum + d.chunks, 0);
  $("documents-caption").textContent = documents.length
    ? `${plural(documents.length, "document")}, ${plural(total, "passage")}`
    : "No documents yet.";
  $("documents-list").replaceChildren(...documents.map(documentRow));
}

function documentRow(doc) {
  const tr = document.createElement("tr");
  tr.dataset.id = doc.id;
  tr.dataset.source = doc.source;
  tr.append(
    cell(doc.source, "file"),
    cell(doc.pages ?? "–"),
    cell(doc.chunks),
    cell(when(doc.ingested_at)),
    actionsCell(doc),
  );
  return tr;
}

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function when(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : DATE.format(date);
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = String(text);
  if (className) td.className = className;
  return td;
}

function actionsCell(doc) {
  const td = document.createElement("td");
  td.className = "row-actions";
  td.append(button("delete", "Delete", `Delete ${doc.source}`));
  return td;
}

function button(action, text, ariaLabel) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.action = action;
  b.textContent = text;
  if (ariaLabel) b.setAttribute("aria-label", ariaLabel);
  return b;
}

// Delete asks first, in the row itself: "Delete x? [Delete] [Keep]".
function onListClick(event) {
  const target = event.target.closest("button");
  const tr = target?.closest("tr");
  if (!tr) return;
  const cellEl = tr.querySelector(".row-actions");
  if (target.dataset.action === "delete") confirmDelete(tr, cellEl);
  else if (target.dataset.action === "keep") cancelDelete(tr, cellEl);
  else if (target.dataset.action === "confirm-delete") remove(tr, cellEl);
}

function confirmDelete(tr, cellEl) {
  const question = document.createElement("span");
  question.textContent = `Delete ${tr.dataset.source}? `;
  const yes = button("confirm-delete", "Yes, delete", `Yes, delete ${tr.dataset.source}`);
  cellEl.replaceChildren(question, yes, " ", button("keep", "Keep"));
  yes.focus();
}

function cancelDelete(tr, cellEl) {
  cellEl.replaceChildren(button("delete", "Delete", `Delete ${tr.dataset.source}`));
  cellEl.querySelector("button").focus();
}

async function remove(tr, cellEl) {
  cellEl.replaceChildren("Deleting…");
  const collection = encodeURIComponent(docs.collection());
  try {
    await request(`/api/documents/${encodeURIComponent(tr.dataset.id)}?collection=${collection}`, {
      method: "DELETE",
    });
    showError("");
  } catch (err) {
    showError(`Could not delete ${tr.dataset.source}: ${err.message}`);
    if (err.status === 401) docs.onUnauthorized(err.message);
  }
  await refreshList();
  docs.onChange();
  $("pick-files").focus();
}
