"""Fetch one article URL safely: size and time limits, no private addresses, clear errors.

``Fetcher.fetch(url)`` returns a ``Source`` whose ``data`` is already decoded text, or raises
``InputProblem`` with a one-line reason. Redirects are followed by hand (at most
``MAX_REDIRECTS``) so that every hop's host is checked again: a public page must not be able to
bounce us to ``http://169.254.169.254/`` or to a service on the user's own network.

The address is checked twice: before each request (a clear refusal, without touching the
network), and again where the connection is made. ``GuardedBackend`` resolves the host itself,
refuses a non-public address, and connects to the very address it checked, so a DNS server that
answers "public" to the first lookup and "127.0.0.1" to the next (DNS rebinding) gains nothing.

Budgets. httpx's timeout is per network operation, so a server sending one header line a second
would hold a fetch forever; the connections ``GuardedBackend`` makes therefore clamp every
connect, read and write to what is left of the fetch's deadline (``DeadlineStream``). The size
cap counts the bytes decompression *produces*: the body is read raw and inflated here, in
pieces of at most ``INFLATE_PIECE_BYTES``, so a kilobyte of gzip that would inflate to
gigabytes is stopped at the cap; a body compressed twice is refused outright.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType
from typing import Any

import httpcore
import httpx

from storyline.errors import InputProblem
from storyline.model import Hints, Mode, Source
from storyline.read.decode import INFLATE_PIECE_BYTES, MAX_INFLATE_RATIO, decode_bytes, sniff_mode

TIMEOUT_SECONDS = 20.0  # per network operation, and for the whole fetch including redirects
MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # decompressed body; articles are far smaller
MAX_REDIRECTS = 5
PROJECT_URL = "https://example.org/storyline"  # placeholder until the project has a home page

try:
    STORYLINE_VERSION = version("storyline")
except PackageNotFoundError:  # running from a source tree that was never installed
    STORYLINE_VERSION = "unknown"
USER_AGENT = f"Storyline/{STORYLINE_VERSION} (+{PROJECT_URL})"
ACCEPT = "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8,*/*;q=0.1"
# The encodings ``inflated`` decodes; httpx would otherwise offer br and zstd when installed.
ACCEPT_ENCODING = "gzip, deflate"
GZIP_WBITS = 16 + zlib.MAX_WBITS
ZLIB_WBITS = zlib.MAX_WBITS
RAW_DEFLATE_WBITS = -zlib.MAX_WBITS

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
# Servers that do not know a file's type say so with these; decoding and sniffing decide then.
UNKNOWN_TYPES = frozenset({"", "application/octet-stream"})
ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOW_PRIVATE_HINT = "use --allow-private to fetch it"
SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]

# The monotonic time the fetch running in this thread (context) must end by; None outside one.
_deadline: ContextVar[float | None] = ContextVar("storyline_fetch_deadline", default=None)


class NetworkProblem(InputProblem):
    """A download failed in a way that may pass (a timeout, a refused connection, a 5xx or
    429 answer): worth another try later. ``status`` is the HTTP status, if one came."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Response:
    """What ``Fetcher.get`` received: the final ``url`` after redirects, the ``status`` (200, or
    304 when a conditional request found nothing new; then ``body`` is empty), the raw ``body``
    (decompressed, within the size cap), the validators for the next conditional request
    (``etag``, ``last_modified``), and ``moved_to``: where a permanent redirect (301, 308)
    sent the first hop, for a caller that keeps the address (a watched feed that moved)."""

    url: str
    status: int
    body: bytes
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None


class Fetcher:
    """Downloads article pages. One instance reuses connections; close it (or use ``with``).

    ``transport`` replaces httpx's network transport (tests, custom proxies); the address check
    still runs, because it guards what the URL names, not how the bytes travel. The deadline over
    the whole exchange lives in our own transport's connections: with another transport, only
    httpx's per-operation timeouts and the body's deadline apply.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_RESPONSE_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._client = httpx.Client(
            transport=transport or guarded_transport(allow_private),
            timeout=timeout,
            follow_redirects=False,  # we follow them ourselves, checking each hop
            # httpx prepares a redirect's next request even when it will not follow it, and a
            # location such as "javascript:alert(1)" breaks that: look at the location first.
            event_hooks={"response": [check_redirect]},
            headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str) -> Source:
        """Download ``url``; raise ``InputProblem`` with a one-line reason when that fails."""
        deadline = time.monotonic() + self.timeout
        current = parse_url(url)
        token = _deadline.set(deadline)
        try:
            for _hop in range(self.max_redirects + 1):
                self.check_host(current)
                with self._client.stream("GET", current) as response:
                    if response.has_redirect_location:
                        current = redirect_target(response)
                        continue
                    data, mode = self.read_response(response, deadline)
                    return Source(origin=url, data=data, mode=mode, hints=Hints(url=str(response.url)))
        except httpx.TimeoutException as exc:
            raise InputProblem(f"timed out after {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise InputProblem(network_reason(exc, current)) from exc
        except httpx.InvalidURL as exc:  # a URL httpx could not build that check_redirect let by
            raise InputProblem(f"invalid URL ({one_line(str(exc))}) after {current}") from exc
        finally:
            _deadline.reset(token)
        raise InputProblem(f"too many redirects (more than {self.max_redirects})")

    def get(self, url: str, *, headers: Mapping[str, str] | None = None,
            accept: str | None = None) -> Response:
        """Download ``url`` as bytes, with the same guards as ``fetch`` (deadline, size cap,
        address check on every hop), sending ``headers`` (``If-None-Match``,
        ``If-Modified-Since``: a 304 comes back as such, with an empty body). Any other status
        but 2xx raises ``InputProblem`` naming it."""
        deadline = time.monotonic() + self.timeout
        current = parse_url(url)
        moved_to: str | None = None
        sent = dict(headers or {})
        if accept is not None:
            sent["Accept"] = accept
        token = _deadline.set(deadline)
        try:
            for hop in range(self.max_redirects + 1):
                self.check_host(current)
                with self._client.stream("GET", current, headers=sent) as response:
                    if response.has_redirect_location:
                        current = redirect_target(response)
                        if hop == 0 and response.status_code in (301, 308):
                            moved_to = str(current)
                        continue
                    return self.raw_response(response, deadline, moved_to)
        except httpx.TimeoutException as exc:
            raise NetworkProblem(f"timed out after {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise NetworkProblem(network_reason(exc, current)) from exc
        except httpx.InvalidURL as exc:
            raise InputProblem(f"invalid URL ({one_line(str(exc))}) after {current}") from exc
        finally:
            _deadline.reset(token)
        raise InputProblem(f"too many redirects (more than {self.max_redirects})")

    def raw_response(self, response: httpx.Response, deadline: float, moved_to: str | None) -> Response:
        if response.status_code != 304 and not response.is_success:
            reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
            if response.status_code == 429 or response.status_code >= 500:
                raise NetworkProblem(reason, response.status_code)
            raise InputProblem(reason)
        body = b"" if response.status_code == 304 else self.read_body(response, deadline)
        return Response(
            url=str(response.url), status=response.status_code, body=body,
            content_type=response.headers.get("content-type", "").split(";", 1)[0].strip().lower(),
            charset=response.charset_encoding, etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"), moved_to=moved_to)

    def check_host(self, url: httpx.URL) -> None:
        """Refuse a host that is, or resolves to, a non-public address (unless allowed)."""
        if not self.allow_private:
            refuse_non_public(url.host, resolve(url))

    def read_response(self, response: httpx.Response, deadline: float) -> tuple[str, Mode]:
        if not response.is_success:
            raise InputProblem(f"HTTP {response.status_code} {response.reason_phrase}".strip())
        declared_mode = mode_for_content_type(response.headers.get("content-type", ""))
        body = self.read_body(response, deadline)
        if not body:
            raise InputProblem("empty response")
        text = decode_bytes(body, declared=response.charset_encoding)
        return text, declared_mode or sniff_mode(text)

    def read_body(self, response: httpx.Response, deadline: float) -> bytes:
        """Read and decompress the body, stopping as soon as what it produces passes the cap."""
        limit_reason = f"response is over the {human_size(self.max_bytes)} limit"
        declared_length = response.headers.get("content-length", "")
        if declared_length.isdigit() and int(declared_length) > self.max_bytes:
            raise InputProblem(limit_reason)
        encoding = content_encoding(response)
        raw = RawCounter(response.iter_raw())
        pieces = raw if encoding is None else inflated(raw, encoding)
        chunks: list[bytes] = []
        size = 0
        for chunk in pieces:
            size += len(chunk)
            if size > self.max_bytes:
                raise InputProblem(limit_reason)
            if size > INFLATE_PIECE_BYTES and size > MAX_INFLATE_RATIO * raw.count:
                raise InputProblem(f"response inflates to over {MAX_INFLATE_RATIO} times its "
                                   "compressed size; refused as a compression bomb")
            # httpx's timeout is per read; a server trickling bytes could otherwise hold us forever.
            if time.monotonic() > deadline:
                raise NetworkProblem(f"timed out after {self.timeout:g} s")
            chunks.append(chunk)
        return b"".join(chunks)


class RawCounter:
    """The body's bytes as they come off the wire, counted (``count``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.count += len(chunk)
            yield chunk


def content_encoding(response: httpx.Response) -> str | None:
    """The one compression the body has ("gzip" or "deflate"), None when it has none.

    A body compressed twice has no honest use and is the classic decompression bomb (a kilobyte
    that inflates to gigabytes): refused, as is any encoding we do not decode."""
    layers = [name.strip().lower() for name in response.headers.get_list("content-encoding", split_commas=True)]
    layers = [name for name in layers if name not in ("", "identity")]
    if len(layers) > 1:
        raise InputProblem(f"response is compressed {'twice' if len(layers) == 2 else f'{len(layers)} times'} "
                           f"(Content-Encoding: {', '.join(layers)}); refused")
    if not layers:
        return None
    name = "gzip" if layers[0] == "x-gzip" else layers[0]
    if name not in ("gzip", "deflate"):
        raise InputProblem(f"unsupported content encoding {name} (only gzip and deflate)")
    return name


def inflated(chunks: Iterable[bytes], encoding: str) -> Iterator[bytes]:
    """Decompress ``chunks`` in pieces of at most ``INFLATE_PIECE_BYTES``, so that the caller
    can stop at its cap before a bomb is inflated. Data after the end of the stream is ignored."""
    remaining = iter(chunks)
    start, wbits = b"", GZIP_WBITS
    if encoding == "deflate":  # many servers send "deflate" as a raw stream, without zlib's header
        start = first_bytes(remaining, 2)
        wbits = ZLIB_WBITS if has_zlib_header(start) else RAW_DEFLATE_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        for chunk in itertools.chain([start], remaining):
            if inflater.eof:
                return
            yield from pieces_of(inflater, chunk)
    except zlib.error as exc:
        raise InputProblem(f"corrupt {encoding} response ({exc})") from exc


def pieces_of(inflater: zlib._Decompress, data: bytes) -> Iterator[bytes]:
    """``data`` inflated a piece at a time, with what zlib still holds after a full piece."""
    while not inflater.eof:
        piece = inflater.decompress(data, INFLATE_PIECE_BYTES)
        if piece:
            yield piece
        data = inflater.unconsumed_tail
        if not data and len(piece) < INFLATE_PIECE_BYTES:
            return


def first_bytes(chunks: Iterator[bytes], count: int) -> bytes:
    start = b""
    for chunk in chunks:
        start += chunk
        if len(start) >= count:
            break
    return start


def has_zlib_header(start: bytes) -> bool:
    """RFC 1950: compression method 8 in the low nibble, the two bytes a multiple of 31."""
    return len(start) >= 2 and start[0] & 0x0F == 8 and int.from_bytes(start[:2], "big") % 31 == 0


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the running fetch's deadline: httpx's
    timeout is per operation, and a server trickling header lines would never trip it."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout=within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout=within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        secure = self._inner.start_tls(ssl_context, server_hostname=server_hostname,
                                       timeout=within_deadline(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(secure)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def within_deadline(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to what is left of the running fetch's deadline; ``expired`` raised when
    nothing is left (a socket timeout of 0 would mean non-blocking, not "give up")."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the fetch's deadline has passed")
    return left if timeout is None else min(timeout, left)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend with the address check at connect time: the host is resolved
    here, every address it has must be public (unless allowed), and the socket goes to the
    address checked, never to a second lookup's answer."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[SocketOption] | None = None) -> httpcore.NetworkStream:
        addresses = resolve_host(host, port)
        if not self._allow_private:
            refuse_non_public(host, addresses)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address in addresses:  # as the resolver ordered them, like socket.create_connection
            try:
                stream = self._inner.connect_tcp(
                    str(address), port, timeout=within_deadline(timeout, httpcore.ConnectTimeout),
                    local_address=local_address, socket_options=socket_options)
                return DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() never returns an empty list
        raise failure

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(allow_private: bool) -> httpx.HTTPTransport:
    """httpx's own transport, connecting through ``GuardedBackend``."""
    transport = httpx.HTTPTransport()
    # httpx (pinned) has no public way to pass a network backend to its connection pool;
    # tests/test_fetch.py fails loudly if this attribute ever moves.
    transport._pool._network_backend = GuardedBackend(allow_private)
    return transport


def parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InputProblem(f"invalid URL: {exc}") from exc
    check_scheme(parsed)
    if not parsed.host:
        raise InputProblem("invalid URL: no host name")
    return parsed


def check_scheme(url: httpx.URL) -> None:
    if url.scheme not in ALLOWED_SCHEMES:
        raise InputProblem(f"unsupported URL scheme {url.scheme!r} (only http and https)")


def redirect_target(response: httpx.Response) -> httpx.URL:
    try:
        target = response.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise InputProblem(f"invalid redirect location: {exc}") from exc
    check_scheme(target)  # a redirect to file:// or ftp:// must not be followed
    return target


def check_redirect(response: httpx.Response) -> None:
    """Refuse a redirect to an unusable location before httpx tries to build a request for it."""
    if response.has_redirect_location:
        redirect_target(response)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return None


def resolve(url: httpx.URL) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address the URL's host stands for; a literal IP stands for itself."""
    port = url.port or (443 if url.scheme == "https" else 80)
    # The IDNA-encoded host, as the resolver wants it; errors name the host as the user wrote it.
    return resolve_host(url.raw_host.decode("ascii"), port, shown=url.host)


def resolve_host(host: str, port: int, *, shown: str | None = None
                 ) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address an (ASCII) host name stands for; a literal IP stands for itself."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = lookup_within_deadline(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise InputProblem(f"cannot resolve host {shown or host}") from exc
    except TimeoutError as exc:
        raise InputProblem(f"timed out resolving host {shown or host}") from exc
    # getaddrinfo also parses odd numeric forms ("2130706433", "0x7f.1") into real addresses.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


AddressInfo = tuple[Any, Any, Any, Any, Any]


def lookup_within_deadline(host: str, port: int) -> list[AddressInfo]:
    """``getaddrinfo`` ended by the running fetch's deadline (``TimeoutError`` past it).

    The system resolver takes no timeout and may retry for many seconds, which would let a
    slow name server hold a fetch past its deadline; so the lookup runs in a thread of its
    own that is abandoned (it ends when the resolver gives up) once the deadline has passed."""
    deadline = _deadline.get()
    if deadline is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    answer: list[list[AddressInfo]] = []
    failure: list[BaseException] = []

    def look_up() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failure.append(exc)

    worker = threading.Thread(target=look_up, daemon=True, name="storyline-resolve")
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if failure:
        raise failure[0]
    if not answer:
        raise TimeoutError(f"no answer for {host} before the deadline")
    return answer[0]


def refuse_non_public(host: str, addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> None:
    """Raise ``InputProblem`` naming the first non-public address among ``addresses``."""
    for address in addresses:
        kind = non_public_kind(address)
        if kind is None:
            continue
        if literal_address(host) is not None:
            raise InputProblem(f"refused: {host} is a {kind} address; {ALLOW_PRIVATE_HINT}")
        raise InputProblem(f"refused: {host} resolves to {kind} address {address}; {ALLOW_PRIVATE_HINT}")


def non_public_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Name the kind of a non-public address ("loopback", "private", ...); None when public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Everything else not globally routable: carrier-grade NAT, documentation ranges ...
        ("non-public", not address.is_global),
    )
    return next((kind for kind, matches in checks if matches), None)


def mode_for_content_type(content_type: str) -> Mode | None:
    """HTML or text by the response's media type; None means sniff; others are refused."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type in HTML_TYPES:
        return "html"
    if media_type in TEXT_TYPES:
        return "text"
    if media_type in UNKNOWN_TYPES:
        return None
    raise InputProblem(f"unsupported content type {media_type} (not HTML or plain text)")


def human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def network_reason(exc: httpx.HTTPError, url: httpx.URL) -> str:
    detail = one_line(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {url.host}: {detail}"
    return f"download failed: {detail}"
