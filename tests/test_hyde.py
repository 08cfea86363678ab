"""HyDE: the model's hypothetical answer is searched beside the question, only when asked."""

import asyncio
from pathlib import Path

import numpy as np
import pytest

from app.answering import hyde
from app.answering.answer import Answerer
from app.answering.queue import GenerationQueue
from app.answering.retrieval import Retriever
from app.answering.services import Services
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeGenerator
from tests.support import write_files

DOCS = {
    "codes.txt": "The maintenance code for the XR-7 inverter is QZV-4471.",
    "bread.txt": "Knead the dough, let it rise, and bake the bread for forty minutes.",
}
GUESS = "The inverter maintenance code is QZV-4471."


@pytest.fixture
def indexed(settings, embedder, library, tmp_path: Path):
    build_ingestor(settings, embedder, library).ingest(discover([write_files(tmp_path, DOCS)]))
    return library


def keyword_sources(settings, embedder, store, hyde_mode: str, hypothesis: str) -> list[str]:
    tuned = settings.model_copy(update={"hyde": hyde_mode})
    found = Retriever(tuned, embedder, store).retrieve(
        "what do I type at service time", None, 2, "keyword", hypothesis=hypothesis
    )
    return [p.chunk.source for p in found.passages]


def test_the_hypothesis_joins_the_keyword_query_only_when_hyde_says_so(settings, embedder, indexed):
    assert keyword_sources(settings, embedder, indexed, "keyword", GUESS)[0] == "codes.txt"
    assert keyword_sources(settings, embedder, indexed, "both", GUESS)[0] == "codes.txt"
    assert keyword_sources(settings, embedder, indexed, "off", GUESS) == []
    assert keyword_sources(settings, embedder, indexed, "dense", GUESS) == []


def test_the_dense_query_is_the_normalized_mean_of_question_and_hypothesis(embedder):
    question, guess = embedder.embed(["the question"])[0], embedder.embed([GUESS])[0]
    mean = (question + guess) / 2
    got = hyde.query_vector(embedder, "the question", GUESS)
    assert np.allclose(got, mean / np.linalg.norm(mean), atol=1e-6)
    assert np.allclose(hyde.query_vector(embedder, "the question", ""), question, atol=1e-6)


def test_write_asks_the_model_for_a_short_answer_to_the_question():
    generator = FakeGenerator(answer="one two three four five six")
    assert hyde.write(generator, "What is QZV?", 3) == "one two three"
    assert "What is QZV?" in generator.prompts[0][-1]["content"]


def test_ask_writes_a_hypothesis_through_the_queue_only_with_hyde_on(settings, embedder, indexed):
    for mode, calls in (("off", 1), ("both", 2)):
        generator = FakeGenerator(answer=GUESS)
        tuned = settings.model_copy(
            update={"hyde": mode, "answer_mode": "generative", "abstain_below": 0.0}
        )
        answerer = Answerer(
            Services(tuned, embedder, generator, indexed), GenerationQueue(generator)
        )
        prepared = asyncio.run(ask(answerer))
        assert len(generator.prompts) == calls  # the hypothesis, then the answer
        assert prepared.budget.used[0].chunk.source == "codes.txt"


async def ask(answerer: Answerer):
    with answerer.queue.reserve() as slot:
        prepared = await answerer.prepare("inverter service code?", None, (), slot)
        await answerer.complete(prepared)
    return prepared
