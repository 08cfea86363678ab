"""Follow-up questions made standalone for retrieval: rewritten by the model, or by keywords."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import aclosing
from typing import Literal

from app.answering.citations import content_words
from app.answering.prompt import SYSTEM_PROMPT
from app.answering.queue import Slot
from models.generator import Message

RewriteMode = Literal["model", "keywords", "off"]
REWRITE_INSTRUCTION = (
    "Rewrite the follow-up question so that it can be understood without the conversation: "
    "replace words like it, they, that and there with what they refer to. Reply with the "
    "rewritten question only."
)
_MAX_WORDS = 40  # longer model output is rambling, not a question
_PREFIX = re.compile(r"^\s*(rewritten|standalone)?\s*(question)?\s*:\s*", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def keyword_query(question: str, history: Sequence[Message], limit: int = 12) -> str:
    """The question plus the last user turn's content words it lacks (the cheap fallback)."""
    last = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
    have = content_words(question)
    extra: list[str] = []
    for word in _WORD.findall(last):
        key = word.lower()
        if key in content_words(word) and key not in have and key not in extra:
            extra.append(key)
    return " ".join([question, *extra[:limit]])


def rewrite_messages(question: str, history: Sequence[Message]) -> list[Message]:
    """The rewrite prompt; it opens with the answer prompt's system message, so the KV cache
    built for that prefix stays warm across rewrite and answer."""
    turns = "\n".join(f"{t['role'].capitalize()}: {_clip(t['content'])}" for t in history[-4:])
    user = (
        f"{REWRITE_INSTRUCTION}\n\nConversation:\n{turns}\n\n"
        f"Follow-up question: {question}\n\nRewritten question:"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def clean_rewrite(text: str, question: str) -> str | None:
    """The model's rewrite as one question, or None when it is unusable."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    line = _PREFIX.sub("", lines[0]).strip().strip('"').strip()
    words = _WORD.findall(line)
    if not words or len(words) > _MAX_WORDS or line.lower() == question.lower():
        return None
    return line


async def standalone_query(
    slot: Slot, question: str, history: Sequence[Message], mode: RewriteMode
) -> tuple[str, str]:
    """(query for retrieval, how it was made: none | keywords | model)."""
    if mode == "off" or not any(t["role"] == "user" for t in history):
        return question, "none"
    fallback = keyword_query(question, history)
    if mode == "keywords":
        return fallback, "keywords"
    text = ""
    async with aclosing(slot.stream(rewrite_messages(question, history), 48, ("\n",))) as pieces:
        async for piece in pieces:
            text += piece
    rewritten = clean_rewrite(text, question)
    # The model's words first; the fallback's keywords keep retrieval anchored if it drifted.
    return (f"{rewritten} {fallback}", "model") if rewritten else (fallback, "keywords")


def _clip(text: str, words: int = 60) -> str:
    parts = text.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")
