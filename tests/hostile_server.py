"""A hostile HTTP server for tests, on 127.0.0.1: responses of a couple of kilobytes that
inflate to hundreds of megabytes, headers that trickle in, odd encodings and redirects."""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import ARTICLE_HTML

TRICKLE_LINES = 12  # header lines, one every TRICKLE_PAUSE seconds: 3.6 s in all
TRICKLE_PAUSE = 0.3
BOMB_MEGABYTES = 512  # what the double-gzip bomb inflates to; under 1 KB on the wire
WIRE_LIMIT = 2048  # the largest response the memory test may send
MEMORY_HEADROOM_MB = 100


def spaces_gzipped(megabytes: int) -> bytes:
    """A gzip stream of ``megabytes`` MB of spaces, built a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


DOUBLE_BOMB = gzip.compress(spaces_gzipped(BOMB_MEGABYTES), 9)
SINGLE_BOMB = spaces_gzipped(1)  # about 1 KB of gzip that inflates to 1 MB
GZIP_IN_GZIP = gzip.compress(spaces_gzipped(16), 9)  # declared once, compressed twice
# 2 KB of gzip, 2 MB of markup: half a million elements for the HTML cleaner.
TAG_BOMB = gzip.compress(b"<html><body>" + b"<p>a" * 500_000, 9)


class HostileHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        route = self.path.split("?")[0]
        if route == "/trickle-headers":
            self.trickle_headers()
        elif route == "/double-gzip":
            self.send_body(DOUBLE_BOMB, [("Content-Encoding", "gzip, gzip")])
        elif route == "/double-gzip-headers":
            self.send_body(DOUBLE_BOMB, [("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")])
        elif route == "/gzip-in-gzip":
            self.send_body(GZIP_IN_GZIP, [("Content-Encoding", "gzip")])
        elif route == "/gzip-bomb":
            self.send_body(SINGLE_BOMB, [("Content-Encoding", "gzip")])
        elif route == "/tag-bomb":
            self.send_body(TAG_BOMB, [("Content-Encoding", "gzip")])
        elif route == "/brotli":
            self.send_body(b"\x8b\x03\x80hello\x03", [("Content-Encoding", "br")])
        elif route == "/deflate":
            self.send_body(zlib.compress(ARTICLE_HTML.encode()), [("Content-Encoding", "deflate")])
        elif route == "/to-javascript":
            self.send_redirect("javascript:alert(1)")
        elif route == "/to-data":
            self.send_redirect("data:text/html,hello")
        else:
            self.send_body(ARTICLE_HTML.encode(), [])

    def trickle_headers(self) -> None:
        """A valid response whose header lines come one by one, each well inside the timeout."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
        for number in range(TRICKLE_LINES):
            time.sleep(TRICKLE_PAUSE)
            self.wfile.write(f"X-Slow-{number}: yes\r\n".encode())
        body = ARTICLE_HTML.encode()
        self.wfile.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def send_body(self, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up closes early; that is the point of these tests



@contextmanager
def hostile_server() -> Iterator[str]:
    """The base URL of a hostile server while the block runs."""
    server = QuietServer(("127.0.0.1", 0), HostileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
