"""What answer ragd stands behind: the checked generation, or the verbatim extractive quote."""

from __future__ import annotations

from dataclasses import dataclass

from app.answering.answertype import asked_kinds, holds_kind, kind_tokens
from app.answering.citations import filter_citations
from app.answering.evidence import SentenceEvidence
from app.answering.extractive import candidates, extract, quoted_text
from app.answering.schemas import AnswerMode
from app.answering.support import (
    Checked,
    OverlapChecker,
    check,
    grounded,
    refused,
    render,
    whole,
)
from config.settings import Settings

NOTHING_TO_QUOTE = (
    "I cannot answer this from the documents: no passage sentence bears on the question."
)


@dataclass(frozen=True)
class Verdict:
    answer: str
    sentences: list[Checked]
    grounded: float
    mode: AnswerMode
    replaced: bool = False  # auto mode swapped the generated answer for the extractive one
    generated: str = ""  # the model's text, as streamed
    invalid: int = 0  # [n] markers naming no source
    attributed: int = 0  # citations added to supported sentences the model left uncited


def judge(
    text: str, evidence: SentenceEvidence, settings: Settings, extractive: bool = False
) -> Verdict:
    """Check the generated `text` sentence by sentence; in auto mode, fall back to quoting."""
    if extractive:
        return _extractive(evidence, text, replaced=False)
    sources = len(evidence.passages)
    invalid = filter_citations(text, sources).removed
    checked = check(text, OverlapChecker(evidence), sources, settings.support_threshold)
    share = grounded(checked)
    failed = share < settings.replace_below or refused(checked)
    failed = failed or _quote_names_it(checked, evidence) or _unanchored(checked, evidence)
    if settings.answer_mode == "auto" and failed:
        return _extractive(evidence, text, replaced=True, invalid=invalid)
    attributed = sum(1 for c in checked if c.attributed)
    return Verdict(render(checked), checked, share, "generative", False, text, invalid, attributed)


def _quote_names_it(checked: list[Checked], evidence: SentenceEvidence) -> bool:
    """Whether the answer to "which option..." names no option (or "how many" no number) the
    question lacks while the extractive quote does: the answer restates the question, the
    quote answers it."""
    question, kinds = evidence.question, asked_kinds(evidence.question)
    said = " ".join(c.claim for c in checked if c.supported)
    if not kinds or holds_kind(said, question, kinds):
        return False
    return holds_kind(" ".join(c.claim for c in extract(evidence)), question, kinds)


def _extractive(evidence: SentenceEvidence, text: str, replaced: bool, invalid: int = 0) -> Verdict:
    picked = extract(evidence)
    if not picked:  # nothing quotable: ragd does not stand behind any text
        return Verdict(NOTHING_TO_QUOTE, [], 0.0, "abstained", replaced, text, invalid)
    return Verdict(render(picked), picked, grounded(picked), "extractive", replaced, text, invalid)


# How many of the best-matching passage sentences may state the name or number a generated
# answer gives. On the real-document set, with the packaged model: 1 or 2 keep 9-11 generated
# answers (6 right), 3 keeps 15, 5 or more 18 (the extra ones mostly siblings, "LUA_INIT_5_2"
# for "LUA_INIT", "json_tree" for "json_extract").
NEAR = 2


def _unanchored(checked: list[Checked], evidence: SentenceEvidence) -> bool:
    """Whether the answer to "which option..." names options (or "how many" numbers) none of
    which the passage sentences bearing most on the question hold: the model picked a
    sibling of the asked one ("json_tree" for "json_extract"), which the check alone lets
    through, since the passage does name it."""
    question, kinds = evidence.question, asked_kinds(evidence.question)
    said = [t for c in checked if c.supported for t in kind_tokens(c.claim, question, kinds)]
    if not said:
        return False
    near = " ".join(quoted_text(evidence, c) for c in candidates(evidence)[:NEAR])
    return not any(whole(t).search(near) for t in said)
