"""Honest answers on the real packaged models over samples/: abstention, quotes, checked shapes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.answer import Answerer
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.server.main import create_app
from config.settings import Settings

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
OFF_TOPIC = [
    "What is the capital city of Australia?",
    "How long should I boil pasta?",
    "Who won the 2014 FIFA World Cup final?",
]
# About the same subject as samples/, asking what they do not say.
NEAR_MISS = [
    "How do I configure Elasticsearch as the vector store?",
    "Which Helm chart value sets the number of Kubernetes replicas?",
    "Which PostgreSQL setting controls the shared buffers?",
]
MARKERS = re.compile(r"\s?\[\d+\]")


@pytest.fixture(scope="module")
def services(samples_data_dir: Path) -> Iterator[Services]:
    settings = Settings(data_dir=samples_data_dir, llm_temperature=0)
    yield Services.load(settings)


def answer(services: Services, question: str, **settings: object) -> dict:
    services.settings = services.settings.model_copy(update=settings)
    with TestClient(create_app(services=services)) as client:
        response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()


def answerability(services: Services, question: str) -> float:
    """The score the abstention decision cuts, with the real embedder and index."""
    answerer = Answerer(services, GenerationQueue(services.generator))

    async def run() -> float:
        with answerer.queue.reserve() as slot:
            prepared = await answerer.prepare(question, None, (), slot)
        assert prepared.features is not None
        return prepared.features.score()

    return asyncio.run(run())


def test_abstention_refuses_off_topic_and_near_miss_and_answers_the_samples(services):
    threshold = services.settings.abstain_below
    items = [json.loads(line) for line in (ROOT / "bench/data/samples-qa.jsonl").open()]
    answerable = [i["question"] for i in items if i["answers"]]
    scores = {q: answerability(services, q) for q in [*answerable, *OFF_TOPIC, *NEAR_MISS]}
    refused = {q for q, s in scores.items() if s < threshold}
    assert refused >= set(OFF_TOPIC + NEAR_MISS), scores
    assert len(refused & set(answerable)) <= 0.1 * len(answerable), scores


def test_an_off_topic_question_is_refused_without_a_citation(services):
    body = answer(services, OFF_TOPIC[0])
    assert (body["answerable"], body["answer_mode"]) == (False, "abstained")
    assert not any(s["cited"] for s in body["sources"])


def test_extractive_mode_quotes_only_text_of_the_cited_passage(services):
    for question in ("When do the ragd maintainers meet?", "What is the name of the lock file?"):
        body = answer(services, question, answer_mode="extractive")
        assert body["answer_mode"] == "extractive" and body["usage"]["completion_tokens"] == 0
        assert body["sentences"], body
        for sentence in body["sentences"]:
            quoted = MARKERS.sub("", sentence["text"]).strip().strip('"')
            [n] = sentence["citations"]
            assert quoted in body["sources"][n - 1]["text"], body
            assert quoted in body["answer"]


def test_auto_answers_carry_checked_sentences_and_no_unsupported_citation(services):
    body = answer(services, "When do the ragd maintainers meet?", answer_mode="auto")
    assert body["answer_mode"] in ("generative", "extractive") and "Tuesday" in body["answer"]
    assert body["sentences"] and 0 < body["grounded"] <= 1
    for sentence in body["sentences"]:
        assert sentence["supported"] or not sentence["citations"], sentence
        assert set(sentence) == {"text", "supported", "score", "citations"}
