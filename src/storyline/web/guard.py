"""The rules every request passes before any route runs (an ASGI middleware, the outermost):

* **Host allow-list**: the ``Host`` header must name this server (loopback names by default),
  so a page on another site whose name was rebound to 127.0.0.1 (DNS rebinding) is refused.
* **Origin**: a state change (any method but GET, HEAD, OPTIONS) sent by a browser from another
  site's page, or from an opaque origin (``Origin: null``: sandboxed frames, ``data:`` pages),
  is refused, for the API as for the forms.
* **Read token**: with one set, every request but the static files and the icon needs it (or
  the write token): ``Authorization: Bearer``, or the cookie that ``?token=`` sets once for a
  browser.
* **Security headers** on every answer: a Content-Security-Policy that forbids framing
  (``frame-ancestors 'none'``) and outside resources, ``nosniff``, ``Referrer-Policy``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storyline.web.ratelimit import RateLimit
from storyline.web.requests import Settings, error_response

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
ANY_HOST = "*"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_COOKIE = "storyline_token"
# The app's own pages load their stylesheet and script from /static, nothing inline; the
# briefing page sends its own, stricter policy (render/report: a nonce for its script).
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
FIXED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",  # for browsers older than frame-ancestors
    "referrer-policy": "same-origin",
}


def host_name(value: str) -> str:
    """``Example.org:8000`` -> ``example.org``, ``[::1]:8000`` -> ``[::1]``: the name without its
    port, lower case, without a trailing dot."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else value
    return value.rsplit(":", 1)[0].rstrip(".") if value.count(":") == 1 else value.rstrip(".")


def allowed_hosts(names: Iterable[str]) -> frozenset[str]:
    """The names a ``Host`` header may carry: ``names`` normalised (a bare IPv6 address gets its
    brackets), ``*`` for any."""
    kept = set()
    for name in names:
        name = name.strip().lower()
        if not name:
            continue
        kept.add(f"[{name}]" if ":" in name and not name.startswith("[") else host_name(name))
    return frozenset(kept)


class Guard:
    """The host, origin and read-token rules and the security headers (see the module)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.reads = RateLimit(settings.bounds.reads_per_minute)
        self.writes = RateLimit(settings.bounds.writes_per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        refusal = self._refusal(request)
        if refusal is None and self._needs_read_token(request):
            refusal = self._read_token_answer(request)
        if refusal is None:
            refusal = self._rate_answer(request)
        target = refusal if refusal is not None else self.app
        await target(scope, receive, _with_security_headers(send))

    def _refusal(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        hosts = self.settings.hosts
        if ANY_HOST not in hosts and host_name(host) not in hosts:
            return error_response(request, 400, (
                f"this server does not answer to the host {host_name(host) or '(none)'!r}: start it "
                "with --allowed-host NAME (or STORYLINE_ALLOWED_HOSTS) to serve that name"))
        if request.method not in SAFE_METHODS:
            problem = origin_problem(request.headers.get("origin"), host,
                                     request.headers.get("sec-fetch-site"))
            if problem:
                return error_response(request, 403, problem)
        return None

    def _rate_answer(self, request: Request) -> Response | None:
        """429 with ``Retry-After`` for a client past its rate (static files are not counted)."""
        if request.url.path.startswith("/static/"):
            return None
        limit = self.reads if request.method in SAFE_METHODS else self.writes
        client = request.client.host if request.client else ""
        wait = limit.wait_seconds(client)
        if not wait:
            return None
        kind = "reads" if limit is self.reads else "writes"
        answer = error_response(request, 429, (
            f"too many requests: this server allows {limit.per_minute} {kind} a minute per client; "
            f"try again in {wait} s"))
        answer.headers["Retry-After"] = str(wait)
        return answer

    def _needs_read_token(self, request: Request) -> bool:
        """Every request but the static files and the icon (nothing of the database)."""
        path = request.url.path
        return (self.settings.read_token is not None and not path.startswith("/static/")
                and path != "/favicon.ico")

    def _read_token_answer(self, request: Request) -> Response | None:
        """None when the request may read; else the 401, or, for ``?token=`` right, the redirect
        that leaves the token in a cookie and out of the address bar (and of the history)."""
        offered = request.query_params.get("token")
        if offered is not None and request.method in SAFE_METHODS and self._grants_read(offered):
            query = urlencode([(k, v) for k, v in parse_qsl(request.url.query) if k != "token"])
            onward = RedirectResponse(request.url.path + (f"?{query}" if query else ""), status_code=303)
            onward.set_cookie(READ_COOKIE, offered, httponly=True, samesite="strict", path="/")
            return onward
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        given = value.strip() if scheme.lower() == "bearer" else request.cookies.get(READ_COOKIE, "")
        if given and self._grants_read(given):
            return None
        answer = error_response(request, 401, (
            "this server needs a token for reading: send 'Authorization: Bearer <token>', or open "
            "a page once as /?token=<token> (a cookie keeps it)" if not given else "wrong token"))
        answer.headers["WWW-Authenticate"] = "Bearer"
        return answer

    def _grants_read(self, given: str) -> bool:
        tokens = [t for t in (self.settings.read_token, self.settings.token) if t]
        return any(hmac.compare_digest(given.encode(), token.encode()) for token in tokens)


def origin_problem(origin: str | None, host: str, fetch_site: str | None = None) -> str | None:
    """Why a state change may not go on because of where the browser says it comes from (None:
    it may). No ``Origin`` (curl, scripts, old browsers) passes: the token rule still holds."""
    if origin is None:
        if fetch_site in {"cross-site", "same-site"}:
            return "this request came from another site's page: refused"
        return None
    if origin.strip().lower() == "null":
        return "this request came from a page without an origin (a sandboxed frame or a data: page): refused"
    if origin.split("://", 1)[-1].rstrip("/").lower() != host.strip().lower():
        return "this form must be sent from the Storyline page itself (another site's page sent it): refused"
    return None


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {name.decode("latin-1").lower() for name, _ in headers}
            if "content-security-policy" not in present:
                headers.append((b"content-security-policy", PAGE_POLICY.encode()))
            headers = [_unframable(name, value) for name, value in headers]
            headers += [(name.encode(), value.encode()) for name, value in FIXED_HEADERS.items()
                        if name not in present]
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _unframable(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    """A route's own policy, with ``frame-ancestors 'none'`` added when it does not say."""
    if name.lower() == b"content-security-policy" and b"frame-ancestors" not in value:
        value = value.rstrip(b"; ") + b"; frame-ancestors 'none'"
    return name, value
