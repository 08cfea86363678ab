// The conversation list: kept on the server per API key; open (continue), rename, export, delete.
import { getJSON, request } from "./api.js";

const $ = (id) => document.getElementById(id);
const list = { onOpen: () => {}, current: () => null };

export function setupConversations({ onOpen, current }) {
  list.onOpen = onOpen;
  list.current = current;
  $("conversation-list").addEventListener("click", onClick);
  refreshConversations();
}

export async function refreshConversations() {
  let found = [];
  try {
    found = (await getJSON("/api/conversations")).conversations || [];
  } catch {
    found = []; // no key yet, or the server is away: the list stays empty
  }
  $("conversation-list").replaceChildren(...found.map(item));
  $("conversations-empty").hidden = found.length > 0;
}

function item(conversation) {
  const li = document.createElement("li");
  li.dataset.id = conversation.id;
  li.classList.toggle("current", conversation.id === list.current());
  const open = button("open", conversation.title);
  open.title = `${conversation.turns} question(s)`;
  li.append(open, button("rename", "Rename"), button("export-md", "Markdown"),
    button("export-json", "JSON"), button("delete", "Delete"));
  return li;
}

function button(action, text) {
  const b = document.createElement("button");
  b.type = "button";
  b.dataset.action = action;
  b.textContent = text;
  return b;
}

async function onClick(event) {
  const b = event.target.closest("button");
  const id = b?.closest("li")?.dataset.id;
  if (!id) return;
  const actions = { open, rename, delete: remove, "export-md": (i) => download(i, "md"),
    "export-json": (i) => download(i, "json") };
  await actions[b.dataset.action]?.(id, b);
}

async function open(id) {
  list.onOpen(await getJSON(`/api/conversations/${encodeURIComponent(id)}`));
  refreshConversations();
}

// Rename in place: the title becomes a text box; Enter saves, Escape cancels.
function rename(id, b) {
  const li = b.closest("li");
  const input = document.createElement("input");
  input.className = "rename";
  input.maxLength = 200;
  input.setAttribute("aria-label", "New title");
  input.value = li.querySelector('[data-action="open"]').textContent;
  input.addEventListener("keydown", async (event) => {
    if (event.key === "Escape") return refreshConversations();
    if (event.key !== "Enter" || !input.value.trim()) return;
    event.preventDefault();
    const json = { title: input.value.trim() };
    await request(`/api/conversations/${encodeURIComponent(id)}`, { method: "PATCH", json });
    refreshConversations();
  });
  li.prepend(input);
  input.focus();
  input.select();
}

async function remove(id) {
  await request(`/api/conversations/${encodeURIComponent(id)}`, { method: "DELETE" });
  if (id === list.current()) list.onOpen(null);
  refreshConversations();
}

// The key travels in a header, so the file is fetched, then handed over as a blob.
async function download(id, format) {
  const response = await request(`/api/conversations/${encodeURIComponent(id)}/export?format=${format}`);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = `conversation-${id}.${format}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
