"""Evaluation metrics against values computed by hand, and the abstention threshold search."""

import pytest

from app.evaluate import calibrate, ranked_documents, suggest_threshold
from app.metrics import (
    contains_answer,
    exact_match,
    mrr_at,
    ndcg_at,
    normalize_answer,
    percentile,
    recall_at,
    token_f1,
)

RANKED = ["a", "b", "c", "d"]
RELEVANT = {"b": 1, "d": 2, "x": 1, "c": 0}  # "x" was never retrieved; "c" is judged irrelevant


def test_ndcg_uses_linear_gains_and_the_ideal_order_of_all_judged_documents():
    # DCG = 1/log2(3) + 2/log2(5) = 1.49228; ideal gains 2, 1, 1: 2 + 1/log2(3) + 1/2 = 3.13093
    assert ndcg_at(RANKED, RELEVANT, 10) == pytest.approx(1.49228 / 3.13093, abs=1e-5)
    assert ndcg_at(RANKED, RELEVANT, 1) == 0.0
    assert ndcg_at(["d", "b", "x"], RELEVANT, 10) == pytest.approx(1.0)


def test_recall_and_mrr_cut_at_k():
    assert recall_at(RANKED, RELEVANT, 2) == pytest.approx(1 / 3)
    assert recall_at(RANKED, RELEVANT, 10) == pytest.approx(2 / 3)
    assert mrr_at(RANKED, RELEVANT, 10) == 0.5
    assert mrr_at(RANKED, RELEVANT, 1) == 0.0


def test_a_document_counts_once_at_the_rank_of_its_best_chunk():
    assert ranked_documents(["d1", "d1", "d2", "d1", "d3"]) == ["d1", "d2", "d3"]


def test_squad_normalization_exact_match_and_f1():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert exact_match("the Eiffel Tower.", ["Louvre", "Eiffel Tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    # prediction tokens in/paris/france, gold paris: precision 1/3, recall 1 -> F1 = 0.5
    assert token_f1("in Paris, France", ["Paris"]) == pytest.approx(0.5)
    assert token_f1("Berlin", ["Paris"]) == 0.0
    assert contains_answer("It opened in 1889, in Paris.", ["1889"])
    assert not contains_answer("It opened in 18890.", ["1889"])


def test_percentile_interpolates_like_numpy():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)


def test_suggested_threshold_separates_answerable_from_unanswerable():
    answerable = [0.45, 0.5, 0.6, 0.7, 0.3]
    unanswerable = [0.05, 0.1, 0.15, 0.2]
    cut = suggest_threshold(answerable, unanswerable)
    assert 0.2 < cut <= 0.3  # everything on the right side, margin both ways
    report = calibrate(answerable, unanswerable, threshold=0.4)
    assert (report.answered, report.abstained) == (0.8, 1.0)
    assert (report.suggested_answered, report.suggested_abstained) == (1.0, 1.0)
