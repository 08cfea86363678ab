// HTTP client for the ragd API: the API key, errors as sentences, 429 retries, SSE and uploads.

const KEY_STORE = "ragd.apiKey";
const NETWORK_MESSAGE = "Cannot reach the ragd server. Check that it is still running, then retry.";

// Hints added to the server's own message for errors the page can help with.
const HINTS = {
  empty_collection: "Add documents with the Documents button first.",
  collection_not_found: "Pick another collection, or upload a file to create this one.",
  writer_busy: "Another upload or ingest is writing to this collection; try again when it ends.",
  unauthorized: "Enter the server's API key above.",
};

const FALLBACK = {
  400: "The server could not use this request.",
  401: "This server needs an API key.",
  403: "This API key is not allowed to do that.",
  404: "Not found on the server.",
  413: "Too large for the server.",
  415: "The server does not accept this kind of file.",
  422: "The server could not use this input.",
  429: "The model is busy.",
  500: "The server failed with an internal error; its log says why.",
  502: "The model server did not answer properly.",
  503: "The server is not ready; try again shortly.",
};

export class ApiError extends Error {
  constructor(status, kind, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.kind = kind;
    this.retryAfter = retryAfter;
  }
}

export function apiKey() {
  return localStorage.getItem(KEY_STORE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORE, key);
  else localStorage.removeItem(KEY_STORE);
}

function authHeaders(headers = {}) {
  const key = apiKey();
  return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
}

// One readable sentence for any error body the API returns (FastAPI's 422 detail is a list).
export function describe(status, body) {
  const detail = body && body.detail;
  let message;
  if (Array.isArray(detail) && detail.length) message = detail.map(validationMessage).join("; ");
  else if (typeof detail === "string" && detail.trim()) message = sentence(detail);
  else message = FALLBACK[status] || `The server answered with status ${status}.`;
  const hint = HINTS[(body && body.error) || ""];
  return hint ? `${message} ${hint}` : message;
}

function validationMessage(item) {
  const where = (item.loc || []).filter((part) => !["body", "query", "path"].includes(part));
  const field = where.join(" › ");
  return field ? `${field}: ${item.msg}` : String(item.msg);
}

function sentence(text) {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

// Retry-After is seconds or an HTTP date.
export function retryAfterSeconds(value) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

function parseJSON(text) {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

async function errorFrom(response) {
  const body = parseJSON(await response.text().catch(() => ""));
  const retry = retryAfterSeconds(response.headers.get("Retry-After"));
  return new ApiError(response.status, body.error || "", describe(response.status, body), retry);
}

export async function request(path, { method = "GET", json, headers = {}, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", NETWORK_MESSAGE);
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function getJSON(path, options) {
  return (await request(path, options)).json();
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("Aborted", "AbortError"));
    }, { once: true });
  });
}

// Run `attempt` again after each 429, waiting as long as the server's Retry-After asks.
export async function withRetry(attempt, { onWait, signal, tries = 30 } = {}) {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 429 || n >= tries) throw err;
      for (let left = err.retryAfter || 5; left > 0; left--) {
        onWait?.(left);
        await sleep(1000, signal);
      }
    }
  }
}

// Server-Sent Events from a fetch response: yields {event, data} with data parsed as JSON.
export async function* sseEvents(response) {
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
      const parsed = parseEvent(block);
      if (parsed) yield parsed;
    }
  }
}

function parseEvent(block) {
  let event = "message";
  const data = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(":")) continue; // keep-alive comment
    const [field, ...rest] = line.split(":");
    const value = rest.join(":").replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: parseJSON(data.join("\n")) } : null;
}

// Upload one file with XMLHttpRequest, whose upload events give progress (fetch has none).
export function uploadFile(file, collection, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/documents");
    const key = apiKey();
    if (key) xhr.setRequestHeader("Authorization", `Bearer ${key}`);
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    });
    xhr.upload.addEventListener("load", () => onProgress(1));
    xhr.addEventListener("load", () => {
      const body = parseJSON(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const retry = retryAfterSeconds(xhr.getResponseHeader("Retry-After"));
      reject(new ApiError(xhr.status, body.error || "", describe(xhr.status, body), retry));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", NETWORK_MESSAGE)));
    const form = new FormData();
    form.append("file", file, file.name);
    if (collection) form.append("collection", collection);
    xhr.send(form);
  });
}
