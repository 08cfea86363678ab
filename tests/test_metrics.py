"""Evaluation metrics against values computed by hand, and the abstention threshold search."""

import math

import pytest

from app.evals.evaluate import calibrate, suggest_threshold
from app.evals.scoring import (
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


def test_a_repeated_document_gains_once_and_crowds_out_the_places_it_takes():
    # b at rank 1 (gain 1), its second chunk at rank 2 gains nothing, d at rank 3 (gain 2)
    dcg = 1.0 + 2 / math.log2(4)
    assert ndcg_at(["b", "b", "d"], RELEVANT, 10) == pytest.approx(dcg / 3.13093, abs=1e-5)
    assert recall_at(["b", "b", "d"], RELEVANT, 2) == pytest.approx(1 / 3)
    assert mrr_at(["a", "a", "b"], RELEVANT, 10) == pytest.approx(1 / 3)


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


def test_suggested_threshold_keeps_99_percent_of_answerable_questions():
    answerable = [0.3] + [0.5] * 99  # one outlier in a hundred may be refused
    assert suggest_threshold(answerable) == 0.5
    assert suggest_threshold([0.3] + [0.5] * 50) == 0.3  # one in fifty may not
    report = calibrate([0.45, 0.5, 0.6, 0.7, 0.3], [0.05, 0.1, 0.35], threshold=0.4)
    assert (report.answered, report.abstained, report.suggested) == (0.8, 1.0, 0.3)
    assert report.suggested_abstained == pytest.approx(2 / 3, abs=1e-4)
