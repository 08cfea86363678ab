"""Parsing throughput: ragd's PDF and HTML loaders against pypdf, BeautifulSoup and LangChain's.

PDF in pages/s: ragd (PDFium, layout-aware) against pypdf's extract_text and LangChain's
PyPDFLoader (pypdf underneath). HTML in MB/s: ragd (lxml, main content) against BeautifulSoup's
get_text (html.parser) and LangChain's BSHTMLLoader. Files: the real-document corpus when
bench/realdocs/setup.sh has built it (gnuplot.pdf, the SQLite and git HTML pages), else
generated ones (fpdf2 PDF with running heads, HTML pages with navigation). Each library parses
the same files in turn, `repeats` times; the ratios are per repeat.

    python -m bench.suite parsing [--quick]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.core import ROOT, Context, figure, ratio


def _corpus() -> Path:
    """The real-document corpus where ingestion's benchmark finds it, else a missing folder."""
    from bench.ingestion import realdocs_dir

    return realdocs_dir() or ROOT / "data" / "realdocs" / "corpus"


def run(ctx: Context) -> dict[str, Any]:
    pdf = _pdf_file(ctx)
    pages = _pages(pdf)
    html_files = _html_files(ctx)
    megabytes = sum(f.stat().st_size for f in html_files) / 1e6
    repeats = ctx.pick(2, ctx.repeats)
    pdf_rates = {name: [] for name in PDF_PARSERS}
    html_rates = {name: [] for name in HTML_PARSERS}
    for _ in range(repeats):
        for name, parse in PDF_PARSERS.items():
            pdf_rates[name].append(pages / _seconds(parse, [pdf]))
        for name, parse in HTML_PARSERS.items():
            html_rates[name].append(megabytes / _seconds(parse, html_files))
    return _result(pdf, pages, html_files, megabytes, pdf_rates, html_rates)


def _seconds(parse: Callable[[Path], object], files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        parse(path)
    return time.perf_counter() - started


def _ragd(path: Path) -> object:
    from ingest.loaders import load

    return load(path.name, path.read_bytes())


def _pypdf(path: Path) -> object:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


def _pypdf_loader(path: Path) -> object:
    from langchain_community.document_loaders import PyPDFLoader

    return PyPDFLoader(str(path)).load()


def _bs4(path: Path) -> object:
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_bytes(), "html.parser").get_text()


def _bshtml_loader(path: Path) -> object:
    from langchain_community.document_loaders import BSHTMLLoader

    return BSHTMLLoader(str(path), open_encoding="utf-8").load()


PDF_PARSERS = {"ragd": _ragd, "pypdf": _pypdf, "langchain PyPDFLoader": _pypdf_loader}
HTML_PARSERS = {"ragd": _ragd, "BeautifulSoup": _bs4, "langchain BSHTMLLoader": _bshtml_loader}


def _pages(pdf: Path) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def _pdf_file(ctx: Context) -> Path:
    real = _corpus() / "gnuplot" / "gnuplot.pdf"
    if real.exists():
        return _first_pages(real, ctx.work / "gnuplot-part.pdf", ctx.pick(40, 400))
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=20)
    for n in range(ctx.pick(30, 120)):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 16)
        pdf.cell(0, 10, f"Chapter {n + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, "Generated text for the parsing benchmark. " * 60)
    path = ctx.work / "generated.pdf"
    pdf.output(str(path))
    return path


def _first_pages(source: Path, target: Path, pages: int) -> Path:
    """The first `pages` pages of `source` as a PDF of their own (the quick run's sample)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(source)
    if len(document) <= pages:
        document.close()
        return source
    part = pdfium.PdfDocument.new()
    part.import_pages(document, list(range(pages)))
    part.save(str(target))
    part.close()
    document.close()
    return target


def _html_files(ctx: Context) -> list[Path]:
    corpus = _corpus()
    real = sorted((corpus / "sqlite").glob("*.html")) + sorted((corpus / "git").glob("*.html"))
    if real:
        return real[: ctx.pick(20, len(real))]
    page = (
        "<html><head><title>Page</title></head><body><nav><a href='/'>Home</a></nav>"
        "<main><h1>Guide</h1>"
        + "<p>Generated paragraph for the parsing benchmark.</p>" * 400
        + "<pre>def f():\n    return 1</pre></main><footer>Footer</footer></body></html>"
    )
    paths = [ctx.work / f"page-{n}.html" for n in range(ctx.pick(20, 80))]
    for path in paths:
        path.write_text(page)
    return paths


def _result(
    pdf: Path,
    pages: int,
    html_files: list[Path],
    megabytes: float,
    pdf_rates: dict[str, list[float]],
    html_rates: dict[str, list[float]],
) -> dict[str, Any]:
    figures = {
        **{f"pdf_{k}": figure(v, "pages/s", f"PDF {k}", 1) for k, v in pdf_rates.items()},
        **{f"html_{k}": figure(v, "MB/s", f"HTML {k}", 2) for k, v in html_rates.items()},
    }
    ratios = [
        _ratio(f"PDF pages/s: ragd / {other}", pdf_rates, other)
        for other in PDF_PARSERS
        if other != "ragd"
    ] + [
        _ratio(f"HTML MB/s: ragd / {other}", html_rates, other)
        for other in HTML_PARSERS
        if other != "ragd"
    ]
    notes = [
        f"PDF: {pdf.name}, {pages} pages. HTML: {len(html_files)} pages, {megabytes:.1f} MB.",
        "ragd does more than extract text (layout, headings, running heads, main content): "
        "the ratios are for the whole loader.",
    ]
    return {"figures": figures, "ratios": ratios, "plots": [], "notes": notes}


LIMITS = {
    "PDF": "ragd's layout pass in Python (lines, headings, running heads) over PDFium's text; "
    "pypdf parses and extracts in pure Python",
    "HTML": "ragd's main-content selection and block building in Python over lxml's C parse; "
    "BeautifulSoup's html.parser tree is built in pure Python",
}


def _ratio(name: str, rates: dict[str, list[float]], other: str) -> dict[str, Any]:
    pairs = zip(rates["ragd"], rates[other], strict=True)
    return ratio(name, [a / b for a, b in pairs], 1.0, limit=LIMITS[name.split()[0]])
