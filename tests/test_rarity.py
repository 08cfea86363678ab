"""Rarity-weighted coverage: a passage holding only a near miss's common words covers little."""

from __future__ import annotations

import json
from pathlib import Path

from app.answering.answerability import METHOD, PROBES, Baselines
from app.answering.calibration import calibration_path
from app.answering.rarity import CAP, frequencies, weight, weighted_coverage

QUESTION = "How do I create a stored procedure in SQLite?"
# The common words in one passage, the rare one in another: what a near miss retrieves.
COMMON = "CREATE TABLE makes a table in SQLite; the values stored in it keep their type."
RARE = "A procedure can be stored and called by name."


def counts() -> dict[str, int]:
    return {"create": 900, "stored": 400, "procedure": 3, "sqlite": 900}


def test_a_missing_rare_word_costs_more_coverage_than_a_missing_common_one():
    plain_share = 3 / 4  # create, stored, sqlite of four topic words
    assert weighted_coverage(QUESTION, [COMMON], counts()) < plain_share / 2
    assert weighted_coverage(QUESTION, [COMMON, RARE], counts()) > plain_share


def test_the_best_passage_alone_counts_not_the_union_of_passages():
    both = weighted_coverage(QUESTION, [COMMON, RARE], counts())
    assert both == weighted_coverage(QUESTION, [RARE], counts()) < 1.0


def test_every_word_at_least_cap_chunks_hold_weighs_the_same():
    assert weight(CAP) == weight(CAP * 50) < weight(CAP // 2) < weight(3) < weight(0)


def test_without_counts_every_word_weighs_alike():
    assert round(weighted_coverage(QUESTION, [COMMON], {}), 6) == 0.75
    assert weighted_coverage("How do I?", [COMMON], {}) == 1.0  # no topic word: nothing missing


def test_frequencies_ask_each_topic_word_once_and_skip_stop_words():
    asked: list[tuple[str, int]] = []

    def count(word: str, cap: int) -> int:
        asked.append((word, cap))
        return 7

    found = frequencies("Which of these options runs the commit hooks?", count)
    assert found == {"commit": 7, "hooks": 7, "options": 7, "runs": 7}  # "these": a stop word
    assert sorted(asked) == [(w, CAP) for w in sorted(found)]


def test_a_baseline_stored_by_another_method_is_probed_again(tmp_path: Path):
    path = calibration_path(tmp_path, "docs").with_suffix(".baseline.json")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"generation": 3, "baseline": 0.5}))  # no method: older ragd
    asked: list[str] = []
    assert Baselines(tmp_path).get("docs", 3, lambda q: asked.append(q) or 0.2) == 0.2
    assert len(asked) == len(PROBES) and json.loads(path.read_text())["method"] == METHOD
