"""Rarity-weighted coverage on a real manual (five GNU diffutils pages) with the real embedder
and BM25 counts: a near miss whose rare words the manual never uses loses most of its coverage
and is refused at the default threshold; the manual's own questions are answered."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.answering.answer import Answerer, Prepared
from app.answering.queue import GenerationQueue
from app.answering.rarity import weighted_coverage
from app.answering.services import Services
from config.settings import Settings
from tests.support import ingest_manual_pages

pytestmark = [pytest.mark.e2e, pytest.mark.tools]
MANUAL = Path("/usr/share/doc/diffutils")  # Debian's diffutils-doc
PAGES = ["Invoking-diff", "Comparison", "Case-Folding", "White-Space", "Blank-Lines"]
NEAR_MISS = "How do I change the greeting message of the fish shell?"  # diff's words, not its topic
ANSWERABLE = [
    "Which diff option ignores changes in case?",
    "Which diff option ignores blank lines?",
]


@pytest.fixture(scope="module")
def answerer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Answerer]:
    data = ingest_manual_pages(tmp_path_factory, MANUAL, PAGES, "diffutils")
    with Services.load(Settings(data_dir=data, llm_temperature=0)) as services:
        yield Answerer(services, GenerationQueue(services.generator))


def prepare(answerer: Answerer, question: str) -> Prepared:
    async def go() -> Prepared:
        with answerer.queue.reserve() as slot:
            return await answerer.prepare(question, None, (), slot)

    return asyncio.run(go())


def coverages(answerer: Answerer, question: str) -> tuple[float, float, dict[str, int]]:
    """(rarity-weighted, every word alike) coverage of the retrieved passages, and the counts."""
    top_k = answerer.services.settings.top_k
    found = answerer.retriever.retrieve(question, None, top_k, evidence=True)
    texts = [p.chunk.text for p in found.passages]
    counts = dict(found.frequency)
    return (
        weighted_coverage(question, texts, counts),
        weighted_coverage(question, texts, {}),
        counts,
    )


def test_a_near_miss_of_common_words_loses_coverage_to_its_absent_rare_words(answerer):
    weighted, plain, counts = coverages(answerer, NEAR_MISS)
    assert counts["fish"] == counts["greeting"] == 0 and counts["change"] > 0, counts
    assert weighted < 0.9 * plain, (weighted, plain)  # on five pages few words are common
    prepared = prepare(answerer, NEAR_MISS)
    assert prepared.features is not None and prepared.features.coverage == weighted
    assert prepared.abstain, prepared.features


def test_the_manuals_questions_keep_their_coverage_and_are_answered(answerer):
    for question in ANSWERABLE:
        weighted, plain, _ = coverages(answerer, question)
        assert weighted >= 0.9 * plain, (question, weighted, plain)
        prepared = prepare(answerer, question)
        assert not prepared.abstain, (question, prepared.features)
