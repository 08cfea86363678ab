"""Chunking: token limits, overlap, pages and headings."""

import itertools

from ingest.chunker import Chunker, split_sentences
from ingest.loaders.blocks import Block
from tests.fakes import FakeEmbedder


def sentences(n: int, words: int = 6) -> str:
    return " ".join(f"Sentence {i} " + "word " * (words - 3) + "end." for i in range(n))


def test_no_chunk_exceeds_the_limit_even_for_one_huge_sentence():
    emb = FakeEmbedder(max_tokens=40)
    chunker = Chunker(emb, size=64, overlap=8)  # capped at 40 - 2 special tokens
    huge = "word " * 500
    chunks = chunker.chunk([Block(sentences(40)), Block(huge)])
    assert chunker.size == 38
    assert all(c.tokens <= 38 for c in chunks)
    assert max(emb.count_tokens([c.text for c in chunks])) <= 38
    assert sum("word" in c.text for c in chunks) > 10


def test_neighbouring_chunks_overlap_by_whole_sentences():
    chunker = Chunker(FakeEmbedder(max_tokens=200), size=30, overlap=10)
    chunks = chunker.chunk([Block(sentences(12))])
    assert len(chunks) > 2
    for a, b in itertools.pairwise(chunks):
        last_sentence = split_sentences(a.text)[-1]
        assert b.text.startswith(last_sentence)


def test_zero_overlap_shares_nothing():
    chunker = Chunker(FakeEmbedder(max_tokens=200), size=30, overlap=0)
    chunks = chunker.chunk([Block(sentences(12))])
    texts = [s for c in chunks for s in split_sentences(c.text)]
    assert len(texts) == len(set(texts)) == 12


def test_chunks_never_span_pages_and_keep_headings():
    chunker = Chunker(FakeEmbedder(max_tokens=200), size=100, overlap=0)
    blocks = [
        Block("First page text.", page=1, heading="Intro"),
        Block("Second page text.", page=2, heading="Intro > Details"),
    ]
    chunks = chunker.chunk(blocks)
    assert [(c.page, c.heading) for c in chunks] == [(1, "Intro"), (2, "Intro > Details")]


def test_paragraphs_are_joined_with_blank_lines():
    chunker = Chunker(FakeEmbedder(max_tokens=200), size=100, overlap=0)
    chunks = chunker.chunk([Block("One. Two."), Block("Three.")])
    assert chunks[0].text == "One. Two.\n\nThree."
