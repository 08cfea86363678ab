"""Every new format through the real `ingest` CLI and found by /api/search of a real `ragd
serve`; files that need OCR skipped with the reason when OCR is off or tesseract is missing."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.office_files import (
    DECK,
    MANUAL,
    WORKBOOK,
    image_only_pdf,
    make,
    page_images,
    require_tools,
)
from tests.support import INGEST, env_for, run, running_ragd
from tests.test_loaders_office import mail

pytestmark = [pytest.mark.e2e, pytest.mark.tools]


def one_fact(title: str, sentence: str) -> str:
    """MANUAL's shape with one heading and one sentence of its own."""
    start, end = MANUAL.index("<office:body>"), MANUAL.index("</office:body>")
    body = (
        f'<office:body><office:text><text:h text:outline-level="1">{title}</text:h>'
        f"<text:p>{sentence}</text:p></office:text>"
    )
    return MANUAL[:start] + body + MANUAL[end:]


def roster(rows: list[tuple[str, str]]) -> str:
    """WORKBOOK with other rows, as LibreOffice will write them to CSV."""
    table = "".join(
        f'<table:table-row><table:table-cell office:value-type="string"><text:p>{a}</text:p>'
        f'</table:table-cell><table:table-cell office:value-type="string"><text:p>{b}</text:p>'
        "</table:table-cell></table:table-row>"
        for a, b in rows
    )
    start, end = WORKBOOK.index("<office:spreadsheet>"), WORKBOOK.index("</office:spreadsheet>")
    sheet = f'<office:spreadsheet><table:table table:name="Boats">{table}</table:table>'
    return WORKBOOK[:start] + sheet + WORKBOOK[end:]


# file -> (a query, a phrase its top result must hold)
QUERIES = {
    "manual.odt": ("how often is the zircon seal replaced", "900 hours"),
    "fog.pptx": ("remind the board about the weather during the census", "thick fog"),  # notes
    "census.xlsx": ("who is the warden", "Ines Okafor"),
    "boats.csv": ("which boat is moored at the south jetty", "Kingfisher"),
    "ferry.rtf": ("when does the ferry leave for the island", "quarter past seven"),
    "otters.epub": ("where were the otters seen", "sluice gate"),
    "moved.eml": ("bring the thermal camera", "thermal camera"),
    "gulls.png": ("how many gull nests on the roof", "forty-one"),
    "eels.pdf": ("where do the eels migrate", "Sargasso"),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools()
    work, docs = tmp_path_factory.mktemp("sources"), tmp_path_factory.mktemp("docs")
    made = {
        "manual.odt": make(work, "manual.fodt", MANUAL, ["odt"])["odt"],
        "fog.pptx": make(work, "fog.fodp", DECK, ["pptx"])["pptx"],
        "census.xlsx": make(work, "census.fods", WORKBOOK, ["xlsx"])["xlsx"],
        "boats.csv": make(
            work, "boats.fods", roster([("Boat", "Mooring"), ("Kingfisher", "south jetty")]),
            ["csv"],
        )["csv"],
        "ferry.rtf": make(work, "ferry.fodt", one_fact(
            "Ferry", "The island ferry leaves at a quarter past seven."), ["rtf"])["rtf"],
        "otters.epub": make(work, "otters.fodt", one_fact(
            "Otters", "Otters were seen by the old sluice gate at dawn."), ["epub"])["epub"],
        "gulls.png": page_images(make(work, "gulls.fodt", one_fact(
            "Gulls", "We counted forty-one gull nests on the boathouse roof."), ["pdf"])["pdf"],
            work)[0],
        "eels.pdf": image_only_pdf(page_images(make(work, "eels.fodt", one_fact(
            "Eels", "The eels migrate to the Sargasso Sea to spawn."), ["pdf"])["pdf"], work),
            work / "eels-scan.pdf"),
    }  # fmt: skip
    for name, path in made.items():
        shutil.copy(path, docs / name)
    (docs / "moved.eml").write_bytes(mail())
    return docs


@pytest.fixture(scope="module")
def data_dir(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("formats") / "data"
    result = run([*INGEST, str(folder), "--json"], env_for(data), timeout=600)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["skipped"], summary["failed"]) == (9, 0, 0), summary
    pages = {f["source"]: f["ocr_pages"] for f in summary["files"]}
    assert (pages["gulls.png"], pages["eels.pdf"], summary["ocr_pages"]) == (1, 1, 2)
    return data


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[str]:
    with running_ragd(env_for(data_dir)) as url:
        yield url


@pytest.mark.parametrize("source", sorted(QUERIES))
def test_each_format_is_ingested_and_found_by_search(server: str, source: str):
    query, phrase = QUERIES[source]
    results = httpx.post(f"{server}/api/search", json={"query": query, "k": 3}).json()["results"]
    top = results[0]
    assert (top["source"], phrase in top["text"]) == (source, True), results


def scans_only(folder: Path, tmp_path: Path) -> Path:
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("gulls.png", "eels.pdf"):
        shutil.copy(folder / name, scans / name)
    return scans


def test_with_ocr_off_scans_are_skipped_with_the_setting_named(folder: Path, tmp_path: Path):
    result = run(
        [*INGEST, str(scans_only(folder, tmp_path))],
        env_for(tmp_path / "data", RAGD_OCR="off", COLUMNS="200"),
    )
    assert result.returncode == 0, result.stderr  # skipped is not failed
    assert "0 added" in result.stdout and "2 skipped" in result.stdout
    assert result.stdout.count("OCR is off (RAGD_OCR=off)") == 2, result.stdout


def test_without_tesseract_scans_are_skipped_saying_it_is_missing(folder: Path, tmp_path: Path):
    bare = tmp_path / "bin"  # a PATH with python and nothing else: no tesseract
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    env = env_for(tmp_path / "data", PATH=str(bare))
    result = run([*INGEST, str(scans_only(folder, tmp_path)), "--json"], env)
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert [f["status"] for f in files] == ["skipped", "skipped"]
    assert all("tesseract is not installed" in f["reason"] for f in files), files
