// The filter bar: folder, type, modified dates and tags, turned into the API's `filter` for asks.
import { getJSON } from "./api.js";

const $ = (id) => document.getElementById(id);
const STORE = "ragd.filter";
const FIELDS = ["folder", "type", "from", "to", "tags"];
const TAG_KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const MAX_OPTIONS = 300; // suggestions kept in each list
const bar = { collection: () => "default", onUnauthorized: () => {} };

export function setupFilters({ collection, onUnauthorized }) {
  Object.assign(bar, { collection, onUnauthorized });
  restore();
  const form = $("filter-form");
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", (event) => { event.preventDefault(); $("question").focus(); });
  $("filter-clear").addEventListener("click", clearFilters);
  $("filter-bar").addEventListener("keydown", onKey);
  changed();
  refreshFilterOptions();
}

function onKey(event) {
  // Escape folds the bar back and returns to its toggle (the composer keeps Escape for Stop).
  if (event.key !== "Escape" || !$("filter-bar").open) return;
  $("filter-bar").open = false;
  $("filter-bar").querySelector("summary").focus();
}

function values() {
  return Object.fromEntries(FIELDS.map((name) => [name, $(`filter-${name}`).value.trim()]));
}

function restore() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(STORE) || "{}") || {};
  } catch {
    saved = {};
  }
  for (const name of FIELDS) if (typeof saved[name] === "string") setValue(name, saved[name]);
  $("filter-bar").open = Object.values(values()).some(Boolean);
}

// A <select> only takes a value it has an option for: keep the saved type until the list loads.
function setValue(name, value) {
  const input = $(`filter-${name}`);
  if (input.tagName === "SELECT" && value && ![...input.options].some((o) => o.value === value)) {
    input.append(new Option(value, value));
  }
  input.value = value;
}

function changed() {
  const current = values();
  try {
    localStorage.setItem(STORE, JSON.stringify(current));
  } catch {
    // storage disabled: the filter still applies to this page
  }
  const problem = problemWith(current);
  $("filter-error").textContent = problem;
  $("filter-error").hidden = !problem;
  $("filter-summary").textContent = summaryText(current);
  $("filter-bar").classList.toggle("active", Boolean(conditions(current).length));
}

export function clearFilters() {
  for (const name of FIELDS) $(`filter-${name}`).value = "";
  changed();
  $("filter-folder").focus();
}

// What is wrong with the bar's input, as a sentence ("" when nothing is).
export function filterProblem() {
  return problemWith(values());
}

function problemWith(v) {
  if (v.from && v.to && v.from > v.to) return "The “Modified from” date is after the “to” date.";
  try {
    parseTags(v.tags);
  } catch (err) {
    return err.message;
  }
  return "";
}

function parseTags(text) {
  const tags = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (at < 0 || !value) throw new Error(`Tags: write key=value; “${part}” has no value.`);
    if (!TAG_KEY.test(key)) throw new Error(`Tags: “${key}” is not a tag name (letters, digits, _ . -).`);
    tags.push([key, value]);
  }
  return tags;
}

function conditions(v) {
  const out = [];
  if (v.folder) out.push({ field: "source", prefix: v.folder });
  if (v.type) out.push({ field: "type", eq: v.type });
  if (v.from) out.push({ field: "modified", gte: v.from });
  if (v.to) out.push({ field: "modified", lte: v.to });
  try {
    for (const [key, value] of parseTags(v.tags)) out.push({ field: `tags.${key}`, eq: value });
  } catch {
    // reported by filterProblem; an ask is refused until it is fixed
  }
  return out;
}

// The `filter` for /api/ask, or null when the bar is empty.
export function currentFilter() {
  const parts = conditions(values());
  if (!parts.length) return null;
  return parts.length === 1 ? parts[0] : { and: parts };
}

// The bar in words, for its toggle and for the question it applied to ("" when empty).
export function filterText() {
  const v = values();
  const words = [];
  if (v.folder) words.push(`in ${v.folder}`);
  if (v.type) words.push(`type ${v.type}`);
  if (v.from || v.to) words.push(`modified ${v.from || "…"} to ${v.to || "…"}`);
  if (v.tags) words.push(`tags ${v.tags}`);
  return words.join(" · ");
}

function summaryText(v) {
  return conditions(v).length ? filterText() : "none: all documents";
}

// Fill the suggestions (folders, types, tags) from the collection's documents.
export async function refreshFilterOptions() {
  let documents = [];
  try {
    const query = new URLSearchParams({ collection: bar.collection() });
    documents = (await getJSON(`/api/documents?${query}`)).documents || [];
  } catch (err) {
    if (err.status === 401) bar.onUnauthorized(err.message);
  }
  fillList("filter-folders", folders(documents));
  fillTypes(documents);
  const tags = documents.flatMap((d) => Object.entries(d.tags || {}).map(([k, v]) => `${k}=${v}`));
  fillList("filter-tag-list", [...new Set(tags)].sort());
}

function folders(documents) {
  const found = new Set();
  for (const { source } of documents) {
    const parts = String(source).split("/");
    for (let i = 1; i < parts.length; i++) found.add(`${parts.slice(0, i).join("/")}/`);
  }
  return [...found].sort();
}

function fillList(id, items) {
  $(id).replaceChildren(...items.slice(0, MAX_OPTIONS).map((item) => new Option(item, item)));
}

function fillTypes(documents) {
  const select = $("filter-type");
  const chosen = select.value;
  const types = [...new Set(documents.map((d) => d.type).filter(Boolean))].sort();
  if (chosen && !types.includes(chosen)) types.push(chosen);
  const options = types.slice(0, MAX_OPTIONS).map((t) => new Option(t, t, false, t === chosen));
  select.replaceChildren(new Option("any", ""), ...options);
  select.value = chosen;
}
