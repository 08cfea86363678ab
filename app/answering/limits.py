"""The limits every question obeys, whatever route or command brings it: one place, one set."""

from __future__ import annotations

import re

from app.answering.errors import InvalidQuestion, QuestionTooLong

MAX_QUESTION_CHARS = 4000
MAX_TURN_CHARS = 20_000
MAX_HISTORY_TURNS = 50
# C0/C1 controls but tab and newlines, and lone surrogates (JSON "\ud800"): no tokenizer or
# UTF-8 encoder accepts the latter, so they would fail deep inside a model as a 500.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Client text with control characters and lone surrogates removed."""
    return _UNSAFE.sub("", value)


def clean_question(value: str) -> str:
    """A question ready to answer: cleaned, stripped, not blank; ValueError otherwise."""
    value = clean_text(value).strip()
    if not value:
        raise ValueError("must not be empty or whitespace: ask a question")
    return value


def check_question(value: str) -> str:
    """clean_question for commands: a domain error (one clear line) when over the limit."""
    if len(value) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"the question is {len(value):,} characters long; at most {MAX_QUESTION_CHARS:,} "
            "are allowed: shorten it"
        )
    try:
        return clean_question(value)
    except ValueError as exc:
        raise InvalidQuestion(f"the question {exc}") from None
