"""`ragd mcp`: the MCP server over stdio, for desktop assistants that launch it."""

from __future__ import annotations

import logging
import sys

from app.answering.answer import Answerer
from app.answering.queue import GenerationQueue
from app.answering.services import Services
from app.mcp.server import build_server
from config.settings import Settings


def serve_stdio(settings: Settings) -> None:
    """Load the models, then speak MCP on stdin/stdout until the client closes them."""
    # stdout carries the protocol: every log line goes to stderr.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    with Services.load(settings) as services:
        services.check_all_collections()
        answerer = Answerer(services, GenerationQueue(services.generator, settings.queue_depth))
        build_server(lambda: answerer).run("stdio")
