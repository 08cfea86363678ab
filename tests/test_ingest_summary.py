"""`ingest`'s progress line and summary show what OCR cost and what a loader cut."""

from __future__ import annotations

from app.cli.ingest import _describe, print_summary
from ingest.pipeline import Outcome, Summary


def test_progress_names_the_file_with_its_ocr_pages_within_the_column():
    scan = Outcome("archive/1987/minutes-of-the-harbour-board-meetings.pdf", "added", 40,
                   ocr_pages=37)  # fmt: skip
    assert _describe(scan) == "the-harbour-board-meetings.pdf (OCR 37 p.)"[-40:]
    assert len(_describe(scan)) == 40
    assert _describe(Outcome("notes.md", "added", 1)) == "notes.md"


def test_summary_counts_ocr_pages_and_lists_cuts_beside_failures(capsys):
    summary = Summary(
        [
            Outcome("scan.pdf", "added", 9, reason="OCR read 50 of 80 pages", ocr_pages=50),
            Outcome("photo.png", "added", 1, ocr_pages=1),
            Outcome("notes.md", "added", 2),
            Outcome("logo.gif", "skipped", reason="unsupported file type '.gif'"),
        ]
    )
    print_summary(summary, "default")
    out = " ".join(capsys.readouterr().out.split())  # rich wraps at the terminal width
    assert "12 chunks embedded; 51 pages read by OCR" in out
    assert "OCR read 50 of 80 pages" in out and "unsupported file type" in out
    assert "notes.md" not in out and "photo.png" not in out
    assert summary.as_dict()["ocr_pages"] == 51
