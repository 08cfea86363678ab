"""The second held-out QA set is well formed, and its shard merger scores as `ragd eval` does."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

HELDOUT2 = Path(__file__).resolve().parents[1] / "bench" / "realdocs" / "heldout2"


def _rows() -> list[dict[str, Any]]:
    lines = (HELDOUT2 / "qa.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _merger() -> ModuleType:
    spec = importlib.util.spec_from_file_location("merge_shards", HELDOUT2 / "merge_shards.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_heldout2_has_both_manuals_and_both_kinds_of_unanswerable() -> None:
    rows = _rows()
    answerable = [r for r in rows if r["answers"]]
    kinds = [r["kind"] for r in rows if not r["answers"]]
    assert len(answerable) >= 30
    assert {r["source"].split("/")[0] for r in answerable} == {"apache", "flex"}
    assert kinds.count("off-topic") >= 6 and kinds.count("near-miss") >= 6


def test_heldout2_pdf_questions_name_a_page_and_unanswerable_ones_name_absent_words() -> None:
    for row in _rows():
        if row["answers"]:
            assert isinstance(row.get("page"), int) == row["source"].endswith(".pdf"), row
        else:
            assert row["absent"], row


def _detail(
    gold: list[str], answer: str, answerable: bool, cited_unsupported: bool
) -> dict[str, Any]:
    sentence = {"text": answer, "supported": not cited_unsupported, "citations": [1]}
    return {
        "gold": gold, "answer": answer, "answerable": answerable, "grounded": 1.0,
        "sentences": [sentence], "answer_mode": "extractive" if answerable else "abstained",
        "answerability": 0.7 if answerable else 0.2,
    }  # fmt: skip


def test_merge_shards_counts_gold_refusals_and_cited_unsupported_sentences() -> None:
    rows = [
        _detail(["8190"], "The limit is 8190 bytes [1].", True, False),
        _detail(["yyleng"], "It is yytext [2].", True, True),
        _detail([], "I cannot answer that.", False, False),
        _detail([], "Canberra [1].", True, False),
    ]
    result = _merger().merge(rows)
    assert result["contains_gold_count"] == 1 and result["answer_contains_gold"] == 0.5
    assert result["unanswerable_refused"] == 0.5 and result["answerable_refused"] == 0.0
    assert result["unsupported_cited"] == 1
    assert result["curve"]["0.60"] == (1.0, 0.5)
