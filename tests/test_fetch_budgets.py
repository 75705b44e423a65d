"""The fetch's budgets against a hostile server on 127.0.0.1: the deadline covers the whole
exchange, decompression is capped on the bytes it produces, odd redirects are one-line errors,
and a response of a couple of kilobytes cannot blow up the command's memory."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from storyline.errors import InputProblem
from storyline.read.fetch import Fetcher

from conftest import ARTICLE_HTML, REPO, NewsServer

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


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    """The base URL of the hostile server."""
    server = QuietServer(("127.0.0.1", 0), HostileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def problem(url: str, **options: float) -> str:
    with Fetcher(allow_private=True, **options) as fetcher, pytest.raises(InputProblem) as caught:
        fetcher.fetch(url)
    reason = str(caught.value)
    assert "\n" not in reason
    return reason


def test_the_deadline_covers_the_response_headers(hostile: str) -> None:
    started = time.monotonic()
    assert problem(f"{hostile}/trickle-headers", timeout=1.0) == "timed out after 1 s"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("path", ["/double-gzip", "/double-gzip-headers"])
def test_a_body_compressed_twice_is_refused(hostile: str, path: str) -> None:
    reason = problem(f"{hostile}{path}")
    assert reason == "response is compressed twice (Content-Encoding: gzip, gzip); refused"


def test_gzip_inside_gzip_is_capped_on_the_bytes_it_produces(hostile: str) -> None:
    # Declared once, so one layer is inflated (16 KB, stopped at a cap of 1000 bytes); the second
    # layer is plain binary to the decoder.
    assert problem(f"{hostile}/gzip-in-gzip", max_bytes=1000) == "response is over the 1000 bytes limit"
    assert problem(f"{hostile}/gzip-in-gzip") == "binary file (gzip), not text or HTML"


def test_a_small_bomb_is_stopped_at_the_cap(hostile: str) -> None:
    assert problem(f"{hostile}/gzip-bomb", max_bytes=100_000) == "response is over the 97.6562 KB limit"


@pytest.mark.parametrize("path", ["/gzip-bomb", "/tag-bomb"])
def test_a_body_that_inflates_like_a_bomb_is_refused_under_the_cap(hostile: str, path: str) -> None:
    assert problem(f"{hostile}{path}") == ("response inflates to over 50 times its compressed size; "
                                           "refused as a compression bomb")


def test_ordinary_compression_passes(hostile: str, news_server: NewsServer) -> None:
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(news_server.url("/gzipped")).data == ARTICLE_HTML


def test_unknown_content_encoding_is_refused(hostile: str) -> None:
    assert problem(f"{hostile}/brotli") == "unsupported content encoding br (only gzip and deflate)"


def test_deflate_is_decoded(hostile: str) -> None:
    with Fetcher(allow_private=True) as fetcher:
        assert fetcher.fetch(f"{hostile}/deflate").data == ARTICLE_HTML


@pytest.mark.parametrize(("path", "scheme"), [("/to-javascript", "javascript"), ("/to-data", "data")])
def test_redirect_to_a_non_http_url_is_one_line(hostile: str, path: str, scheme: str) -> None:
    assert problem(f"{hostile}{path}") == f"unsupported URL scheme {scheme!r} (only http and https)"


def test_bad_redirect_is_one_error_line_and_the_batch_goes_on(hostile: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "storyline", "extract", "--allow-private", "--quiet",
         f"{hostile}/to-javascript", f"{hostile}/article"],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=cli_environment(),
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {hostile}/to-javascript: unsupported URL scheme 'javascript' "
                      "(only http and https)"]
    assert "Millbrook" in run.stdout


# --- memory: a response of a couple of kilobytes cannot cost more than 100 MB ----------------


def cli_environment() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}


PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def peak_megabytes(*arguments: str) -> float:
    """The peak resident memory of ``storyline ARGUMENTS`` run in its own process, in MB."""
    run = subprocess.run([sys.executable, "-c", PEAK_OF_CHILD, sys.executable, "-m", "storyline",
                          *arguments], capture_output=True, text=True, timeout=300, cwd=REPO,
                         env=cli_environment(), check=True)
    return int(run.stdout.strip()) / 1024  # ru_maxrss is in kilobytes on Linux


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux only")
def test_a_two_kilobyte_response_cannot_raise_peak_memory_by_100_mb(hostile: str) -> None:
    assert max(len(DOUBLE_BOMB), len(SINGLE_BOMB), len(GZIP_IN_GZIP), len(TAG_BOMB)) <= WIRE_LIMIT
    baseline = peak_megabytes("extract", "--allow-private", "-q", f"{hostile}/article")
    for path in ("/double-gzip", "/gzip-bomb", "/gzip-in-gzip", "/tag-bomb"):
        peak = peak_megabytes("extract", "--allow-private", "-q", f"{hostile}{path}")
        assert peak - baseline < MEMORY_HEADROOM_MB, (path, baseline, peak)
