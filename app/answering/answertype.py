"""What kind of answer a question asks for, and whether a sentence holds one it does not already."""

from __future__ import annotations

import re

from app.answering.evidence import stem, words

# "Which option / variable / function ...", "How do I ...": the answer is a name the manual
# spells exactly (--flag, ENV_VAR, func_name, table.concat, .import, PRAGMA x). "Which" asks to
# pick a named thing whatever the noun after it ("which directive", "which handler").
_ASKS_NAME = re.compile(
    r"\bwhich\b|\bwhat\b.*\b(options?|variables?|functions?|commands?|pragmas?|hooks?|modules?|"
    r"settings?|flags?|metamethods?|clauses?|statements?|styles?|keywords?|parameters?|methods?|"
    r"operators?|builtins?|files?|names?|extensions?|terminals?|programs?|tools?|macros?|"
    r"fields?|targets?|modifiers?|tables?|classes|class|events?|types?)\b|"
    r"\bhow (do|can|would|should) (i|you|we)\b",
    re.IGNORECASE,
)
# "How many ...", "What is the default ...", "When ...": the answer holds a number or a value.
_ASKS_VALUE = re.compile(
    r"\b(how (many|much|long|big|large|often)|default|maximum|minimum|limit|size|year|when)\b",
    re.IGNORECASE,
)
# A token spelled like code: a flag, snake_case, CONSTANT_CASE, dotted, call, .command, CamelCase
_NAME = re.compile(
    r"(?<![\w-])(--?[a-zA-Z][\w-]*|[A-Za-z]\w*_\w+|[A-Z]{3,}\w*|\w+\.\w+|\w+\(\)|\.[a-z]\w+|"
    r"[a-z]+[A-Z]\w*)"
)
_NUMBER = re.compile(r"(?<![\w.])-?\d[\d.,]*\w*")


def asked_kinds(question: str) -> set[str]:
    """{"name"} and/or {"value"}: what a short answer to `question` would be made of."""
    kinds = set()
    if _ASKS_NAME.search(question):
        kinds.add("name")
    if _ASKS_VALUE.search(question):
        kinds.add("value")
    return kinds


def holds_kind(sentence: str, question: str, kinds: set[str]) -> bool:
    """Whether `sentence` holds a name or number of an asked kind that the question lacks:
    the answer, rather than a restatement of the question."""
    return bool(kind_tokens(sentence, question, kinds))


def kind_tokens(sentence: str, question: str, kinds: set[str]) -> list[str]:
    """The names or numbers of the asked kinds in `sentence` that the question lacks."""
    known = {stem(w) for w in words(question)}
    found = []
    if "name" in kinds:
        found += _NAME.findall(sentence)
    if "value" in kinds:
        found += _NUMBER.findall(sentence)
    return [t for t in found if any(stem(w) not in known for w in words(t) or [t])]


# "What is the default ...", "... unless told otherwise", "... if I don't configure it": the
# answer is what holds when nothing is set.
_ASKS_DEFAULT = re.compile(
    r"\b(default|unless|otherwise|if (i|you|we) (do not|don't)|not (given|set|configured|"
    r"specified))\b",
    re.IGNORECASE,
)
# A sentence stating a default: a "Default:" row, "defaults to", "by default", "the default
# ... is"; weaker, one that only mentions a default ("change the default limit (1e-5)").
_STATES_DEFAULT = re.compile(
    r"^default\b|\bdefaults to\b|\bby default\b|\bthe default\b[^.;,]*\bis\b", re.IGNORECASE
)
_MENTIONS_DEFAULT = re.compile(r"\bdefault", re.IGNORECASE)


def asks_default(question: str) -> bool:
    """Whether the question asks what holds when nothing is configured."""
    return bool(_ASKS_DEFAULT.search(question))


def default_rank(sentence: str) -> int:
    """0: the sentence states a default; 1: it mentions one; 2: neither."""
    if _STATES_DEFAULT.search(sentence):
        return 0
    return 1 if _MENTIONS_DEFAULT.search(sentence) else 2


# A call as manuals print a signature: "fzero (fun, x0)", "[tok, rem] = strtok (str)".
_SIGNATURE = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*) ?\((?=[^)]*\))")


def names_in(line: str) -> list[str]:
    """The tokens of `line` spelled like code: flags, identifiers, signatures' names."""
    return _NAME.findall(line) + _SIGNATURE.findall(line)
