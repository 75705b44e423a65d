"""The application factory: configuration, limits, the token rule and the error shape.

* Every error of ``/api`` is JSON ``{"error": "one clear sentence"}`` (FastAPI's own validation
  error shape is replaced); pages get the same message as an HTML page. An exception inside a
  route is answered with 500 and the server goes on.
* Request bodies are capped (``Limits``): 413 before a byte of an oversized body is parsed.
* With a token, every write (``POST``) needs ``Authorization: Bearer TOKEN`` (the pages' forms
  send it as a ``token`` field). Served on a non-loopback address (``public=True``) a token is
  required: ``create_app`` refuses to build an open public server. With a read token, reads
  need a token too (``storyline.web.guard``, which also holds the host allow-list, the origin
  rule for state changes and the security headers).
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storyline import __version__
from storyline.errors import UsageError
from storyline.story.brief import DEFAULT_WORDS
from storyline.store import open_store
from storyline.web.analysis import AnalysisProcess, InProcess
from storyline.web.filters import install_filters
from storyline.web.guard import LOOPBACK_HOSTS, Guard, allowed_hosts
from storyline.web.requests import MEGABYTE, Bounds, Limits, Settings, error_response
from storyline.web.service import Catalogue, Jobs, Memo, StoryBriefings

HERE = Path(__file__).resolve().parent
TOKEN_ENV = "STORYLINE_TOKEN"
READ_TOKEN_ENV = "STORYLINE_READ_TOKEN"
HOSTS_ENV = "STORYLINE_ALLOWED_HOSTS"

def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address to bind) is reachable from this machine only."""
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(
    db_url: str | None,
    *,
    token: str | None = None,
    public: bool = False,
    allow_private: bool = False,
    limits: Limits = Limits(),
    words: int = DEFAULT_WORDS,
    read_token: str | None = None,
    hosts: Sequence[str] = (),
    bounds: Bounds = Bounds(),
    analysis_process: bool = False,
) -> FastAPI:
    """The web app and HTTP API over the database at ``db_url`` (see ``storyline.store.open_store``).

    ``public``: it will be served on a non-loopback address, where writes need ``token``.
    ``allow_private``: URL fetches may reach private and loopback addresses (tests, intranets).
    ``read_token``: reads need it (or ``token``) too. ``hosts``: the names the ``Host`` header
    may carry besides the loopback names (``"*"``: any). ``bounds``: the cost bounds.
    ``analysis_process``: annotate and brief in a process of their own, at a lower priority,
    so that reads never wait behind them (``storyline serve`` does; see
    ``storyline.web.analysis``); else in this process, one job at a time.
    """
    if public and not token:
        raise UsageError(
            f"refusing to serve on a non-loopback address without a token: set {TOKEN_ENV} "
            "(writes will then need 'Authorization: Bearer <token>'), or serve on 127.0.0.1"
        )
    analyst = AnalysisProcess() if analysis_process else InProcess()
    settings = Settings(db_url, token or None, allow_private, limits, words, read_token or None,
                        allowed_hosts([*LOOPBACK_HOSTS, *hosts]), bounds, analyst)
    with open_store(db_url):  # fail now on a bad URL; make a new database, migrate an older one
        pass
    briefings = StoryBriefings(analyst, db_url, bounds.parsed_briefings)
    jobs = Jobs(settings.store, settings.fetcher, briefings, words, analyst, bounds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        analyst.close()
        settings.close_shared_store()

    app = FastAPI(
        title="Storyline", version=__version__, lifespan=lifespan,
        description="Cited briefings of news stories. Errors are JSON: {\"error\": \"...\"}.",
        docs_url=None, redoc_url=None,  # our own /docs page: FastAPI's loads its scripts from a CDN
    )
    app.state.settings = settings
    app.state.briefings = briefings
    app.state.catalogue = Catalogue(bounds.catalogues)
    app.state.rendered = Memo(bounds.rendered_pages)  # briefing pages by (story, words, documents key)
    app.state.jobs = jobs
    app.state.analyses = {"finished": 0, "abandoned": 0}  # POST /api/briefings: analyses given up
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    install_filters(app.state.templates.env)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _install_error_handlers(app)
    app.add_middleware(BodyLimit, limits=limits)
    app.add_middleware(Guard, settings=settings)  # added last: runs first, before any body is read

    from storyline.web import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    return app


EXAMPLE_BODY = '{"documents": ["article text ..."]}'


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's list of validation errors as one readable line: one clause per field, the
    alternatives of a union ("a text or an object") joined."""
    by_field: dict[str, list[str]] = {}
    for error in exc.errors():
        kind, message = error.get("type", ""), str(error.get("msg", "invalid"))
        where = _field_path(error.get("loc", ()))
        if kind == "missing" and not where:
            message = f"the request body is empty: send a JSON object such as {EXAMPLE_BODY}"
        elif kind == "json_invalid":
            message = f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})"
        elif not where and kind in {"model_attributes_type", "dict_type"}:
            message = f"the body must be a JSON object such as {EXAMPLE_BODY}"
        message = message.removeprefix("Value error, ")
        by_field.setdefault(where, [])
        if message not in by_field[where]:
            by_field[where].append(message)
    clauses = [
        (f"{where}: " if where else "") + " or ".join(messages) for where, messages in by_field.items()
    ]
    return "; ".join(clauses) or "invalid request"


def _field_path(location: Any) -> str:
    """``("body", "documents", 0, "str")`` -> ``documents.0``: the request part and pydantic's
    names of union members (``str``, ``function-after[...]``) are not the user's field names."""
    parts = [str(part) for part in location if part not in {"body", "query", "path"}]
    kept = [p for p in parts if p not in {"str", "int", "list", "dict"} and "[" not in p]
    return ".".join(kept)


STATUS_MESSAGES = {404: "not found", 405: "method not allowed"}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code in STATUS_MESSAGES and message in {"Not Found", "Method Not Allowed"}:
            message = f"{STATUS_MESSAGES[exc.status_code]}: {request.method} {request.url.path}"
        response = error_response(request, exc.status_code, message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(UsageError)
    async def usage(request: Request, exc: UsageError) -> Response:
        return error_response(request, 400, str(exc))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        return error_response(request, 500, f"internal error: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- body size


class BodyLimit:
    """Refuse oversized request bodies with 413: at once when Content-Length says so, else while
    reading (the body is buffered up to the limit and replayed to the app)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"GET", "HEAD", "OPTIONS"}:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        is_form = headers.get("content-type", "").startswith(("multipart/", "application/x-www-form"))
        limit = self.limits.form_body if is_form else self.limits.json_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request = Request(scope, receive)  # scope["app"] is set: Starlette runs middleware after
        message = f"request body too large: the limit is {limit / MEGABYTE:g} MB"
        await error_response(request, 413, message)(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the client to disconnect

    return replayed
