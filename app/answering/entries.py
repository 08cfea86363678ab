"""Which manual entry each passage sentence belongs to: a paragraph, a term and its description,
or a record of "Label: value" rows.

Manuals print an entry's name on one line and what the question asks about on another:
"work_mem (integer): Sets the base maximum amount of memory ... The default value is four
megabytes (4MB).", "int yyleng" above "holds the length of the current token.", a directive's
"Description:" row above its "Default:" row. A sentence is read with the words of its entry's
lead, so the line holding the value competes on the words of the line naming the topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.answering.answertype import names_in
from app.answering.evidence import words
from ingest.chunker import split_sentences

# A row of a label/value record: a short capitalized label, a colon, a value ("Default: 8190",
# "Context: server config", "Status: Core"). Names in lower case ("gc.auto: When ...") are
# definition-list terms of prose paragraphs, not record labels.
_ROW = re.compile(r"^[A-Z][A-Za-z]*(?: [A-Za-z]+){0,2}: \S")
# Rows longer than this are prose that happens to start with a label.
ROW_WORDS = 24
# A term line: short, and it does not end like prose ("int yyleng", "--norc", "‘-i’").
TERM_WORDS = 8
_PROSE_END = re.compile(r"[.!?,;:]$")
# A sentence that opens with its term: "work_mem (integer): Sets ...", "GIT_TRACE: Enables ...".
_LABELLED = re.compile(r"^[^:]{1,40}: \S")
LABEL_WORDS = 4


@dataclass(frozen=True)
class Entry:
    """The sentences (indices into the passage's sentence list) of one entry."""

    members: tuple[int, ...]
    lead: tuple[int, ...]  # its first sentence; with a term line, the description's first too
    termed: bool  # it opens with a term: a term line, a record, or a labelled first sentence


def entries(text: str) -> list[Entry]:
    """For each sentence of `sentences_of(text)`, in order, the entry it belongs to."""
    paragraphs = _paragraphs(text)
    groups: list[list[int]] = []  # paragraph indices of each entry
    for k in range(len(paragraphs)):
        if k and _joins(paragraphs[k - 1], paragraphs[k]):
            groups[-1].append(k)
        else:
            groups.append([k])
    starts = [sum(len(p) for p in paragraphs[:k]) for k in range(len(paragraphs))]
    out: list[Entry] = []
    for group in groups:
        entry = _entry(group, paragraphs, starts)
        out += [entry] * len(entry.members)
    return out


def _entry(group: list[int], paragraphs: list[list[str]], starts: list[int]) -> Entry:
    first = paragraphs[group[0]]
    members = tuple(range(starts[group[0]], starts[group[-1]] + len(paragraphs[group[-1]])))
    term = _is_term(first) and len(group) > 1
    lead = (starts[group[0]], starts[group[1]]) if term else (starts[group[0]],)
    termed = term or _is_row(first) or _opens_with_term(first[0])
    return Entry(members, lead, termed)


def _paragraphs(text: str) -> list[list[str]]:
    """The sentences of each paragraph (blank-line separated), split as `sentences_of` splits."""
    paragraphs: list[list[str]] = [[]]
    for line in text.split("\n"):
        if not line.strip():
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        paragraphs[-1] += [s for s in split_sentences(line.strip()) if s]
    return [p for p in paragraphs if p]


def _joins(previous: list[str], paragraph: list[str]) -> bool:
    """Whether `paragraph` continues the entry of `previous`: the next row of a record, or the
    description under a term line."""
    return (_is_row(previous) and _is_row(paragraph)) or _is_term(previous)


def _is_row(paragraph: list[str]) -> bool:
    return len(paragraph) == 1 and is_row(paragraph[0])


def is_row(line: str) -> bool:
    """Whether `line` is a label/value row ("Default: LimitRequestBody 1073741824")."""
    return bool(_ROW.match(line)) and len(words(line)) <= ROW_WORDS


def _is_term(paragraph: list[str]) -> bool:
    line = paragraph[-1]
    short = len(paragraph) == 1 and len(words(line)) <= TERM_WORDS
    return short and not _PROSE_END.search(line) and not _is_row(paragraph)


def _opens_with_term(sentence: str) -> bool:
    """Whether the sentence starts with the name it describes: a code-like first word
    ("‘-i, --case-insensitive’ instructs ..."), or a short label before a colon."""
    label = _LABELLED.match(sentence)
    if label and len(words(label.group(0))) <= LABEL_WORDS:
        return True
    first = sentence.split(maxsplit=1)[0] if sentence.strip() else ""
    return bool(names_in(first))
