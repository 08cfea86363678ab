"""Absent and passing names: a rare name no chunk holds (looked up part by part when dotted),
or one a chunk or two mention outside the retrieved passages, halves the raw evidence."""

from __future__ import annotations

from collections.abc import Sequence

from app.answering.evidence import Features
from app.answering.prompt import Passage
from app.answering.rarity import PASSING, in_passing, name_parts, rare_parts
from app.answering.retrieval import absent_names
from index.bm25 import query_terms, terms
from index.types import ChunkRow, DocumentRow, Hit

# Words the fake embedder's vocabulary holds whole; every other part splits into pieces.
VOCABULARY = {"conf", "document", "root", "server", "setting", "sets", "weekly", "report"}
VOCABULARY |= {"number", "processes", "worker", "two", "factor"}
FILLER = "The server reads its document root from the main configuration file."


class Embedder:
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [1 if t in VOCABULARY else 3 for t in texts]


class Reader:
    """Keyword search over fixed chunk texts with ragd's own BM25 terms: a chunk is a hit
    when it holds any of the query's terms (as the real stores' OR semantics)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.rows = [ChunkRow(i, "d", "s", i, t, None, None) for i, t in enumerate(texts)]
        self.terms = [set(row) for row in terms(texts)]

    def keyword_search(self, text: str, k: int, where: object = None) -> list[Hit]:
        wanted = set(query_terms(text))
        held = [row for row, have in zip(self.rows, self.terms, strict=True) if wanted & have]
        return [Hit(row, 1.0) for row in held[:k]]

    def documents(self) -> list[DocumentRow]:
        return [DocumentRow("d", "s", "h", None, len(self.rows), "")]


def passages(*texts: str) -> list[Passage]:
    return [Passage(ChunkRow(-1 - i, "p", "p", i, t, None, None), 1.0) for i, t in enumerate(texts)]


def corpus(size: int, mentions: dict[str, int]) -> Reader:
    """`size` chunks of filler; `mentions` word -> how many of them also name it in passing."""
    texts = [FILLER] * size
    at = 0
    for word, times in mentions.items():
        for _ in range(times):
            texts[at] = f"{FILLER} Other servers, such as {word}, differ."
            at += 1
    return Reader(texts)


def judge(reader: Reader, question: str, *used: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return absent_names(reader, question, Embedder(), passages(*used))  # type: ignore[arg-type]


def test_a_dotted_name_splits_into_the_parts_keyword_search_sees():
    assert name_parts("lighttpd.conf") == ["lighttpd", "conf"]
    assert name_parts("innodb_buffer_pool_size") == ["innodb_buffer_pool_size"]
    assert name_parts("--force-with-lease") == ["force", "with", "lease"]


def test_only_rare_checkable_parts_are_looked_up():
    found = rare_parts(
        "Which lighttpd.conf setting sets the weekly report of nginx 1.25?", Embedder().count_tokens
    )
    # the whole dotted name, then its rare part ("conf" is one token, "1.25" a number)
    assert found == {"lighttpd.conf": ["lighttpd.conf", "lighttpd"], "nginx": ["nginx"]}


def test_a_dotted_name_whose_rare_part_no_chunk_holds_is_unknown():
    reader = corpus(20, {"httpd.conf": 3})
    assert reader.keyword_search("lighttpd.conf", 1)  # whole, "conf" finds it: the old miss
    unknown, passing = judge(reader, "Which lighttpd.conf setting sets the document root?", FILLER)
    assert unknown == ("lighttpd.conf",) and passing == ()


def test_a_name_one_chunk_of_a_thousand_mentions_outside_the_passages_is_passing():
    reader = corpus(1000, {"nginx": 1})
    unknown, passing = judge(reader, "How do I set the number of nginx worker processes?", FILLER)
    assert unknown == () and passing == ("nginx",)


def test_a_passing_name_the_passages_hold_counts_for_nothing():
    reader = corpus(1000, {"nginx": 1})
    held = f"{FILLER} Other servers, such as nginx, differ."
    assert judge(reader, "How do I set the number of nginx worker processes?", held) == ((), ())


def test_a_name_more_chunks_mention_is_not_passing():
    reader = corpus(1000, {"nginx": PASSING + 1})
    assert judge(reader, "How do I set the number of nginx worker processes?", FILLER) == ((), ())


def test_on_a_small_collection_one_chunk_is_a_topic_not_a_passing_mention():
    reader = corpus(15, {"nginx": 1})
    assert judge(reader, "How do I set the number of nginx worker processes?", FILLER) == ((), ())


def test_a_rare_compound_of_common_parts_no_chunk_holds_is_unknown_as_a_whole():
    reader = corpus(20, {})
    assert judge(reader, "How do I set up two-factor authentication?", FILLER)[0] == (
        "authentication",
        "two-factor",
    )


def test_a_common_word_missing_everywhere_is_neither_unknown_nor_passing():
    reader = corpus(1000, {})
    assert judge(reader, "Where is the weekly report?", FILLER) == ((), ())


def test_passing_needs_a_sliver_of_a_big_enough_collection():
    assert in_passing(1, 500) and in_passing(2, 1000)
    assert not in_passing(2, 999) and not in_passing(1, 499)
    assert not in_passing(0, 10_000) and not in_passing(PASSING + 1, 10_000)


def test_a_passing_name_halves_the_raw_evidence_as_an_unknown_one_does():
    plain = Features(0.5, 0.6, 1.0, 1.0, baseline=0.2)
    passing = Features(0.5, 0.6, 1.0, 1.0, baseline=0.2, passing=1)
    assert passing.raw() == Features(0.5, 0.6, 1.0, 1.0, unknown=1).raw() == plain.raw() / 2
    assert passing.score() < 0.5 < plain.score()
