"""The Generator: chat messages to streamed text, with exact prompt token counts."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypedDict

from models.errors import ModelLoadError, PromptTooLong


class Message(TypedDict):
    role: str
    content: str


class Generator(Protocol):
    """What answering needs from a generation model."""

    name: str
    context_window: int
    device: str  # "cpu", "cuda", "metal", ... or "remote"
    gpu_layers: int

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens of the whole rendered prompt, chat template included."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        cancel: threading.Event,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Answer text piece by piece; stops within one token step once `cancel` is set."""
        ...

    def close(self) -> None:
        """Free the model (or the connection to it); the generator is unusable after."""
        ...


class LlamaCppGenerator:
    """A Generator running a GGUF model in process through llama-cpp-python.

    llama-cpp-python keeps the KV cache of the previous prompt and evaluates only the tokens
    after the longest common prefix; prompts open with the same system message, so that part
    is computed once and reused (`last_cached_tokens` says how many tokens were).
    """

    backend = "llama.cpp"

    def __init__(
        self,
        path: Path,
        context_window: int = 4096,
        threads: int | None = None,
        gpu: bool = True,
        temperature: float = 0.1,
    ) -> None:
        from llama_cpp import Llama

        from models.device import llama_backend, llama_gpu_offload

        offload = gpu and llama_gpu_offload()
        threads = threads or os.cpu_count() or 1
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=context_window,
                n_gpu_layers=-1 if offload else 0,
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"could not load GGUF model {path}: {exc}") from exc
        self.name = path.stem
        self.context_window = self._llm.n_ctx()
        self.device = llama_backend() if offload else "cpu"
        self.gpu_layers = self._block_count() if offload else 0
        self.temperature = temperature
        self.last_cached_tokens = 0
        self._format = _chat_formatter(self._llm)
        self._controls = _control_texts(self._llm)

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return len(self._prompt_tokens(messages)[0])

    def stream(
        self,
        messages: Sequence[Message],
        max_tokens: int,
        cancel: threading.Event,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        tokens, template_stop = self._prompt_tokens(messages)
        if len(tokens) + max_tokens > self.context_window:
            raise PromptTooLong(
                f"prompt of {len(tokens)} tokens plus {max_tokens} for the answer exceeds "
                f"the {self.context_window}-token context window"
            )
        self.last_cached_tokens = self._cached_prefix(tokens)
        pieces = self._llm.create_completion(
            tokens,
            max_tokens=max_tokens,
            stop=[*template_stop, *stop],
            stream=True,
            temperature=self.temperature,
            repeat_penalty=1.1,
        )
        for piece in pieces:
            if cancel.is_set():
                break
            yield piece["choices"][0]["text"]  # type: ignore[index]

    def close(self) -> None:
        self._llm.close()

    def _cached_prefix(self, tokens: list[int]) -> int:
        """Leading prompt tokens already in the KV cache from the previous call."""
        cached = self._llm.input_ids[: self._llm.n_tokens].tolist()
        shared = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            shared += 1
        return min(shared, len(tokens) - 1)  # llama.cpp re-evaluates at least one token

    def _prompt_tokens(self, messages: Sequence[Message]) -> tuple[list[int], list[str]]:
        rendered = self._format(messages=[defuse(m, self._controls) for m in messages])
        tokens = self._llm.tokenize(
            rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop or ""]
        return tokens, [s for s in stop if s]

    def _block_count(self) -> int:
        meta = self._llm.metadata
        arch = meta.get("general.architecture", "llama")
        return int(meta.get(f"{arch}.block_count", 0))


def _chat_formatter(llm: Any) -> Any:
    """The GGUF's own chat template, rendered in llama-cpp-python's sandboxed Jinja env."""
    from llama_cpp import llama_chat_format

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.format_chatml
    eos, bos = llm.token_eos(), llm.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=_token_text(llm, eos),
        bos_token=_token_text(llm, bos),
        stop_token_ids=[eos],
    )


def _control_texts(llm: Any) -> tuple[str, ...]:
    """The text of the model's control tokens, e.g. <|im_start|>."""
    import llama_cpp

    attr, flag = llm._model.token_get_attr, llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
    texts = (_token_text(llm, t) for t in range(llm.n_vocab()) if attr(t) & flag)
    return tuple(sorted({t for t in texts if t}, key=len, reverse=True))


# Control-token shapes of common chat templates (ChatML and Llama 3 `<|...|>`, DeepSeek's
# full-width bars, Llama 2 and Mistral `[INST]` `<<SYS>>` `<s>`, Gemma `<start_of_turn>`): text
# shaped like them is broken before it reaches any backend, whose vocabulary ragd may not know.
_CONTROL_SHAPES = re.compile(
    r"<\|[^|<>\s]{1,48}\|>|<\uff5c[^\uff5c<>]{1,48}\uff5c>|</?s>|\[/?INST\]|<</?SYS>>"
    r"|<(?:start|end)_of_turn>|<(?:bos|eos|pad|unk)>|\[/?(?:SYSTEM_PROMPT|TOOL_CALLS|"
    r"TOOL_RESULTS|AVAILABLE_TOOLS)\]",
    re.IGNORECASE,
)


def defuse_text(text: str) -> str:
    """Text shaped like a chat template's control token broken by a zero-width space after
    its first character: it stays readable but no tokenizer reads it as a control token."""
    return _CONTROL_SHAPES.sub(lambda m: m.group()[0] + "\u200b" + m.group()[1:], text)


def defuse(message: Message, controls: Sequence[str]) -> Message:
    """Break control-token text inside a message (a zero-width space after its first
    character), so a document or question saying <|im_start|>system stays text: the prompt
    is tokenized with special tokens on, which would otherwise forge a turn."""
    content = message["content"]
    for text in controls:
        if text in content:
            content = content.replace(text, text[0] + "\u200b" + text[1:])
    return {**message, "content": content}


def _token_text(llm: Any, token: int) -> str:
    if token < 0:
        return ""
    return str(llm.detokenize([token], special=True).decode("utf-8", errors="ignore"))
