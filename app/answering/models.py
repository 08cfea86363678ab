"""Which generation model runs: the catalogue with what is on this machine, the demo-model
notice, and switching models live (between generations, requests queued meanwhile)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.answering.answer import Answerer
from config.factories import load_generator
from config.settings import Settings
from models.catalog import CATALOGUE, RECOMMENDED, downloaded, expand, record_current
from models.errors import ModelNotDownloaded
from models.resolve import is_demo, local_llm_model, packaged_llm_model

DEMO_NOTICE = (
    "The packaged demo model (SmolLM2-135M) is answering: it is fast but its answers are weak. "
    f"For better answers: `ragd models pull {RECOMMENDED}` then `ragd models use {RECOMMENDED}` "
    "(or pick another from `ragd models list`)."
)


def demo_notice(settings: Settings) -> str | None:
    """What /health and the page say while the packaged demo model is in use."""
    return DEMO_NOTICE if not settings.llm_url and is_demo(settings.llm_choice) else None


def catalogue(settings: Settings) -> list[dict[str, Any]]:
    """The catalogue, each entry marked as downloaded or not and as in use or not."""
    using = expand(settings.llm_choice)
    rows = []
    for entry in CATALOGUE:
        path = local_llm_model(entry.name, settings.models_dir)
        rows.append(
            {
                **entry.__dict__,
                "spec": entry.spec,
                "downloaded": path is not None,
                "in_use": using == entry.spec,
            }
        )
    return rows


def local_models(settings: Settings) -> list[dict[str, Any]]:
    """The packaged model and every GGUF in data/models, with sizes."""
    found: list[Path] = [p for p in [packaged_llm_model()] if p] + downloaded(settings.models_dir)
    return [{"path": str(p), "size_gb": round(p.stat().st_size / 1e9, 2)} for p in found]


async def switch_model(answerer: Answerer, spec: str) -> dict[str, Any]:
    """Load `spec` and make it answer from the next generation on; record it as the choice."""
    services = answerer.services
    settings = services.settings.model_copy(update={"llm_model": spec})
    if not settings.llm_url and not _servable(spec, settings.models_dir):
        raise ModelNotDownloaded(
            f"model {spec!r} is not in {settings.models_dir}: `ragd models pull {spec}` "
            "downloads it (a catalogue name or owner/repo:file.gguf)"
        )
    started = time.perf_counter()
    replaced = await answerer.queue.swap(lambda: load_generator(settings))
    replaced.close()  # no generation runs on it any more: free its memory now
    services.generator, services.settings = answerer.queue.generator, settings
    record_current(spec, settings.models_dir)
    return {
        "model": services.generator.name,
        "previous": replaced.name,
        "load_seconds": round(time.perf_counter() - started, 2),
    }


def _servable(spec: str, models_dir: Path) -> bool:
    """A model the API may switch to: the packaged one, or a file pulled into data/models (an
    admin key must not make the server open any file on disk)."""
    path = local_llm_model(spec, models_dir)
    if path is None:
        return False
    return path == packaged_llm_model() or path.resolve().is_relative_to(models_dir.resolve())
