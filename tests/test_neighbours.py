"""Neighbour expansion (small-to-big): adjacent chunks of one document, in order, in budget."""

from pathlib import Path

import pytest

from app.answering.neighbours import expand, join_overlapping
from app.answering.prompt import Passage, fit_context
from app.answering.retrieval import Retriever
from index.filters import parse
from ingest.pipeline import discover
from tests.support import write_files

# Sentences numbered so a chunk's place in its document can be read off its text.
LONG = " ".join(f"Alpha sentence {n} talks about topic{n} only." for n in range(1, 25))
OTHER = " ".join(f"Beta line {n} mentions subject{n} here." for n in range(1, 25))


@pytest.fixture
def chunked(store_ingestor, store, tmp_path: Path):
    root = write_files(tmp_path / "docs", {"alpha.txt": LONG, "beta.txt": OTHER})
    store_ingestor.ingest(discover([root]))
    return store.collection("default").snapshot()


def chunks_of(snapshot, source: str):
    doc = next(d for d in snapshot.documents() if d.source == source)
    return snapshot.chunks_at(doc.id, range(doc.chunks))


def numbers(text: str, word: str = "sentence") -> list[int]:
    parts = text.split(f"{word} ")[1:]
    return [int(p.split()[0]) for p in parts]


def test_chunks_at_returns_one_documents_chunks_in_position_order(chunked):
    rows = chunks_of(chunked, "alpha.txt")
    assert len(rows) >= 4
    assert [r.ord for r in rows] == list(range(len(rows)))
    assert {r.source for r in rows} == {"alpha.txt"}
    assert chunked.chunks_at(rows[0].doc_id, [2, 0]) == [rows[0], rows[2]]


def test_a_chunk_brings_its_neighbours_in_document_order_without_repeats(chunked):
    rows = chunks_of(chunked, "alpha.txt")
    middle = rows[2]
    [widened] = expand(chunked, [Passage(middle, 1.0)], 1)
    said = numbers(widened.chunk.text)
    # the sentences of chunks 1, 2 and 3, each once (the chunker's overlap is written once)
    expected = sorted(set(numbers(rows[1].text + rows[2].text + rows[3].text)))
    assert said == expected
    assert widened.chunk.id == middle.id and widened.narrow == middle


def test_expansion_stays_in_the_document_and_stops_at_its_ends(chunked):
    rows = chunks_of(chunked, "alpha.txt")
    [first] = expand(chunked, [Passage(rows[0], 1.0)], 2)
    assert numbers(first.chunk.text) == sorted(
        set(numbers(rows[0].text + rows[1].text + rows[2].text))
    )
    assert "Beta" not in first.chunk.text
    [last] = expand(chunked, [Passage(rows[-1], 1.0)], 1)
    assert numbers(last.chunk.text)[-1] == 24 and "Beta" not in last.chunk.text


def test_a_chunk_retrieved_itself_is_not_brought_again_by_its_neighbour(chunked):
    rows = chunks_of(chunked, "alpha.txt")
    best, next_best = expand(chunked, [Passage(rows[1], 1.0), Passage(rows[2], 0.9)], 1)
    # rows[1] widens to the left only: rows[2] is a passage of its own
    assert max(numbers(best.chunk.text)) == max(numbers(rows[1].text))
    assert min(numbers(next_best.chunk.text)) == min(numbers(rows[2].text))
    assert max(numbers(next_best.chunk.text)) == max(numbers(rows[3].text))


def test_zero_neighbours_leaves_the_passages_alone(chunked):
    rows = chunks_of(chunked, "alpha.txt")
    passages = [Passage(rows[1], 1.0)]
    assert expand(chunked, passages, 0) == passages


def test_retrieval_with_a_filter_widens_only_within_the_matching_documents(
    settings, embedder, store, chunked
):
    retriever = Retriever(settings, embedder, store)
    where = parse({"field": "source", "eq": "beta.txt"})
    found = retriever.retrieve("topic5 subject5", None, 3, "hybrid", where=where, neighbours=1)
    assert found.passages and {p.chunk.source for p in found.passages} == {"beta.txt"}
    assert all("Alpha" not in p.chunk.text for p in found.passages)
    plain = retriever.retrieve("topic5 subject5", None, 3, "hybrid", where=where)
    assert [p.chunk.id for p in found.passages] == [p.chunk.id for p in plain.passages]


def test_a_widened_passage_that_does_not_fit_is_offered_alone(chunked):
    rows = chunks_of(chunked, "alpha.txt")
    [widened] = expand(chunked, [Passage(rows[2], 1.0)], 1)

    def count(messages) -> int:
        return sum(len(m["content"].split()) for m in messages)

    roomy = fit_context(count, "q", [widened], [], 10_000, 10)
    assert roomy.used == [widened]
    narrow = count(fit_context(count, "q", [Passage(rows[2], 1.0)], [], 10_000, 10).messages)
    tight = fit_context(count, "q", [widened], [], narrow + 10, 10)
    assert [p.chunk.text for p in tight.used] == [rows[2].text] and not tight.dropped


def test_join_overlapping_writes_the_repeated_seam_once():
    assert join_overlapping("One. Two. Three.", "Two. Three. Four.") == "One. Two. Three. Four."
    assert join_overlapping("One.\n\nTwo.", "Two. Three.") == "One.\n\nTwo. Three."
    assert join_overlapping("One.", "Two.") == "One.\n\nTwo."
    assert join_overlapping("Same.", "Same. More.") == "Same. More."
