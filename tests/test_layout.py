"""The layout stays true: imports flow one way, with no cycles, and the web framework stays in
app/server (see docs/architecture.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "config", "ingest", "models", "index")
# What each room may import besides itself (app may import everything).
ALLOWED = {
    "models": set(),
    "index": set(),
    "config": {"models", "index"},
    "ingest": {"config", "models", "index"},
}
# Inside app: a subpackage may import those listed (and itself).
APP_ALLOWED = {
    "app.answering": set(),
    "app.evals": {"app.answering"},
    "app.mcp": {"app.answering"},
    "app.server": {"app.answering", "app.mcp"},
    "app.cli": {"app.answering", "app.evals", "app.server", "app.mcp"},
}
WEB = ("fastapi", "starlette", "uvicorn", "sse_starlette")
# Heavy libraries load only inside the adapter that wraps them.
HEAVY = {
    "torch": {"models.device", "models.export"},
    "sentence_transformers": {"models.embedder", "models.export"},
    "transformers": {"models.embedder", "models.export"},
    "onnxruntime": {"models.embedder", "models.export"},
    "llama_cpp": {"models.device", "models.generator"},
    "faiss": {"index.faiss_store.vectors", "index.faiss_store.compressed"},
    "pymilvus": {"index.milvus_store.store", "index.milvus_store.schema"},
    "pytesseract": {"ingest.loaders.ocr"},
}


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


def imports(path: Path) -> set[str]:
    """Every module named by an import statement, at any depth (lazy imports count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


GRAPH = {name: imports(path) for name, path in modules()}


def project_edges(name: str) -> set[str]:
    return {target for target in GRAPH[name] if target in GRAPH and target != name}


def room(module: str) -> str:
    return module.split(".")[0]


def app_room(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_rooms_import_only_downward():
    upward = [
        f"{name} -> {target}"
        for name in GRAPH
        if room(name) in ALLOWED
        for target in project_edges(name)
        if room(target) != room(name) and room(target) not in ALLOWED[room(name)]
    ]
    assert upward == []


def test_app_subpackages_import_only_downward():
    upward = [
        f"{name} -> {target}"
        for name in GRAPH
        if app_room(name) in APP_ALLOWED
        for target in project_edges(name)
        if app_room(target) in APP_ALLOWED
        and app_room(target) != app_room(name)
        and app_room(target) not in APP_ALLOWED[app_room(name)]
    ]
    assert upward == []


def test_stores_depend_on_shared_types_never_on_each_other():
    crossing = [
        f"{name} -> {target}"
        for name in GRAPH
        if name.startswith(("index.faiss_store", "index.milvus_store"))
        for target in project_edges(name)
        if target.startswith(("index.faiss_store", "index.milvus_store"))
        and target.split(".")[1] != name.split(".")[1]
    ]
    shared = [
        f"{name} -> {target}"
        for name in ("index.types", "index.protocol", "index.fusion", "index.errors")
        for target in project_edges(name)
        if target.startswith(("index.faiss_store", "index.milvus_store"))
    ]
    assert crossing == [] and shared == []


def test_no_import_cycles():
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(project_edges(name)):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_only_the_server_imports_the_web_framework():
    outside = [
        f"{name} imports {target}"
        for name in GRAPH
        if not name.startswith("app.server")
        for target in GRAPH[name]
        if target.split(".")[0] in WEB
    ]
    assert outside == []


def test_heavy_libraries_only_in_their_adapters():
    misplaced = [
        f"{name} imports {library}"
        for name in GRAPH
        for library, allowed in HEAVY.items()
        if any(t.split(".")[0] == library for t in GRAPH[name]) and name not in allowed
    ]
    assert misplaced == []


@pytest.mark.parametrize("command", ["app.cli.main", "app.cli.ingest", "app.evals.cli"])
def test_commands_other_than_serve_load_no_web_framework_nor_models(command):
    code = (
        f"import sys, {command}; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'torch', 'llama_cpp', 'faiss', 'pymilvus')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
