"""The `ragd` command: serve, ask, eval, key, index (check, backup, restore, migrate)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.text import Text

from app.answering.answer import Answerer
from app.answering.limits import check_question
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.cli.errors import run_cli
from app.cli.index_cmd import add_index_parser, index_command
from app.cli.models import add_models_parser, models_command
from app.cli.team import add_team_parsers, audit_command, keys_command
from app.evals.cli import add_eval_parser, evaluate
from app.server.auth import ROLES, KeyRing, key_file_line, new_key
from app.server.hosts import LOCAL_HOSTS, machine_hosts
from config.errors import SettingsError
from config.settings import Settings

out = Console()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ragd", description="Local question answering over your documents."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="serve a non-loopback address with no API key (anyone who can reach it can use it)",
    )
    serve.add_argument(
        "--watch",
        nargs="+",
        type=Path,
        default=[],
        metavar="PATH",
        help="keep a collection in step with these files and folders",
    )
    serve.add_argument("--watch-collection", default=None, help="the collection they fill")
    commands.add_parser("mcp", help="the MCP server over stdio, for desktop assistants")
    add_models_parser(commands)
    add_team_parsers(commands)
    ask = commands.add_parser("ask", help="answer one question in the terminal")
    ask.add_argument("question")
    ask.add_argument("--collection", default=None)
    ask.add_argument("--json", action="store_true", help="print the full JSON answer")
    add_eval_parser(commands)
    add_index_parser(commands)
    key = commands.add_parser("key", help="API keys")
    key_commands = key.add_subparsers(dest="key_command", required=True)
    new = key_commands.add_parser("new", help="print a new random key and its keys-file line")
    new.add_argument("--role", choices=ROLES, default="admin")
    new.add_argument("--name", default="", help="a label for the key, e.g. who holds it")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    commands = {
        "serve": serve,
        "ask": ask,
        "index": index_command,
        "key": key_new,
        "eval": evaluate,
        "mcp": mcp_stdio,
        "models": models_command,
        "keys": keys_command,
        "audit": audit_command,
    }
    return run_cli(lambda: commands[args.command](args, Settings()))


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from app.server.main import run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = guard_bind(args.host, args.insecure, settings)
    if args.watch:
        watch = ",".join(str(p) for p in args.watch)
        update = {"watch": watch, "watch_collection": args.watch_collection}
        settings = settings.model_copy(update=update)
    # Fails here, before binding, if a model is missing; closed when the server stops.
    with Services.load(settings) as services:
        services.check_all_collections()
        print(f"ragd serving on http://{args.host}:{args.port}", flush=True)
        run(services, args.host, args.port)
    return 0


def mcp_stdio(args: argparse.Namespace, settings: Settings) -> int:
    from app.mcp.stdio import serve_stdio

    serve_stdio(settings)
    return 0


def guard_bind(host: str, insecure: bool, settings: Settings) -> Settings:
    """Refuse to serve the network with no key. Without keys the server answers only to its
    own names: localhost names on loopback; with --insecure also this machine's names and
    addresses. With keys, a loopback server still answers only to localhost names (a page on
    a rebinding domain reaches 127.0.0.1 too). RAGD_ALLOWED_HOSTS adds names (a reverse
    proxy's) in every mode; `*` (with keys only) answers any."""
    extra = [h.strip().lower() for h in settings.allowed_hosts.split(",") if h.strip()]
    if KeyRing.from_settings(settings).enabled:
        return _keyed_hosts(host, extra, settings)
    if "*" in extra:
        raise SettingsError(
            "RAGD_ALLOWED_HOSTS=* answers any Host, which lets a web page on any domain reach "
            "a server with no API key (DNS rebinding): set RAGD_API_KEYS, or list the names"
        )
    if not is_loopback(host) and not insecure:
        raise SettingsError(
            f"refusing to serve {host} with no API key: anyone on the network could read and "
            "change your documents. Set RAGD_API_KEYS or RAGD_API_KEYS_FILE (`ragd key new` "
            "makes a key), serve 127.0.0.1, or pass --insecure to accept the risk"
        )
    hosts = list(LOCAL_HOSTS) if is_loopback(host) else machine_hosts(host)
    if insecure and not is_loopback(host):
        out.print(INSECURE_WARNING, style="bold red", highlight=False)
    allowed = ",".join(dict.fromkeys([*hosts, *extra]))
    return settings.model_copy(update={"allowed_hosts": allowed})


def _keyed_hosts(host: str, extra: list[str], settings: Settings) -> Settings:
    """Keys guard the data; on loopback the Host check still refuses rebinding pages."""
    if not is_loopback(host) or "*" in extra:
        return settings
    allowed = ",".join(dict.fromkeys([*LOCAL_HOSTS, *extra]))
    return settings.model_copy(update={"allowed_hosts": allowed})


INSECURE_WARNING = (
    "WARNING: --insecure: serving on the network with NO API KEY. Anyone who can reach this "
    "address can read every document, upload and delete. Set RAGD_API_KEYS to fix this."
)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def key_new(args: argparse.Namespace, settings: Settings) -> int:
    key = new_key()
    print(f"key:  {key}")
    print("Give the key to its user once; it is not stored. Add this line to RAGD_API_KEYS_FILE:")
    print(key_file_line(key, args.role, args.name))
    return 0


def ask(args: argparse.Namespace, settings: Settings) -> int:
    question = check_question(args.question)  # /api/ask's limits, before any model loads
    with Services.load(settings) as services:
        answerer = Answerer(services, GenerationQueue(services.generator))
        response = asyncio.run(answerer.answer(question, args.collection))
    if args.json:
        print(response.model_dump_json(indent=2))
        return 0
    # Answers, names and quotes come from documents and the model: printed literally.
    out.print(response.answer, markup=False, highlight=False)
    out.print()
    for source in response.sources:
        page = f", page {source.page}" if source.page else ""
        mark = "" if source.cited else " (not cited)"
        line = Text.assemble((f"[{source.n}]", "bold"), f" {source.source}{page}{mark}")
        out.print(line, highlight=False)
        if source.quote:
            out.print(f"    {source.quote}", style="dim", markup=False, highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
