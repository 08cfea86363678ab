"""Citation filtering and quote selection."""

from app.answering.citations import best_quote, filter_citations


def test_invalid_citations_are_removed_and_counted():
    result = filter_citations("Paris is big [1]. It has a tower [2][7]. Also [0, 3].", sources=3)
    assert result.answer == "Paris is big [1]. It has a tower [2]. Also [3]."
    assert result.cited == [1, 2, 3]
    assert result.removed == 2


def test_answer_without_citations_is_unchanged():
    result = filter_citations("No markers here.", sources=2)
    assert (result.answer, result.cited, result.removed) == ("No markers here.", [], 0)


def test_best_quote_picks_the_supporting_sentence():
    chunk = "ragd is local. The lock file is called write.lock. It runs on CPU."
    assert best_quote(chunk, "The lock file is write.lock [1].", 1) == (
        "The lock file is called write.lock."
    )


def test_uncited_sentences_are_attributed_only_when_a_passage_supports_them():
    from app.answering.citations import attribute

    passages = ["The lock file is called write.lock in the collection folder.", "Cats sleep a lot."]
    answer = "The lock file is called write.lock. Bananas are yellow fruit today. Cats sleep [2]."
    text, added = attribute(answer, passages)
    assert text == (
        "The lock file is called write.lock [1]. Bananas are yellow fruit today. Cats sleep [2]."
    )
    assert added == 1


def test_a_heading_line_is_not_glued_to_the_quoted_sentence():
    chunk = "ragd team FAQ\n\nWho maintains ragd?\n\nThe maintainers meet every Tuesday."
    assert (
        best_quote(chunk, "They meet every Tuesday [1].", 1)
        == "The maintainers meet every Tuesday."
    )


def test_headings_are_not_quoted_when_sentences_exist():
    chunk = "ragd team FAQ\n\nWho maintains ragd?\n\nThe ragd maintainers meet every Tuesday."
    quote = best_quote(chunk, "The ragd team maintainers meet Tuesday [1].")
    assert "FAQ" not in quote and "every Tuesday." in quote
