"""The ingest pipeline: incremental by content hash, prune, skip reasons."""

from pathlib import Path

from ingest.pipeline import Ingestor, discover, upload_source_name
from tests.support import write_files


def run(ingestor: Ingestor, root: Path, **kw):
    return ingestor.ingest(discover([root]), **kw)


def test_reingest_of_an_unchanged_folder_adds_nothing(store_ingestor, tmp_path, embedder):
    ingestor = store_ingestor
    root = write_files(tmp_path / "docs", {"a.md": "# A\n\nAlpha text.", "sub/b.txt": "Beta text."})
    first = run(ingestor, root)
    assert (first.count("added"), first.chunks) == (2, 2)
    calls = embedder.calls
    second = run(ingestor, root)
    assert (second.count("unchanged"), second.chunks) == (2, 0)
    assert embedder.calls == calls
    sources = [d.source for d in ingestor.collection.snapshot().documents()]
    assert sources == ["a.md", "sub/b.txt"]


def test_modified_file_replaces_its_chunks_and_prune_removes(store_ingestor, tmp_path):
    ingestor = store_ingestor
    root = write_files(tmp_path / "docs", {"a.md": "Alpha.", "b.md": "Beta."})
    run(ingestor, root)
    (root / "a.md").write_text("Alpha changed. Much more text here.")
    (root / "b.md").unlink()
    summary = run(ingestor, root, prune=True)
    assert (summary.count("updated"), summary.count("removed")) == (1, 1)
    assert [d.source for d in ingestor.collection.snapshot().documents()] == ["a.md"]
    assert ingestor.collection.state().rows == 1
    assert ingestor.collection.check() == []


def test_rebuild_embeds_every_file_again_and_keeps_them(store_ingestor, tmp_path, embedder):
    root = write_files(tmp_path / "docs", {"a.md": "Alpha text.", "b.md": "Beta text."})
    run(store_ingestor, root)
    calls = embedder.calls
    summary = run(store_ingestor, root, rebuild=True)
    assert (summary.count("added"), summary.count("unchanged")) == (2, 0)
    assert embedder.calls > calls
    collection = store_ingestor.collection
    assert [d.source for d in collection.snapshot().documents()] == ["a.md", "b.md"]
    assert collection.state().rows == 2 and collection.check() == []


def test_bad_files_are_skipped_with_reasons_and_others_ingested(ingestor, tmp_path):
    root = write_files(
        tmp_path / "docs",
        {
            "good.md": "Good text.",
            "empty.txt": "",
            "image.gif": b"GIF89a....",
            "broken.pdf": b"%PDF-1.4 not really a pdf",
            "binary.txt": b"\x00\x01\x02\x03" * 100,
        },
    )
    summary = run(ingestor, root)
    by_source = {o.source: o for o in summary.outcomes}
    assert by_source["good.md"].status == "added"
    assert by_source["empty.txt"].status == "skipped" and "empty" in by_source["empty.txt"].reason
    assert by_source["image.gif"].status == "skipped" and ".gif" in by_source["image.gif"].reason
    assert by_source["broken.pdf"].status == "failed" and "PDF" in by_source["broken.pdf"].reason
    assert by_source["binary.txt"].status == "failed" and "binary" in by_source["binary.txt"].reason
    assert not summary.ok


def test_symlink_out_of_the_folder_is_not_read(ingestor, tmp_path):
    secret = write_files(tmp_path / "outside", {"secret.txt": "top secret"}) / "secret.txt"
    root = write_files(tmp_path / "docs", {"a.md": "Alpha."})
    (root / "link.txt").symlink_to(secret)
    summary = run(ingestor, root)
    assert {o.source: o.status for o in summary.outcomes} == {
        "a.md": "added",
        "link.txt": "skipped",
    }


def test_upload_names_are_never_paths():
    assert upload_source_name("../../etc/passwd") == "passwd"
    assert upload_source_name("..\\..\\boot.ini") == "boot.ini"
    assert upload_source_name("a\x00b.txt") == "ab.txt"
    assert upload_source_name("...") == "upload"
