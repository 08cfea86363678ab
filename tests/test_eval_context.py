"""`ragd eval QA.jsonl --context-only`: does a gold answer reach the prompt (no generation)."""

import asyncio
from pathlib import Path

from app.answering.answer import Answerer
from app.answering.prompt import build_messages
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.evals.context import run_context
from app.evals.qa import QAItem
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeGenerator
from tests.support import write_files

DOCS = {
    "codes.txt": "The maintenance code for the XR-7 inverter is QZV-4471.",
    "bread.txt": "Knead the dough, let it rise, and bake the bread for forty minutes.",
}
ITEMS = [
    QAItem("What is the inverter maintenance code?", ["QZV-4471"], []),
    QAItem("How long is the bread baked?", ["forty minutes"], []),
    QAItem("What colour is the inverter?", ["purple"], []),  # in no document
    QAItem("Who wrote Hamlet?", [], []),  # unanswerable: not scored
]


def report(settings, embedder, library, tmp_path: Path, **update):
    build_ingestor(settings, embedder, library).ingest(discover([write_files(tmp_path, DOCS)]))
    generator = FakeGenerator()
    tuned = settings.model_copy(update=update)
    answerer = Answerer(Services(tuned, embedder, generator, library), GenerationQueue(generator))
    found = asyncio.run(run_context(answerer, ITEMS, None, lambda *_: None))
    return found, generator


def test_context_only_scores_the_prompt_of_each_answerable_question_without_generating(
    settings, embedder, library, tmp_path
):
    found, generator = report(settings, embedder, library, tmp_path)
    assert found.answerable == 3
    assert found.context_contains_gold == round(2 / 3, 4)
    assert found.sources_contain_gold == round(2 / 3, 4)
    assert found.passages_mean == 2 and found.prompt_tokens_mean > 0
    assert generator.prompts == []  # nothing was generated


def test_a_prompt_too_small_for_the_passages_shows_no_gold(settings, embedder, library, tmp_path):
    bare = max(FakeGenerator().count_tokens(build_messages(i.question, [])) for i in ITEMS)
    room = FakeGenerator().context_window - bare - 2  # the question fits, no passage does
    found, _ = report(settings, embedder, library, tmp_path, max_answer_tokens=room)
    assert found.passages_mean == 0 and found.context_contains_gold == 0.0
