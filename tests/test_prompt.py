"""Context budgeting with exact token counts."""

import pytest

from app.answering.errors import QuestionTooLong
from app.answering.prompt import Passage, build_messages, fit_context
from index.types import ChunkRow
from tests.fakes import FakeGenerator


def passage(i: int, words: int = 50) -> Passage:
    text = " ".join(f"w{i}x{j}" for j in range(words))
    return Passage(ChunkRow(i, f"d{i}", f"file{i}.md", 0, text, None, None), 1.0 - i / 100)


def test_passages_that_do_not_fit_are_dropped_in_rank_order():
    gen = FakeGenerator(context_window=400)
    budget = fit_context(gen.count_tokens, "what?", [passage(i) for i in range(10)], [], 400, 100)
    assert budget.used and budget.dropped
    assert [p.chunk.id for p in budget.used] == list(range(len(budget.used)))
    assert budget.prompt_tokens == gen.count_tokens(budget.messages) <= 300


def test_question_alone_too_long_is_refused():
    gen = FakeGenerator()
    with pytest.raises(QuestionTooLong):
        fit_context(gen.count_tokens, "word " * 500, [passage(1)], [], 400, 100)


def test_oldest_history_goes_first():
    gen = FakeGenerator()
    history = [
        {"role": "user", "content": "old " * 200},
        {"role": "assistant", "content": "answer " * 10},
        {"role": "user", "content": "recent question"},
        {"role": "assistant", "content": "recent answer"},
    ]
    budget = fit_context(gen.count_tokens, "next?", [], history, 300, 50)
    contents = [m["content"] for m in budget.messages]
    assert "recent answer" in contents and not any(c.startswith("old") for c in contents)


def test_passages_are_numbered_and_labelled_with_source_and_page():
    p = Passage(ChunkRow(1, "d", "guide.pdf", 0, "Text here.", 3, "Setup"), 0.9)
    user = build_messages("q?", [p])[-1]["content"]
    assert '[1] guide.pdf, page 3 — Setup\n"""\nText here.\n"""' in user
