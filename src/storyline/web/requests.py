"""What every route shares: the app's settings and request limits, the token rule for writes,
and the error shape (JSON under ``/api``, an HTML page elsewhere). Kept apart from the
application factory so that the routes and the factory do not import each other."""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from storyline.read.fetch import Fetcher
from storyline.store import Store, open_store

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Request limits. ``json_body``: an API body; ``form_body``: a whole form post (several
    uploads); ``file``: one uploaded file; ``documents``/``urls``: items of one request."""

    json_body: int = 5 * MEGABYTE
    form_body: int = 20 * MEGABYTE
    file: int = 5 * MEGABYTE
    documents: int = 50
    urls: int = 20


@dataclass(frozen=True)
class Settings:
    db_url: str | None
    token: str | None
    allow_private: bool
    limits: Limits
    words: int
    _stores: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The store of the calling thread. A SQLite connection belongs to one thread, opening
        one costs more than a cached page takes to serve, and the ingest's near-duplicate index
        lives as long as its store, so each worker thread keeps its own; with WAL every
        statement sees the latest commit."""
        store = getattr(self._stores, "store", None)
        if store is None:
            store = self._stores.store = open_store(self.db_url)
        yield store

    def fetcher(self) -> Fetcher:
        return Fetcher(allow_private=self.allow_private)


# --------------------------------------------------------------------------- the token


def token_problem(request: Request, supplied: str | None = None) -> str | None:
    """Why a write request may not go on (None: it may). ``supplied``: a form's token field."""
    expected = request.app.state.settings.token
    if expected is None:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    given = value.strip() if scheme.lower() == "bearer" else (supplied or "")
    if not given:
        return "this server needs a token for writes: send 'Authorization: Bearer <token>'"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return "wrong token"
    return None


# --------------------------------------------------------------------------- errors


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api") or request.url.path == "/openapi.json"


def error_response(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )
