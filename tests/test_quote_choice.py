"""Which passage sentence ragd quotes, and when a generated name gives way to the quote."""

from __future__ import annotations

from app.answering.answertype import asked_kinds, names_in
from app.answering.checking import judge
from app.answering.extractive import candidates, extract
from config.settings import Settings
from tests.support import evidence

OPTIONS = (
    "Octave reads its startup files when it starts.\n"
    "--verbose\n"
    "-V Print a message as each of the startup files is read at startup.\n"
    "--norc\n"
    "-f Don't read any of the system or user initialization files at startup.\n"
    "--silent\n"
    "-q Don't print the usual greeting and version message at startup."
)
MAILED = [f"Patch {n} of the series is mailed as its own email." for n in range(1, 13)]
PATCHES = "\n".join(
    [*MAILED[:6], "--cover-letter: Add an introductory note before the first patch.", *MAILED[6:]]
)
JSON = (
    "The json_extract(X,P1) function extracts and returns a value from the JSON document X at "
    "path P1. "
    "Paths in the JSON functions begin with a dollar sign for the whole document. "
    "Malformed JSON raises an error in every JSON function. "
    "The json_tree() function walks the JSON document recursively, one row for each element."
)


def test_an_option_description_is_quoted_after_its_term_line_verbatim():
    ev = evidence("Which option keeps Octave from reading the initialization files?", OPTIONS)
    quotes = [q.claim for q in extract(ev)]
    at = quotes.index("--norc")
    assert (
        quotes[at + 1] == "-f Don't read any of the system or user initialization files at startup."
    )
    assert all(q in OPTIONS for q in quotes) and all(c.citations == [1] for c in extract(ev))


def test_a_prose_line_above_a_description_is_not_taken_for_its_term():
    text = "Octave can be started in several ways.\nIt reads no initialization files with --norc."
    ev = evidence("How do I keep Octave from reading initialization files?", text)
    [best] = [c for c in candidates(ev) if ev.sentences[c.i][c.j].startswith("It reads")]
    assert best.head is None


def test_signature_lines_name_the_function_they_introduce():
    assert "strsplit" in names_in("[cstr] = strsplit (str) [cstr] = strsplit (str, del)")
    assert names_in("Split the string at the delimiters.") == []


def test_a_rare_question_word_outweighs_a_word_every_sentence_shares():
    # "patch", "series" and "mailed" are in every sentence; "introductory" and "note" in one
    ev = evidence("Which option mails an introductory note with a patch series?", PATCHES)
    best = candidates(ev)[0]
    assert ev.sentences[best.i][best.j].startswith("--cover-letter")


def test_a_generated_sibling_name_gives_way_to_the_quote_of_the_asked_one():
    question = "Which SQL function extracts a value from a JSON document by path?"
    ev = evidence(question, JSON)
    sibling = "The json_tree() function walks the JSON document by path [1]."
    verdict = judge(sibling, ev, Settings(_env_file=None))
    assert verdict.generated == sibling and verdict.replaced and verdict.mode == "extractive"
    assert "json_extract" in verdict.answer
    assert asked_kinds(question) == {"name"}


def test_a_generated_name_the_best_sentences_state_is_kept():
    ev = evidence("Which SQL function extracts a value from a JSON document by path?", JSON)
    answer = "The json_extract() function extracts a value from the JSON document at a path [1]."
    verdict = judge(answer, ev, Settings(_env_file=None))
    assert (verdict.mode, verdict.replaced) == ("generative", False)
    assert verdict.sentences[0].supported and verdict.sentences[0].citations == [1]
