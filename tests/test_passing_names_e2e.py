"""Absent and passing names on a real manual (four Apache HTTP Server how-to pages) with the
real embedder, FAISS and BM25: another server's config file is refused although keyword search
finds "conf" in it, and another server named once in passing, outside the passages, is refused
where it would have been answered."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.answering import rarity
from app.answering.answer import Answerer, Prepared
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from config.settings import Settings
from tests.support import ingest_manual_pages

pytestmark = [pytest.mark.e2e, pytest.mark.tools]
MANUAL = Path("/usr/share/doc/apache2-doc/manual/en/howto")  # Debian's apache2-doc
PAGES = ["cgi", "htaccess", "access", "public_html"]  # cgi.html names Nginx once, in a list
CONFIG_FILE = "Which lighttpd.conf setting sets the document root of the server?"
PASSING = "Which nginx directive limits the maximum size of a client request body?"
ANSWERABLE = [
    "Which directive allows CGI scripts to run in a directory?",
    "Which file lets users put configuration directives in a directory?",
    "How do I give each user a public_html web directory?",
]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_manual_pages(tmp_path_factory, MANUAL, PAGES, "apache")


@pytest.fixture(scope="module")
def services(data: Path) -> Iterator[Services]:
    with Services.load(Settings(data_dir=data, llm_temperature=0)) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def answerer(services: Services) -> Answerer:
    return Answerer(services, GenerationQueue(services.generator))


@pytest.fixture(scope="module")
def crowded(services: Services) -> Answerer:
    """Two passages per question: on four pages a passing mention still reaches the top six,
    as it does not among thousands of chunks (Apache's whole manual: nginx's one chunk is not
    retrieved for either nginx question)."""
    fewer = replace(services, settings=services.settings.model_copy(update={"top_k": 2}))
    return Answerer(fewer, GenerationQueue(services.generator))


def prepare(answerer: Answerer, question: str) -> Prepared:
    async def go() -> Prepared:
        with answerer.queue.reserve() as slot:
            return await answerer.prepare(question, None, (), slot)

    return asyncio.run(go())


def names(answerer: Answerer, question: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    top_k = answerer.services.settings.top_k
    found = answerer.retriever.retrieve(question, None, top_k, evidence=True)
    return found.unknown, found.passing


def test_a_config_file_of_another_server_is_unknown_and_refused(answerer):
    snapshot = answerer.services.store.collection("default").snapshot()
    assert snapshot.keyword_search("lighttpd.conf", 1)  # whole: found by its "conf"
    assert names(answerer, CONFIG_FILE)[0] == ("lighttpd.conf",)
    prepared = prepare(answerer, CONFIG_FILE)
    assert prepared.features is not None and prepared.features.unknown == 1
    assert prepared.abstain, prepared.features


def test_a_server_named_once_outside_the_passages_is_passing_and_refused(crowded, monkeypatch):
    assert names(crowded, PASSING) == ((), ())  # 1 of ~70 chunks: a topic there, not in passing
    monkeypatch.setattr(rarity, "PASSING_SHARE", 1.0)  # as if the pages were a sliver
    assert names(crowded, PASSING) == ((), ("nginx",))
    prepared = prepare(crowded, PASSING)
    assert prepared.features is not None and prepared.features.passing == 1
    assert prepared.abstain, prepared.features
    monkeypatch.setattr(rarity, "PASSING", 0)  # the rule off: the same question is answered
    assert not prepare(crowded, PASSING).abstain


def test_the_manuals_own_questions_are_answered(crowded, answerer, monkeypatch):
    monkeypatch.setattr(rarity, "PASSING_SHARE", 1.0)
    for ready in (answerer, crowded):
        for question in ANSWERABLE:
            prepared = prepare(ready, question)
            assert not prepared.abstain, (question, prepared.features)
