"""Support checking, extractive answers, auto replacement and calibration, on the shared fakes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.answering.calibration import calibration_path, collection_threshold, write_threshold
from app.answering.extractive import extract
from app.answering.services import Services
from app.answering.support import OverlapChecker, check, exact_tokens, grounded
from app.evals.calibrate import abstention_curve
from app.server.main import create_app
from config.settings import Settings
from ingest.pipeline import build_ingestor, discover
from tests.fakes import FakeGenerator
from tests.support import evidence, write_files

HTTPD = (
    "R can serve its help pages through a built-in web server. The server is disabled by "
    "setting the environment variable R_DISABLE_HTTPD to a non-empty value. It listens on "
    "the loopback interface only."
)
THRESHOLD = Settings.model_fields["support_threshold"].default
TOKYO = "Tokyo is the capital of Japan. It is a very large city on the island of Honshu."


def test_an_invented_identifier_is_flagged_and_loses_its_citation():
    ev = evidence("How is the web server disabled?", HTTPD)
    answer = "The environment variable R_TIDYCMD controls the web server [1]."
    [sentence] = check(answer, OverlapChecker(ev), 1, threshold=THRESHOLD)
    assert (sentence.supported, sentence.citations, sentence.score) == (False, [], 0.0)
    assert "[1]" not in sentence.text


def test_a_sentence_the_cited_passage_states_keeps_its_citation():
    ev = evidence("How is the web server disabled?", HTTPD)
    answer = "The server is disabled by setting the variable R_DISABLE_HTTPD [1]."
    [sentence] = check(answer, OverlapChecker(ev), 1, threshold=THRESHOLD)
    assert sentence.supported and sentence.citations == [1] and sentence.text.endswith("[1].")


def test_a_wrong_fact_citing_an_unrelated_passage_is_unsupported():
    ev = evidence("What is the capital of Australia?", HTTPD, TOKYO)
    answer = "The capital city of Australia is Canberra [1]."
    [sentence] = check(answer, OverlapChecker(ev), 2, threshold=THRESHOLD)
    assert not sentence.supported and sentence.citations == []


def test_an_uncited_supported_sentence_is_attributed_to_its_passage():
    ev = evidence("capital of Japan?", HTTPD, TOKYO)
    [sentence] = check("Tokyo is the capital of Japan.", OverlapChecker(ev), 2, threshold=THRESHOLD)
    assert sentence.supported and sentence.attributed and sentence.citations == [2]


def test_only_unsupported_sentences_lose_citations_and_grounded_counts_them():
    ev = evidence("capital of Japan?", TOKYO)
    answer = "Tokyo is the capital of Japan [1]. It has 40 million bicycles [1]."
    checked = check(answer, OverlapChecker(ev), 1, threshold=THRESHOLD)
    assert [c.supported for c in checked] == [True, False]
    assert checked[1].citations == [] and grounded(checked) == 0.5


def test_the_model_declining_is_a_refusal_not_a_supported_claim():
    ev = evidence("capital of Japan?", TOKYO)
    [sentence] = check("The documents do not say.", OverlapChecker(ev), 1, threshold=THRESHOLD)
    assert sentence.refusal and not sentence.supported


def test_numbers_and_identifiers_must_appear_verbatim():
    found = exact_tokens("Set --prune and R_X=1 in v2.3 for my file.txt, camelCase in Canberra")
    assert found == ["--prune", "R_X=1", "v2.3", "file.txt", "camelCase", "Canberra"]


def test_extractive_answer_quotes_only_passage_text():
    ev = evidence("Which environment variable disables the server?", TOKYO, HTTPD)
    [quote] = extract(ev, most=1)
    assert quote.claim in HTTPD and quote.citations == [2]
    assert quote.text == f'"{quote.claim}" [2]'
    assert "R_DISABLE_HTTPD" in quote.claim


def test_compression_keeps_the_sentence_bearing_on_the_question():
    long = " ".join(f"Filler sentence number {w} talks about nothing." for w in "abcdefghij")
    ev = evidence("Which variable disables the web server?", long + " " + HTTPD + " " + long)
    shown = ev.compressed(0, keep=1, window=1)
    assert "R_DISABLE_HTTPD" in shown and len(shown) < len(long)
    assert shown.startswith("…") and shown.endswith("…")


def test_the_curve_suggests_the_threshold_refusing_most_unanswerable_within_ten_percent():
    answerable = [0.5, 0.55, 0.6, 0.65, 0.7, 0.7, 0.75, 0.8, 0.85, 0.9]
    unanswerable = [0.1, 0.2, 0.3, 0.4, 0.52]
    curve = abstention_curve(answerable, unanswerable, threshold=0.22)
    assert curve is not None
    # refusing 0.52 costs the 0.5 answerable question: 10%, the most allowed
    assert (curve.suggested.answered, curve.suggested.refused) == (0.9, 1.0)
    assert 0.52 < curve.suggested.threshold <= 0.55
    assert (curve.current.answered, curve.current.refused) == (1.0, 0.4)


def test_a_written_collection_threshold_is_read_back(tmp_path: Path):
    assert collection_threshold(tmp_path, "docs") is None
    write_threshold(tmp_path, "docs", 0.37, {"curve": []})
    assert collection_threshold(tmp_path, "docs") == 0.37
    calibration_path(tmp_path, "docs").write_text("not json")
    assert collection_threshold(tmp_path, "docs") is None


@pytest.fixture
def services(settings, embedder, library, tmp_path: Path) -> Services:
    root = write_files(tmp_path / "docs", {"tokyo.txt": TOKYO, "httpd.txt": HTTPD})
    build_ingestor(settings, embedder, library).ingest(discover([root]))
    return Services(settings, embedder, FakeGenerator(), library)


def ask(services: Services, **body) -> dict:
    with TestClient(create_app(services=services)) as client:
        return client.post("/api/ask", json={"question": "capital of Japan?", **body}).json()


def test_ask_reports_each_sentence_with_its_support(services):
    services.generator.answer = "Tokyo is the capital of Japan [1]. It has 40 million bicycles [1]."
    services.settings.answer_mode = "generative"
    body = ask(services)
    assert body["answer_mode"] == "generative" and body["grounded"] == 0.5
    assert [(s["supported"], s["citations"]) for s in body["sentences"]] == [
        (True, [1]),
        (False, []),
    ]
    assert body["answer"] == "Tokyo is the capital of Japan [1]. It has 40 million bicycles."


def test_auto_replaces_an_unsupported_answer_with_a_cited_quote(services):
    services.generator.answer = "Kyoto has been the capital since 1999 [1]."
    body = ask(services)
    assert (body["answer_mode"], body["replaced"]) == ("extractive", True)
    assert body["generated_answer"] == "Kyoto has been the capital since 1999 [1]."
    assert body["answer"].startswith('"Tokyo is the capital of Japan."')
    assert body["sentences"][0]["supported"] and body["grounded"] == 1.0


def test_extractive_mode_never_calls_the_model(services):
    services.settings.answer_mode = "extractive"
    body = ask(services)
    assert services.generator.prompts == [] and body["usage"]["completion_tokens"] == 0
    assert body["answer_mode"] == "extractive" and body["answer"].startswith('"Tokyo')
    for sentence in body["sentences"]:
        [n] = sentence["citations"]
        quoted = re.fullmatch(rf'"(.+)" \[{n}\]', sentence["text"])
        assert quoted and quoted.group(1) in body["sources"][n - 1]["text"]


def test_a_collection_threshold_overrides_the_global_one(services):
    write_threshold(services.settings.data_dir, "default", 0.99, {})
    body = ask(services)
    assert (body["answerable"], body["answer_mode"], body["abstain_threshold"]) == (
        False,
        "abstained",
        0.99,
    )
    assert services.generator.prompts == []


def test_the_stream_ends_with_the_replacement_and_the_flag(services):
    services.generator.answer = "Kyoto has been the capital since 1999 [1]."
    with TestClient(create_app(services=services)) as client:
        body = {"question": "capital of Japan?", "stream": True}
        with client.stream("POST", "/api/ask", json=body) as r:
            lines = [line for line in r.iter_lines() if line.startswith("data:")]
    tokens = "".join(json.loads(line[5:]).get("text", "") for line in lines[1:-1])
    done = json.loads(lines[-1][5:])
    assert tokens == "Kyoto has been the capital since 1999 [1]."
    assert done["replaced"] and done["answer"].startswith('"Tokyo is the capital')


def test_openai_stream_final_chunk_carries_the_replacement(services):
    services.generator.answer = "Kyoto has been the capital since 1999 [1]."
    with TestClient(create_app(services=services)) as client:
        question = {"role": "user", "content": "capital of Japan?"}
        body = {"model": "ragd", "stream": True, "messages": [question]}
        with client.stream("POST", "/v1/chat/completions", json=body) as r:
            chunks = [line[5:].strip() for line in r.iter_lines() if line.startswith("data:")]
    correction, final = json.loads(chunks[-3]), json.loads(chunks[-2])
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["ragd"]["replaced"] and final["ragd"]["answer"].startswith('"Tokyo')
    assert correction["choices"][0]["delta"]["content"].endswith(final["ragd"]["answer"])
    assert chunks[-1] == "[DONE]"


def test_a_number_counts_only_as_a_whole_token_of_the_passage():
    ev = evidence(
        "What is the default maximum number of columns?",
        "Released in 2010. The default maximum number of columns in a table is 2000.",
    )
    wrong = "The default maximum number of columns is 10 [1]."
    right = "The default maximum number of columns is 2000 [1]."
    checked = check(f"{wrong} {right}", OverlapChecker(ev), 1, threshold=THRESHOLD)
    assert [c.supported for c in checked] == [False, True]
