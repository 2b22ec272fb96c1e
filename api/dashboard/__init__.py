"""``/dashboard/``: the clinic dashboard's static pages (HTML, CSS, JS; no data).

Why static files behind a router: the dashboard runs on closed networks, so every asset
is served by this app (nothing from a CDN, no build step); the pages fetch their data from
the ``/clinic`` JSON endpoints with the clinic's own bearer token. The files carry no
personal data, so they are served without credentials; a strict Content-Security-Policy
allows scripts, styles and connections to this origin only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from core.errors import NotFound

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# The files that exist at start-up, by name: a request can never name a path outside them.
FILES: dict[str, Path] = {
    p.name: p for p in sorted(STATIC.iterdir()) if p.is_file() and p.suffix in _TYPES
}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _file(name: str) -> FileResponse:
    path = FILES.get(name)
    if path is None:
        raise NotFound("no such dashboard file")
    return FileResponse(path, media_type=_TYPES[path.suffix], headers=HEADERS)


@router.get("")
async def dashboard_root() -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=308)


@router.get("/")
async def dashboard_index() -> FileResponse:
    return _file("index.html")


@router.get("/{name}")
async def dashboard_file(name: str) -> FileResponse:
    return _file(name)
