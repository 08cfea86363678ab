"""The Markdown report and matplotlib plots written from the suite's results."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_report(results: dict[str, Any], out: Path) -> Path:
    """REPORT.md in `out`, with one PNG per plot the modules asked for."""
    lines = _header(results) + _runs_table(results) + _ratio_table(results)
    for name, result in results["benchmarks"].items():
        lines += _section(name, result, out)
    path = out / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    box = f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, no GPU"
    if results.get("merged"):
        return f"{box}; the load each benchmark ran at is in the runs table"
    load = _loads(m["load_average"])
    end = _loads(results.get("load_average_at_end", []))
    return f"{box}; load average {load} at the start, {end} at the end"


def _loads(values: list[float]) -> str:
    return ", ".join(f"{x:g}" for x in values)


def _header(results: dict[str, Any]) -> list[str]:
    if results.get("merged"):
        run = (
            f"- Mode: {results['mode']}; assembled from the runs below (`python -m bench --only "
            f"NAMES --merge` replaces the entries it runs); newest commit {newest_commit(results)}."
        )
    else:
        run = (
            f"- Mode: {results['mode']}; started {results['started_at']}; "
            f"took {results.get('seconds', 0):g} s; commit {results['machine'].get('commit', '')}."
        )
    return [
        "# ragd benchmarks",
        "",
        f"- Machine: {machine_line(results)}.",
        run,
        "- Every figure is the median of repeated runs, with min and max; every ratio is "
        "measured side by side in each repeat, in the same run on the same machine.",
        "",
    ]


def newest_commit(results: dict[str, Any]) -> str:
    """The commit of the benchmark that started last: entries on another commit are older."""
    entries = [e for e in results["benchmarks"].values() if e.get("started_at")]
    if not entries:
        return str(results["machine"].get("commit", ""))
    return str(max(entries, key=lambda e: e["started_at"]).get("commit", ""))


def run_status(entry: dict[str, Any], newest: str) -> str:
    """ "ok", the failure, and whether the entry was measured on an older commit."""
    status = f"**failed: {entry['error']}**" if entry.get("error") else "ok"
    if entry.get("failed_rerun"):
        run = entry["failed_rerun"]
        status += f"; a re-run at {run['started_at']} ({run['commit']}) failed: {run['error']}"
    if entry.get("commit") and entry["commit"] != newest:
        status += f"; **older commit** than {newest}"
    return status


def _runs_table(results: dict[str, Any]) -> list[str]:
    newest = newest_commit(results)
    lines = [
        "## Runs",
        "",
        "| benchmark | started (UTC) | commit | seconds | load average: start | end | status |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, e in results["benchmarks"].items():
        lines.append(
            f"| {name} | {e.get('started_at', '')} | {e.get('commit', '')} | "
            f"{e.get('seconds', 0):g} | {_loads(e.get('load_average', []))} | "
            f"{_loads(e.get('load_average_at_end', []))} | {run_status(e, newest)} |"
        )
    return [*lines, ""]


def _ratio_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "## Ratios against targets",
        "",
        "| ratio | median | min | max | target | met | what limits it | run |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    newest = newest_commit(results)
    for name, result in results["benchmarks"].items():
        older = result.get("commit") and result["commit"] != newest
        run = f"{name} ({result.get('commit', '')}, older)" if older else name
        for r in result.get("ratios", []):
            met = "yes" if r["met"] else "**no**"
            lines.append(
                f"| {r['name']} | {r['median']:g} | {r['min']:g} | {r['max']:g} | "
                f"{r['target']} | {met} | {r.get('limit', '')} | {run} |"
            )
    return [*lines, ""]


def _section(name: str, result: dict[str, Any], out: Path) -> list[str]:
    lines = [f"## {result.get('title', name)}", ""]
    if result.get("error"):
        lines += [f"**Failed: {result['error']}** (figures below may be partial).", ""]
    lines += _figure_table(result.get("figures", {}))
    for table in result.get("tables", []):
        lines += _table(table)
    lines += [f"- {note}" for note in result.get("notes", [])]
    lines.append("")
    for plot in result.get("plots", []):
        file = draw(plot, out)
        lines += [f"![{plot['title']}]({file.name})", ""]
    lines.append(f"_{name}: {result.get('seconds', 0):g} s_")
    return [*lines, ""]


def _figure_table(figures: dict[str, Any]) -> list[str]:
    if not figures:
        return []
    lines = [
        "| figure | median | min | max | unit | runs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for fig in figures.values():
        lines.append(
            f"| {fig['label']} | {fig['median']:g} | {fig['min']:g} | {fig['max']:g} | "
            f"{fig['unit']} | {fig['runs']} |"
        )
    return [*lines, ""]


def _table(table: dict[str, Any]) -> list[str]:
    """A free-form table: {"title", "header": [...], "rows": [[...], ...]}."""
    header = table["header"]
    lines = [f"**{table['title']}**", "", "| " + " | ".join(header) + " |"]
    lines.append("| " + " | ".join("---" for _ in header) + " |")
    lines += [
        "| "
        + " | ".join(f"{cell:g}" if isinstance(cell, float) else str(cell) for cell in row)
        + " |"
        for row in table["rows"]
    ]
    return [*lines, ""]


def draw(plot: dict[str, Any], out: Path) -> Path:
    """A bar chart or a log-x line chart, with min-max error bars, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    if plot["kind"] == "bars":
        _bars(ax, plot)
    else:
        _lines(ax, plot)
    ax.set_title(plot["title"], fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = out / plot["file"]
    fig.savefig(path)
    plt.close(fig)
    return path


def _bars(ax: Any, plot: dict[str, Any]) -> None:
    labels = list(plot["bars"])
    stats = [plot["bars"][k] for k in labels]
    medians = [s["median"] for s in stats]
    errors = [[s["median"] - s["min"] for s in stats], [s["max"] - s["median"] for s in stats]]
    bars = ax.bar(labels, medians, yerr=errors, capsize=4, color="#4c78a8")
    ax.bar_label(bars, labels=[f"{m:g}" for m in medians], fontsize=8, padding=2)
    ax.set_ylabel(plot["unit"])
    ax.tick_params(axis="x", labelsize=8)


def _lines(ax: Any, plot: dict[str, Any]) -> None:
    for name, points in plot["series"].items():
        xs = [p[0] for p in points]
        medians = [p[1]["median"] for p in points]
        low = [p[1]["median"] - p[1]["min"] for p in points]
        high = [p[1]["max"] - p[1]["median"] for p in points]
        ax.errorbar(xs, medians, yerr=[low, high], marker="o", capsize=3, label=name)
    if plot.get("logx"):
        ax.set_xscale("log")
    if plot.get("target") is not None:
        ax.axhline(plot["target"], color="#d62728", linestyle="--", linewidth=1, label="target")
    ax.set_xlabel(plot["xlabel"])
    ax.set_ylabel(plot["ylabel"])
    ax.legend(fontsize=8)


def print_summary(results: dict[str, Any]) -> None:
    print(f"\nmachine: {machine_line(results)}")
    print(f"{'ratio':<72} {'median':>8} {'min':>8} {'max':>8}  target")
    for result in results["benchmarks"].values():
        for r in result.get("ratios", []):
            verdict = "" if r["met"] else "  MISSED"
            print(
                f"{r['name']:<72} {r['median']:>8g} {r['min']:>8g} {r['max']:>8g}  "
                f"{r['target']}{verdict}"
            )
