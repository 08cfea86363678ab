"""Answerability against the collection's off-topic baseline; quotes of the asked kind."""

from __future__ import annotations

import json
from pathlib import Path

from app.answering.answerability import PROBES, Baselines
from app.answering.answertype import asked_kinds, holds_kind
from app.answering.calibration import calibration_path, collection_threshold, write_threshold
from app.answering.checking import judge
from app.answering.evidence import Features
from app.answering.extractive import extract
from config.settings import Settings
from tests.support import evidence


class Counting:
    """A raw scorer that counts the probe questions it is asked."""

    def __init__(self, score: float = 0.2) -> None:
        self.asked: list[str] = []
        self.score = score

    def __call__(self, question: str) -> float:
        self.asked.append(question)
        return self.score


def test_the_baseline_is_probed_once_per_generation_and_reread_from_disk(tmp_path: Path):
    first, raw = Baselines(tmp_path), Counting()
    assert first.get("docs", 3, raw) == first.get("docs", 3, raw) == 0.2
    assert raw.asked == list(PROBES)  # once: the second call is served from memory
    again = Counting()
    assert Baselines(tmp_path).get("docs", 3, again) == 0.2 and again.asked == []  # from disk


def test_a_new_generation_is_probed_again(tmp_path: Path):
    Baselines(tmp_path).get("docs", 3, Counting(0.2))
    later = Counting(0.3)
    assert Baselines(tmp_path).get("docs", 4, later) == 0.3 and len(later.asked) == len(PROBES)


def test_an_unreadable_baseline_file_is_probed_again(tmp_path: Path):
    path = calibration_path(tmp_path, "docs").with_suffix(".baseline.json")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert Baselines(tmp_path).get("docs", 1, Counting(0.25)) == 0.25
    assert json.loads(path.read_text())["baseline"] == 0.25


def test_answerability_is_the_share_of_evidence_above_the_baseline():
    raw = Features(dense=0.5, sentence=0.6, coverage=1.0, agreement=1.0)
    assert raw.score() == raw.raw() == 0.6  # no baseline: the raw score, as before
    assert Features(0.5, 0.6, 1.0, 1.0, baseline=0.2).score() == round(1 - 0.2 / 0.6, 4)
    assert Features(0.5, 0.1, 1.0, 1.0, baseline=0.2).score() == 0.0  # below it: nothing
    assert Features(0.5, 0.6, 1.0, 1.0, unknown=1, baseline=0.2).score() < 0.5


def test_a_threshold_written_for_the_old_absolute_score_is_ignored(tmp_path: Path):
    path = calibration_path(tmp_path, "docs")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"abstain_below": 0.46}))
    assert collection_threshold(tmp_path, "docs") is None
    write_threshold(tmp_path, "docs", 0.55, {})
    assert collection_threshold(tmp_path, "docs") == 0.55


def test_questions_asking_for_a_name_or_a_value_are_told_apart():
    assert asked_kinds("Which environment variable turns on trace messages?") == {"name"}
    assert asked_kinds("How do I switch the database to write-ahead logging?") == {"name"}
    assert asked_kinds("How many loose objects trigger a repack?") == {"value"}
    assert asked_kinds("What is the default width of side by side output?") == {"value"}
    assert asked_kinds("Why is the GPU not used?") == set()


def test_only_a_name_the_question_lacks_counts_as_an_answer():
    question = "Which option of git commit fixes the last commit message?"
    assert holds_kind("Run git commit --amend to redo it.", question, {"name"})
    assert not holds_kind("The commit message of the last commit can be fixed.", question, {"name"})
    assert not holds_kind("The default value is 6700.", question, {"name"})
    assert holds_kind("The default value is 6700.", "How many objects?", {"value"})


def test_the_second_quote_holds_a_name_of_the_asked_kind_when_one_is_retrieved():
    question = "Which environment variable turns on the trace messages of git?"
    text = (
        "Git can print trace messages of what it does. "
        "The trace messages of git are printed to standard error. "
        "Set GIT_TRACE to 1 to see them."
    )
    first, second = extract(evidence(question, text))
    assert "GIT_TRACE" not in first.claim and second.claim == "Set GIT_TRACE to 1 to see them."
    assert second.citations == [1] and second.claim in text


def test_without_an_asked_kind_the_two_most_relevant_sentences_are_quoted():
    question = "Why are the trace messages of git printed?"
    text = (
        "Git can print trace messages of what it does. "
        "The trace messages of git are printed to standard error. "
        "Set GIT_TRACE to 1 to see them."
    )
    quotes = extract(evidence(question, text))
    assert all("GIT_TRACE" not in q.claim for q in quotes) and len(quotes) == 2


TRACE = (
    "Git can print trace messages of what it does. "
    "The trace messages of git are printed to standard error. "
    "Set GIT_TRACE to 1 to see them."
)


def test_auto_replaces_a_supported_answer_that_names_nothing_asked_for():
    ev = evidence("Which environment variable turns on the trace messages of git?", TRACE)
    restated = "Git can print trace messages of what it does [1]."
    auto = judge(restated, ev, Settings(answer_mode="auto", _env_file=None))
    assert auto.replaced and "GIT_TRACE" in auto.answer
    kept = judge(restated, ev, Settings(answer_mode="generative", _env_file=None))
    assert not kept.replaced and kept.grounded == 1.0


def test_auto_keeps_a_supported_answer_that_names_the_asked_kind():
    # the name must stand in a sentence bearing on the question (checking._unanchored)
    text = TRACE.replace("to see them", "to turn on the trace messages")
    ev = evidence("Which environment variable turns on the trace messages of git?", text)
    answer = "Set GIT_TRACE to 1 to turn on the trace messages [1]."
    verdict = judge(answer, ev, Settings(_env_file=None))
    assert (verdict.mode, verdict.replaced) == ("generative", False)
