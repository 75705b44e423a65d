"""What every route shares: the app's settings and request limits, the token rule for writes,
and the error shape (JSON under ``/api``, an HTML page elsewhere). Kept apart from the
application factory so that the routes and the factory do not import each other."""

from __future__ import annotations

import hmac
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from storyline.read.fetch import Fetcher
from storyline.resources import read_data
from storyline.store import Store, open_store
from storyline.web.analysis import Analyst, InProcess

MEGABYTE = 1024 * 1024
WEB: dict[str, Any] = read_data("web.json")  # the cost bounds, documented in the file
MAX_ID = 2**63 - 1  # the largest SQLite integer: a larger story or source number names nothing


@dataclass(frozen=True)
class Bounds:
    """The web app's cost bounds (``data/web.json``, which says what each one is for)."""

    briefing_words: tuple[int, ...] = tuple(WEB["briefing_words"])
    annotate_batch: int = WEB["annotate_batch"]
    queued_jobs: int = WEB["queued_jobs"]
    retry_after_seconds: int = WEB["retry_after_seconds"]
    fetch_workers: int = WEB["fetch_workers"]
    fetches_per_host: int = WEB["fetches_per_host"]
    reads_per_minute: int = WEB["reads_per_minute"]
    writes_per_minute: int = WEB["writes_per_minute"]
    rendered_pages: int = WEB["rendered_pages"]
    parsed_briefings: int = WEB["parsed_briefings"]
    catalogues: int = WEB["catalogues"]
    kept_jobs: int = WEB["kept_jobs"]


@dataclass(frozen=True)
class Limits:
    """Request limits. ``json_body``: an API body; ``form_body``: a whole form post (several
    uploads); ``file``: one uploaded file; ``documents``/``urls``: items of one request;
    ``analysis_documents``/``analysis_chars``: the distinct documents and characters of text one
    ``POST /api/briefings`` may analyse while its client waits."""

    json_body: int = 5 * MEGABYTE
    form_body: int = 20 * MEGABYTE
    file: int = 5 * MEGABYTE
    documents: int = 50
    urls: int = 20
    analysis_documents: int = WEB["analysis_documents"]
    analysis_chars: int = WEB["analysis_chars"]


@dataclass(frozen=True)
class Settings:
    db_url: str | None
    token: str | None
    allow_private: bool
    limits: Limits
    words: int
    read_token: str | None = None
    hosts: frozenset[str] = frozenset()
    bounds: Bounds = Bounds()
    analyst: Analyst = field(default_factory=InProcess, compare=False)
    _stores: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    _shared: dict[str, Store] = field(default_factory=dict, repr=False, compare=False)
    _opening: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @contextmanager
    def store(self) -> Iterator[Store]:
        """The store of the calling thread. A SQLite connection belongs to one thread, opening
        one costs more than a cached page takes to serve, and the ingest's near-duplicate index
        lives as long as its store, so each worker thread keeps its own; with WAL every
        statement sees the latest commit. A store that may be shared between threads
        (PostgreSQL's, with its pool of connections) is opened once, for every thread."""
        store = self._shared.get("store") or getattr(self._stores, "store", None)
        yield store if store is not None else self._open_store()

    def close_shared_store(self) -> None:
        """Close the store the threads share, if one was opened (the app's end: its pool of
        connections goes with it)."""
        with self._opening:
            store = self._shared.pop("store", None)
        if store is not None:
            store.close()

    def _open_store(self) -> Store:
        with self._opening:
            shared = self._shared.get("store")
            if shared is not None:
                return shared
            # The app made the database when it started (``create_app``); one that has gone
            # since is an error, never silently made anew and empty.
            store = open_store(self.db_url, create=False)
            if getattr(store, "shared_between_threads", False):
                self._shared["store"] = store
            else:
                self._stores.store = store
            return store

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


# --------------------------------------------------------------------------- ids

SOURCE_NUMBER = re.compile(r"S([0-9]+)")
MAX_ID_DIGITS = len(str(MAX_ID))


def story_key(key: str | int) -> str | int:
    """A story's id or name as the request gives it; 422 for a number no story can have (SQLite
    would overflow on it) and for digits other than 0-9, which the store cannot read as one."""
    if isinstance(key, str) and key.isdigit() and not key.isascii():
        raise HTTPException(422, f"story id {key[:40]!r} is not a number of ASCII digits")
    if _out_of_range(str(abs(key)) if isinstance(key, int) else key if key.isdigit() else ""):
        raise HTTPException(422, f"story id {str(key)[:40]} is out of range: ids are at most {MAX_ID}")
    return key


def source_key(source: str) -> str:
    """A source id (``S3``) as the request gives it; 422 for a number no source can have."""
    match = SOURCE_NUMBER.fullmatch(source)
    if match and _out_of_range(match.group(1)):
        raise HTTPException(422, f"source id {source[:40]} is out of range: numbers are at most {MAX_ID}")
    return source


def _out_of_range(digits: str) -> bool:
    """Whether ASCII ``digits`` name a number above ``MAX_ID`` (without making a huge int)."""
    digits = digits.lstrip("0")
    return len(digits) > MAX_ID_DIGITS or (len(digits) == MAX_ID_DIGITS and int(digits) > MAX_ID)


def holds_write_token(request: Request) -> bool:
    """Whether the request carries the write token (False when the server has none)."""
    return request.app.state.settings.token is not None and token_problem(request) is None
