"""The fetch's budgets against a hostile server on 127.0.0.1: the deadline covers the whole
exchange, decompression is capped on the bytes it produces, odd redirects are one-line errors,
and a response of a couple of kilobytes cannot blow up the command's memory."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from storyline.errors import InputProblem
from storyline.read.fetch import Fetcher

from conftest import ARTICLE_HTML, REPO, NewsServer
from hostile_server import (DOUBLE_BOMB, GZIP_IN_GZIP, MEMORY_HEADROOM_MB, SINGLE_BOMB, TAG_BOMB,
                            TRICKLE_LINES, TRICKLE_PAUSE, WIRE_LIMIT, hostile_server)


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    """The base URL of the hostile server."""
    with hostile_server() as base:
        yield base


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


def test_a_slow_name_lookup_is_ended_by_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system resolver takes no timeout. A slow name server cannot be staged here without
    changing the machine's resolver settings, so the lookup itself is slowed."""
    import socket

    real = socket.getaddrinfo

    def slow(host: str, *args: object, **kwargs: object) -> object:
        if host == "slow-dns.example":
            time.sleep(8)
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    assert problem("http://slow-dns.example/page", timeout=1) == "timed out resolving host slow-dns.example"
    assert time.monotonic() - started < 3
