"""The ONNX embedder tokenizes with `tokenizers` alone: the same ids, offsets and vectors as
transformers' AutoTokenizer gave, and no torch in a server process that runs on defaults."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config.settings import Settings
from models.embedder import OnnxEmbedder, load_embedder
from models.export import default_cache, export_folder
from tests.support import ROOT, SAMPLES, env_for

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
CACHE = Settings().embed_cache or default_cache()  # where the server's export is cached too
EDGES = [
    "",
    " ",
    "\n\t  \r\n",
    "\u00a0\u2003\u200b",
    "a",
    "école, naïve café, Straße, İstanbul, ﬁnance",
    "e\u0301cole (decomposed) vs \u00e9cole (composed)",
    "日本語のテキストと中文分词测试, 한국어 문장",
    "العربية والعبرית mixed with English",
    "emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷",
    "control \x00\x01\x07\x7f chars and \ufeff BOM",
    "[CLS] [SEP] [PAD] [MASK] [UNK] as plain text",
    "https://example.com/a?b=c&d=e#frag and `x = y[0] + 1;` {code}",
    "Mr. O'Neil's \"quotes\" \u2014 dashes \u2013 ellipsis\u2026 ALL CAPS",
    "supercalifragilistic" * 8,  # one word past WordPiece's 100 characters: [UNK]
    "The quick brown fox jumps over the lazy dog. " * 60,  # past the 256-token maximum
    "git rebase --onto main feature~3 && sqlite3 :memory: 'SELECT 1;' " * 40,
]
POOLS = [
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    " \t\n.,;:!?-_()[]{}'\"/\\@#$%^&*+=<>|~`",
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿĀāĒēŁłŒœŠšŽž",
    "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔЖЗИЙКЛМНабвгдежз",
    "日本語中文字符测试漢字かなカナ한국어",
    "😀😃😄🤖🚀🎉👍🏽\u200d\u0301\u0308\u00a0\u2028\ufeff",
]


def varied_texts(count: int = 400, seed: int = 19) -> list[str]:
    """EDGES, the samples' lines, and random mixes of scripts, marks, spaces and symbols."""
    rng = random.Random(seed)
    lines = [line for path in sorted(SAMPLES.glob("*.[mt][dx]*")) for line in _lines(path)]
    texts = [*EDGES, *rng.sample(lines, min(80, len(lines)))]
    while len(texts) < count:
        weights = [rng.random() for _ in POOLS]
        size = rng.choice([1, 5, 30, 120, 600, 1500])
        texts.append("".join(rng.choice(rng.choices(POOLS, weights)[0]) for _ in range(size)))
    return texts[:count]


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def onnx() -> OnnxEmbedder:
    embedder = load_embedder(MODEL, "cpu", "onnx-int8", CACHE)
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def reference(onnx: OnnxEmbedder) -> Any:
    """What the ONNX embedder tokenized with before: transformers' AutoTokenizer."""
    from transformers import AutoTokenizer

    folder = export_folder(MODEL, "onnx-int8", CACHE)
    return AutoTokenizer.from_pretrained(folder)


@pytest.mark.e2e
def test_token_ids_are_those_of_autotokenizer_for_varied_text(
    onnx: OnnxEmbedder, reference: Any
) -> None:
    texts = varied_texts()
    expected = reference(texts, add_special_tokens=False, truncation=False, verbose=False)
    assert onnx.encode_tokens(texts) == expected["input_ids"]
    assert onnx.count_tokens(texts) == [len(row) for row in expected["input_ids"]]
    assert any(n > onnx.max_tokens for n in onnx.count_tokens(texts))  # truncation is exercised


@pytest.mark.e2e
def test_offsets_and_split_pieces_are_those_of_autotokenizer(
    onnx: OnnxEmbedder, reference: Any
) -> None:
    for text in varied_texts(150):
        enc = reference(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = enc["offset_mapping"]
        want = [text[w[0][0] : w[-1][1]].strip() for w in _windows(offsets, 7)]
        assert onnx.split_tokens(text, 7) == [p for p in want if p], text


def _windows(offsets: list[tuple[int, int]], size: int) -> list[list[tuple[int, int]]]:
    return [offsets[i : i + size] for i in range(0, len(offsets), size)]


@pytest.mark.e2e
def test_vectors_equal_those_from_autotokenizer_ids_and_specials_and_padding_match(
    onnx: OnnxEmbedder, reference: Any
) -> None:
    texts = varied_texts(60)  # the edge cases, long ones among them, and samples' lines
    old_ids = reference(texts, truncation=True, max_length=onnx.max_tokens)["input_ids"]
    assert np.array_equal(onnx.embed(texts), onnx._embed_rows(old_ids))
    assert onnx.special_tokens == len(reference("")["input_ids"])
    assert onnx._pad == reference.pad_token_id
    assert onnx.joins_exactly


@pytest.mark.e2e
def test_threads_sharing_the_tokenizer_get_what_one_thread_gets(onnx: OnnxEmbedder) -> None:
    texts = varied_texts(400)
    short = texts[:24]  # embedding is the slow part; the tokenizer gets all 400
    alone_ids, alone_vectors = onnx.encode_tokens(texts), onnx.embed(short)
    with ThreadPoolExecutor(4) as pool:  # queries and an ingest embed and count at once
        ids = [pool.submit(onnx.encode_tokens, texts) for _ in range(4)]
        vectors = [pool.submit(onnx.embed, short) for _ in range(3)]
        assert all(f.result() == alone_ids for f in ids)
        assert all(np.array_equal(f.result(), alone_vectors) for f in vectors)


@pytest.mark.e2e
def test_torch_backend_counts_the_same_tokens_as_its_wrapped_tokenizer() -> None:
    torch_embedder = load_embedder(MODEL, "cpu", "torch")
    texts = varied_texts(200)
    wrapper = torch_embedder._model.tokenizer  # type: ignore[attr-defined]
    expected = wrapper(texts, add_special_tokens=False, truncation=False, verbose=False)
    assert torch_embedder.encode_tokens(texts) == expected["input_ids"]  # type: ignore[attr-defined]
    assert torch_embedder.special_tokens == 2


SERVICES = """
import json, sys
from app.answering.services import Services
from config.settings import Settings
services = Services.load(Settings())
vector = services.embedder.embed(["How do I undo the last commit?"])[0]
heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)
print(json.dumps({"heavy": heavy, "backend": services.embedder.backend, "vector": vector.tolist()}))
services.close()
"""


@pytest.mark.e2e
def test_services_on_defaults_load_no_torch_and_embed_as_before(
    tmp_path: Path, onnx: OnnxEmbedder, reference: Any
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SERVICES],
        cwd=ROOT,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["heavy"] == [] and out["backend"] == "onnx-int8"
    ids = reference(["How do I undo the last commit?"])["input_ids"]
    assert np.allclose(out["vector"], onnx._embed_rows(ids)[0], atol=1e-6)
