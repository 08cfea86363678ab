"""Check bench/realdocs/qa.jsonl against the corpus it was written for.

    python bench/realdocs/check_qa.py [--qa bench/realdocs/qa.jsonl] [CORPUS]

For every answerable question: the gold file exists, and each answer string occurs in its text
(case-insensitive, whitespace collapsed); for PDFs, on the gold page as `pdftotext` reads it
(poppler-utils). HTML text is BeautifulSoup's, read twice: with a space between elements (as ragd
reads it) and with nothing between them (as LangChain's BSHTMLLoader reads it); the answer must be
in both. Where pypdf is installed, the PDF page is also read with pypdf (what PyPDFLoader and
ragd's current loader use): a miss there is reported as a warning, not an error.

For every unanswerable question: its `absent` strings (the words an answer would need) occur
nowhere in the corpus. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = Path("data/realdocs/corpus")


def norm(text: str) -> str:
    return " ".join(text.split()).casefold()


@functools.cache
def pdf_pages(path: Path) -> list[str]:
    """pdftotext's text of each page (pages are separated by form feeds)."""
    out = subprocess.run(["pdftotext", "-q", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8", "replace").split("\f")[:-1] or [""]


@functools.cache
def pypdf_pages(path: Path) -> list[str] | None:
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    return [page.extract_text() or "" for page in PdfReader(path).pages]


@functools.cache
def html_texts(path: Path) -> tuple[str, str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_bytes(), "html.parser")
    spaced = BeautifulSoup(path.read_bytes(), "html.parser")
    for s in (soup, spaced):
        for tag in s(["script", "style", "svg", "head"]):
            tag.decompose()
    return spaced.get_text(" "), soup.get_text()


def file_texts(path: Path) -> list[str]:
    """Every reading of a whole file that the answer has to survive."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return ["\n".join(pdf_pages(path))]
    if suffix in (".html", ".htm"):
        return list(html_texts(path))
    return [path.read_text(errors="replace")]


def check(qa: Path, corpus: Path) -> int:
    rows = [json.loads(line) for line in qa.read_text().splitlines() if line.strip()]
    errors, warnings = [], []
    per_manual: Counter[tuple[str, str]] = Counter()
    for n, row in enumerate(rows, 1):
        where = f"line {n} ({row['question'][:50]!r})"
        if not row["answers"]:
            per_manual[("(none)", row.get("kind", "?"))] += 1
            if row.get("kind") not in ("off-topic", "near-miss"):
                errors.append(f"{where}: unanswerable without kind off-topic/near-miss")
            continue
        source = row["source"]
        per_manual[(source.split("/")[0], "answerable")] += 1
        path = corpus / source
        if not path.is_file():
            errors.append(f"{where}: gold file {source} is not in {corpus}")
            continue
        if path.suffix.lower() == ".pdf":
            pages = pdf_pages(path)
            page = row.get("page")
            if not isinstance(page, int) or not 1 <= page <= len(pages):
                errors.append(f"{where}: PDF question needs a page in 1..{len(pages)}")
                continue
            texts = [pages[page - 1]]
            pypdf = pypdf_pages(path)
            for answer in row["answers"]:
                if pypdf is not None and norm(answer) not in norm(pypdf[page - 1]):
                    warnings.append(f"{where}: {answer!r} not on page {page} as pypdf reads it")
        else:
            if "page" in row:
                errors.append(f"{where}: page given for a non-PDF source")
            texts = file_texts(path)
        for answer in row["answers"]:
            missing = [i for i, t in enumerate(texts) if norm(answer) not in norm(t)]
            if missing:
                place = f"page {row['page']} of " if "page" in row else ""
                errors.append(f"{where}: {answer!r} not found in {place}{source}")

    probes = [(n, p) for n, row in enumerate(rows, 1) for p in row.get("absent", [])]
    if probes:
        corpus_text = [
            (f.relative_to(corpus), norm(t))
            for f in sorted(corpus.rglob("*"))
            if f.is_file()
            for t in file_texts(f)
        ]
        for n, probe in probes:
            hits = sorted({str(name) for name, text in corpus_text if norm(probe) in text})
            if hits:
                errors.append(f"line {n}: unanswerable, yet {probe!r} occurs in {hits[:3]}")

    manuals = sorted({m for m, _ in per_manual if m != "(none)"})
    answerable = sum(v for (m, _), v in per_manual.items() if m != "(none)")
    print(f"{len(rows)} questions: {answerable} answerable")
    for m in manuals:
        share = per_manual[(m, "answerable")] / max(answerable, 1)
        print(f"  {m:9s} {per_manual[(m, 'answerable')]:3d}  ({share:.0%})")
    for kind in ("off-topic", "near-miss"):
        print(f"  {kind:9s} {per_manual[('(none)', kind)]:3d}  unanswerable")
    for w in warnings:
        print("warning:", w)
    for e in errors:
        print("ERROR:", e)
    print("OK" if not errors else f"{len(errors)} errors")
    return 1 if errors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--qa", type=Path, default=HERE / "qa.jsonl")
    args = parser.parse_args()
    return check(args.qa, args.corpus)


if __name__ == "__main__":
    sys.exit(main())
