"""HyDE (Gao et al. 2022): the model writes a short hypothetical answer that is searched too."""

from __future__ import annotations

import threading
from contextlib import aclosing

import numpy as np

from app.answering.queue import Slot
from models.embedder import Embedder
from models.generator import Generator, Message, defuse_text

PROMPT = (
    "Write two sentences, as a reference document would, that answer the question. "
    "Be specific; do not say that you are unsure.\n\nQuestion: {question}"
)


def messages(question: str) -> list[Message]:
    return [{"role": "user", "content": PROMPT.format(question=defuse_text(question))}]


def write(generator: Generator, question: str, max_tokens: int) -> str:
    """The hypothetical answer, generated directly (evaluations, which own the model)."""
    pieces = generator.stream(messages(question), max_tokens, threading.Event(), ("\n\n",))
    return "".join(pieces).strip()


async def write_queued(slot: Slot, question: str, max_tokens: int) -> str:
    """The hypothetical answer through the request's generation slot (the server's path)."""
    text = ""
    async with aclosing(slot.stream(messages(question), max_tokens, ("\n\n",))) as pieces:
        async for piece in pieces:
            text += piece
    return text.strip()


def query_vector(embedder: Embedder, query: str, hypothesis: str) -> np.ndarray:
    """The normalized mean of the query's and the hypothesis's embeddings: the query keeps
    the search anchored when the small model's guess drifts."""
    both = embedder.embed([query, hypothesis] if hypothesis else [query])
    mean: np.ndarray = both.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean
