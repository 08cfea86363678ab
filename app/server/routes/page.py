"""GET /: the web chat page, and GET /docs: the API docs, both with a strict
Content-Security-Policy and every asset served from this package (no CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(tags=["page"])
STATIC = Path(__file__).resolve().parent.parent / "static"
PAGE = STATIC / "index.html"
DOCS = STATIC / "docs.html"  # Swagger UI from static/vendor/swagger-ui
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/", include_in_schema=False)
def index() -> FileResponse:
    return FileResponse(PAGE, media_type="text/html", headers=SECURITY_HEADERS)


# Swagger UI draws its icons from data: URIs; nothing else differs from the page's policy.
DOCS_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
}


@router.get("/docs", include_in_schema=False)
def docs() -> FileResponse:
    return FileResponse(DOCS, media_type="text/html", headers=DOCS_HEADERS)
