// Answer text to safe DOM: Markdown by marked, raw HTML shown as text, then sanitized by DOMPurify.
import { Marked } from "./vendor/marked.esm.js";

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const CITATION = /\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]/g;
const HAS_CITATION = new RegExp(CITATION.source); // not global: .test() keeps no state

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (ch) => ENTITIES[ch]);
}

// HTML written by the model is shown as the text it is, never parsed; images are never fetched.
const markdown = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html: ({ text }) => escapeHtml(text),
    image: ({ text, href }) => escapeHtml(text || href || ""),
  },
});

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["img", "style", "form", "input", "button", "textarea", "select", "svg", "math"],
  FORBID_ATTR: ["style", "id", "class"],
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
  RETURN_DOM_FRAGMENT: true,
};

let hooked = false;
function purifier() {
  const purify = window.DOMPurify;
  if (!hooked) {
    // Links leave the page in a new tab, without telling the target where they came from.
    purify.addHook("afterSanitizeAttributes", (node) => {
      if (node.tagName === "A") {
        node.setAttribute("target", "_blank");
        node.setAttribute("rel", "noopener noreferrer");
      }
    });
    hooked = true;
  }
  return purify;
}

// Render Markdown into `target`; [n] markers naming one of `count` sources become buttons.
export function renderMarkdown(target, text, count) {
  if (!window.DOMPurify) {
    target.textContent = text; // no sanitizer loaded: plain text is still safe
    return;
  }
  const html = markdown.parse(text);
  const fragment = purifier().sanitize(html, PURIFY);
  linkCitations(fragment, count);
  target.replaceChildren(fragment);
}

function linkCitations(root, count) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest("code, pre, a")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) if (HAS_CITATION.test(walker.currentNode.data)) nodes.push(walker.currentNode);
  for (const node of nodes) node.replaceWith(...citationParts(node.data, count));
}

function citationParts(text, count) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(CITATION)) {
    parts.push(text.slice(last, match.index));
    const numbers = match[1].split(/\s*[,;]\s*/).map(Number);
    for (const n of numbers) parts.push(n >= 1 && n <= count ? citationButton(n) : `[${n}]`);
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== "");
}

function citationButton(n) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "cite";
  button.dataset.n = String(n);
  button.textContent = `[${n}]`;
  button.setAttribute("aria-label", `Source ${n}`);
  return button;
}

// The answer without [n] markers: what follow-up questions send as history.
export function withoutCitations(text) {
  return text.replace(/\s?\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]/g, "");
}
