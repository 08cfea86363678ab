"""A Generator on any OpenAI-compatible server (llama-server, vLLM, Ollama), over HTTP.

Budgeting needs prompt token counts before sending. They come from the server when it can
give them, else from a bound that is never too low:

- `template`: exact, chat template included (vLLM's `/tokenize` with messages, or
  llama-server's `/apply-template` then `/tokenize`);
- `content`: each message's text counted by the server's tokenizer (llama-cpp-python's
  `/extras/tokenize/count`) plus TEMPLATE_ALLOWANCE tokens per message for the template;
- `bytes`: UTF-8 bytes plus the allowance — byte-level BPE and SentencePiece with byte
  fallback never make more tokens than bytes, so the prompt always fits, at the price of
  using only part of the window.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx

from models.errors import PromptTooLong, RemoteModelError
from models.generator import Message, defuse_text

TEMPLATE_ALLOWANCE = 8  # role markers and separators of common templates: ChatML uses 5
_PROBE: list[Message] = [{"role": "user", "content": "hello"}]


class RemoteGenerator:
    """Streams chat completions from a server; never loads a model in this process."""

    backend = "openai-compatible"
    device = "remote"
    gpu_layers = 0
    last_cached_tokens = 0

    def __init__(
        self,
        url: str,
        model: str = "",
        api_key: str = "",
        context_window: int = 4096,
        temperature: float = 0.1,
        timeout: float = 120,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = url.rstrip("/") if url.rstrip("/").endswith("/v1") else url.rstrip("/") + "/v1"
        self.root = self.base.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=timeout, transport=transport)
        self.temperature = temperature
        card = self._model_card(model)
        self.model = str(card["id"])
        self.name = f"{self.model} @ {self.root}"
        self.context_window = min(context_window, _server_window(card) or context_window)
        self.token_count, self._count = self._pick_counter()

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self._count(messages)

    def close(self) -> None:
        self._http.close()

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        cancel: threading.Event,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        payload = {
            "model": self.model,
            "messages": defused(messages),
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": True,
            "stop": list(stop)[:4],  # the OpenAI API allows four
        }
        with self._call("POST", "/chat/completions", json=payload, stream=True) as response:
            for line in response.iter_lines():
                if cancel.is_set():
                    return  # leaving the block closes the connection: the server stops too
                if (piece := _delta(line)) is None:
                    return
                if piece:
                    yield piece

    def _model_card(self, wanted: str) -> dict[str, Any]:
        """The server's card for `wanted`, or its first model when none is named."""
        cards = self._json("GET", "/models").get("data") or []
        for card in cards:
            if not wanted or card.get("id") == wanted:
                return dict(card)
        names = ", ".join(str(c.get("id")) for c in cards) or "none"
        raise RemoteModelError(
            f"model server {self.root} has no model {wanted!r} (it serves: {names}); "
            "set RAGD_LLM_MODEL to one of them"
        )

    def _pick_counter(self) -> tuple[str, Callable[[Sequence[Message]], int]]:
        for kind, count in (
            ("template", self._count_vllm),
            ("template", self._count_llama_server),
            ("content", self._count_content),
        ):
            try:
                if count(_PROBE) > 0:
                    return kind, count
            except (RemoteModelError, KeyError, TypeError, ValueError):
                continue
        return "bytes", _byte_bound

    def _count_vllm(self, messages: Sequence[Message]) -> int:
        body = {"model": self.model, "messages": defused(messages), "add_generation_prompt": True}
        return int(self._json("POST", "/tokenize", root=True, json=body)["count"])

    def _count_llama_server(self, messages: Sequence[Message]) -> int:
        template = {"messages": defused(messages)}
        rendered = self._json("POST", "/apply-template", root=True, json=template)
        body = {"content": rendered["prompt"], "add_special": True, "parse_special": True}
        return len(self._json("POST", "/tokenize", root=True, json=body)["tokens"])

    def _count_content(self, messages: Sequence[Message]) -> int:
        total = TEMPLATE_ALLOWANCE
        for message in messages:
            body = {"input": defuse_text(message["content"]) or " ", "model": self.model}
            found = self._json("POST", "/extras/tokenize/count", root=True, json=body)
            total += int(found["count"]) + TEMPLATE_ALLOWANCE
        return total

    def _json(self, method: str, path: str, root: bool = False, **kw: Any) -> dict[str, Any]:
        with self._call(method, path, root=root, **kw) as response:
            response.read()
            found = response.json()
        if not isinstance(found, dict):
            raise RemoteModelError(f"{self.root}{path} answered {type(found).__name__}, not JSON")
        return found

    def _call(
        self, method: str, path: str, root: bool = False, stream: bool = False, **kw: Any
    ) -> Any:
        """A response context manager; HTTP and transport failures become RemoteModelError."""
        url = (self.root if root else self.base) + path
        try:
            request = self._http.build_request(method, url, **kw)
            response = self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise RemoteModelError(f"model server {self.root} unreachable: {exc}") from exc
        if response.status_code >= 400:
            raise _http_error(url, response)
        return _Closing(response)


class _Closing:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response

    def __enter__(self) -> httpx.Response:
        return self.response

    def __exit__(self, *exc: object) -> None:
        self.response.close()


def _http_error(url: str, response: httpx.Response) -> Exception:
    text = response.read().decode("utf-8", errors="replace")[:500]
    response.close()
    if response.status_code == 400 and "context" in text.lower():
        return PromptTooLong(f"the model server refused the prompt as too long: {text}")
    return RemoteModelError(f"model server answered {response.status_code} for {url}: {text}")


def _delta(line: str) -> str | None:
    """The text of one SSE line: '' for lines without any, None at the end of the stream."""
    if not line.startswith("data:"):
        return ""
    data = line[5:].strip()
    if data == "[DONE]":
        return None
    chunk = json.loads(data)
    if "error" in chunk:
        raise RemoteModelError(f"model server failed mid-answer: {chunk['error']}")
    choices = chunk.get("choices") or [{}]
    return str((choices[0].get("delta") or {}).get("content") or "")


def _server_window(card: dict[str, Any]) -> int | None:
    """vLLM's model card says its context window; others say nothing."""
    value = card.get("max_model_len")
    return int(value) if isinstance(value, int) and value > 0 else None


def defused(messages: Sequence[Message]) -> list[Message]:
    """The messages with control-token text broken: servers such as llama-cpp-python's parse
    special tokens in message text, so a document could otherwise forge a turn."""
    return [{**m, "content": defuse_text(m["content"])} for m in messages]


def _byte_bound(messages: Sequence[Message]) -> int:
    body = sum(
        len(defuse_text(m["content"]).encode("utf-8")) + TEMPLATE_ALLOWANCE for m in messages
    )
    return body + TEMPLATE_ALLOWANCE
