"""Quotes of a value that stands on another line than the question's words: manual entries
(a term line and its description, a label/value record, a labelled paragraph) and defaults."""

from __future__ import annotations

from app.answering.answertype import asked_kinds, asks_default, default_rank
from app.answering.entries import entries
from app.answering.evidence import SentenceEvidence, sentences_of
from app.answering.extractive import candidates, extract, given_rows
from tests.support import evidence

# The shapes below are the loaders' renderings of real manuals: an HTML definition list
# (PostgreSQL's configuration parameters: "<dt>work_mem (integer)</dt><dd>..."), Apache's
# directive summary table (one "Label: value" row per paragraph), flex's PDF option list and
# its "int yyleng" term line.
WORK_MEM = (
    "work_mem (integer): Sets the base maximum amount of memory to be used by a query "
    "operation (such as a sort or hash table) before writing to temporary disk files. If this "
    "value is specified without units, it is taken as kilobytes. The default value is four "
    "megabytes (4MB). Note that a complex query might perform several sort and hash "
    "operations at the same time."
)
MAINTENANCE = (
    "maintenance_work_mem (integer): Specifies the maximum amount of memory to be used by "
    "maintenance operations, such as VACUUM and CREATE INDEX. The default value is 64 "
    "megabytes (64MB). Since only one of these operations can be executed at a "
    "time, it is safe to set this value significantly larger than work_mem."
)
FIELD_SIZE = (
    "Description: Limits the size of the HTTP request header allowed from the client\n\n"
    "Syntax: LimitRequestFieldSize bytes\n\n"
    "Default: LimitRequestFieldSize 8190\n\n"
    "Context: server config, virtual host\n\n"
    "Status: Core\n\n"
    "Module: core\n\n"
    "This directive specifies the number of bytes that will be allowed in an HTTP request "
    "header. A server needs this value to be large enough to hold any one header field."
)
BODY = (
    "Description: Restricts the total size of the request body sent from the client\n\n"
    "Syntax: LimitRequestBody bytes\n\n"
    "Default: LimitRequestBody 1073741824\n\n"
    "Context: server config, virtual host, directory, .htaccess\n\n"
    "Compatibility: In Apache HTTP Server 2.4.53 and earlier, the default value was 0"
)
FLEX_OPTIONS = (
    "‘-i, --case-insensitive, %option case-insensitive’ instructs flex to generate a "
    "case-insensitive scanner. The case of letters given in the flex input patterns will be "
    "ignored, and tokens in the input will be matched regardless of case.\n\n"
    "Flex’s default behavior is to generate an 8-bit scanner unless you use the ‘-Cf’ or ‘-CF’ "
    "options, in which case the scanner makes 7-bit tables.\n\n"
    "‘-l, --lex-compat, %option lex-compat’ turns on maximum compatibility with the original "
    "AT&T lex implementation. Note that this does not mean full compatibility."
)
FLEX_VALUES = (
    "This chapter summarizes the various values available to the user in the rule actions.\n\n"
    "char *yytext\n\n"
    "holds the text of the current token. It may be modified but not lengthened.\n\n"
    "int yyleng\n\n"
    "holds the length of the current token.\n\n"
    "FILE *yyin\n\n"
    "is the file which by default flex reads from."
)


def quoted(question: str, *texts: str) -> str:
    return " ".join(q.claim for q in extract(evidence(question, *texts)))


def scores(ev: SentenceEvidence, start: str, in_entry: bool) -> list[float]:
    return [c.score for c in candidates(ev, in_entry) if ev.sentences[c.i][c.j].startswith(start)]


def test_a_default_stated_later_in_a_definition_entry_is_quoted_for_its_term():
    question = "What is the default value of work_mem?"
    answer = quoted(question, MAINTENANCE, WORK_MEM)
    assert "four megabytes (4MB)" in answer and "64MB" not in answer
    ev = evidence(question, MAINTENANCE, WORK_MEM)
    # read with its entry's lead ("work_mem (integer): Sets ..."), the sentence holds "work_mem"
    [own] = scores(ev, "The default value is four", in_entry=False)
    [read] = scores(ev, "The default value is four", in_entry=True)
    [sibling] = scores(ev, "The default value is 64", in_entry=True)
    assert read > own and read > sibling


def test_a_records_default_row_is_quoted_on_the_words_of_its_description_row():
    answer = quoted("What is the default size limit of an HTTP request header?", BODY, FIELD_SIZE)
    assert "Default: LimitRequestFieldSize 8190" in answer


def test_an_option_named_before_its_description_is_quoted_with_it():
    question = "Which flex option makes the scanner ignore the case of letters?"
    assert "--case-insensitive" in quoted(question, FLEX_OPTIONS)
    ev = evidence(question, FLEX_OPTIONS)
    # read with its entry, the option's line holds the words of "The case of letters ... ignored"
    assert scores(ev, "‘-i", in_entry=True) > scores(ev, "‘-i", in_entry=False)


def test_a_short_term_line_above_a_lower_case_description_is_quoted_with_it():
    quotes = [
        q.claim for q in extract(evidence("Which variable holds the token length?", FLEX_VALUES))
    ]
    at = quotes.index("holds the length of the current token.")
    assert quotes[at - 1] == "int yyleng"
    assert all(q in FLEX_VALUES for q in quotes)


def test_record_rows_form_one_entry_led_by_their_first_row():
    found = entries(FIELD_SIZE)
    sentences = sentences_of(FIELD_SIZE)
    assert len(found) == len(sentences)
    record = found[sentences.index("Default: LimitRequestFieldSize 8190")]
    assert [sentences[k] for k in record.lead] == [sentences[0]] and record.termed
    assert sentences.index("Module: core") in record.members
    assert found[-1] != record  # the prose after the record is an entry of its own


def test_a_term_line_leads_the_description_under_it():
    found, sentences = entries(FLEX_VALUES), sentences_of(FLEX_VALUES)
    entry = found[sentences.index("holds the length of the current token.")]
    assert [sentences[k] for k in entry.lead] == [
        "int yyleng",
        "holds the length of the current token.",
    ]
    assert entry.termed


def test_a_prose_paragraph_is_no_manual_entry():
    text = "Most of the time, sqlite3 just reads lines of input. Dot commands change the format."
    assert not any(e.termed for e in entries(text))


def test_questions_about_what_holds_when_nothing_is_set_ask_for_a_default():
    assert asks_default("What file does flex write the scanner to unless told otherwise?")
    assert asks_default("At what level does the error log record messages if I don't set it?")
    assert not asks_default("Which flex option makes the scanner ignore case?")
    assert asked_kinds("Which directive turns on the generation of Expires headers?") == {"name"}


def test_a_sentence_stating_a_default_ranks_before_one_only_mentioning_it():
    assert default_rank("Default: LimitRequestBody 1073741824") == 0
    assert default_rank("The default value is four megabytes (4MB).") == 0
    assert default_rank("By default, sampling is set to 100 points.") == 0
    assert default_rank("In 2.4.53 and earlier, the default value was 0") == 1
    assert default_rank("Setting this to 0 disables it.") == 2


def test_a_default_row_is_quoted_whatever_its_value_looks_like():
    etag = (
        "Description: File attributes used to create the ETag HTTP response header for static "
        "files\n\nSyntax: FileETag component ...\n\nDefault: FileETag MTime Size\n\n"
        "Context: server config, virtual host, directory, .htaccess"
    )
    ssi = "Description: Controls whether ETags are generated by the server.\n\nDefault: SSIETag off"
    answer = quoted("Which file attributes make up a static file's ETag by default?", ssi, etag)
    assert "Default: FileETag MTime Size" in answer


def test_the_compressed_context_keeps_a_kept_records_default_row():
    ev = evidence("What is the default size limit of an HTTP request header?", FIELD_SIZE)
    assert "Default: LimitRequestFieldSize 8190" not in ev.compressed(0, 1)  # the window cuts it
    rows = given_rows(ev, 0, 1)
    assert "Default: LimitRequestFieldSize 8190" in ev.compressed(0, 1, also=rows)
    assert (
        given_rows(evidence("Who wrote the HTTP request header code?", FIELD_SIZE), 0, 1) == set()
    )
