"""Fetcher against a real HTTP server on 127.0.0.1 (the ``news_server`` fixture in conftest)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from storyline.errors import InputProblem
from storyline.read.fetch import MAX_REDIRECTS, USER_AGENT, Fetcher

from conftest import ARTICLE_HTML, PLAIN_ARTICLE, RUSSIAN_SENTENCE, SLOW_SECONDS, NewsServer

# A public address the tests name but never reach: ``LocalRoute`` carries the request to the
# local server, so the address check sees a public host while the bytes come from 127.0.0.1.
PUBLIC_IP = "93.184.215.14"


class LocalRoute(httpx.BaseTransport):
    """A real network transport that delivers every request to the test server."""

    def __init__(self, port: int) -> None:
        self._network = httpx.HTTPTransport()
        self._port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        local_url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        local = httpx.Request(request.method, local_url, headers=request.headers, stream=request.stream)
        return self._network.handle_request(local)

    def close(self) -> None:
        self._network.close()


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    """Loopback allowed: the test server lives there."""
    with Fetcher(allow_private=True) as allowed:
        yield allowed


def problem(fetcher: Fetcher, url: str) -> str:
    with pytest.raises(InputProblem) as caught:
        fetcher.fetch(url)
    reason = str(caught.value)
    assert "\n" not in reason
    return reason


def test_article_page_is_html_with_final_url(fetcher: Fetcher, news_server: NewsServer) -> None:
    source = fetcher.fetch(news_server.url("/article"))
    assert source.origin == news_server.url("/article")
    assert source.mode == "html"
    assert source.data == ARTICLE_HTML
    assert source.hints.url == news_server.url("/article")


def test_user_agent_names_storyline(fetcher: Fetcher, news_server: NewsServer) -> None:
    fetcher.fetch(news_server.url("/article?ua"))
    agents = [agent for path, agent in news_server.requests if path == "/article?ua"]
    assert agents == [USER_AGENT]
    assert USER_AGENT.startswith("Storyline/") and "+http" in USER_AGENT


def test_redirect_is_followed_and_final_url_kept(fetcher: Fetcher, news_server: NewsServer) -> None:
    source = fetcher.fetch(news_server.url("/moved"))
    assert source.origin == news_server.url("/moved")
    assert source.hints.url == news_server.url("/article")
    assert "stone bridge" in str(source.data)


def test_plain_text_response(fetcher: Fetcher, news_server: NewsServer) -> None:
    source = fetcher.fetch(news_server.url("/plain"))
    assert (source.mode, source.data) == ("text", PLAIN_ARTICLE)


def test_gzip_content_encoding_is_decoded(fetcher: Fetcher, news_server: NewsServer) -> None:
    assert fetcher.fetch(news_server.url("/gzipped")).data == ARTICLE_HTML


@pytest.mark.parametrize("path", ["/cp1251-header", "/cp1251-meta"])
def test_windows_1251_page_from_header_or_meta(fetcher: Fetcher, news_server: NewsServer, path: str) -> None:
    assert RUSSIAN_SENTENCE in str(fetcher.fetch(news_server.url(path)).data)


def test_http_error_status(fetcher: Fetcher, news_server: NewsServer) -> None:
    assert problem(fetcher, news_server.url("/missing")) == "HTTP 404 Not Found"


def test_pdf_content_type_is_refused(fetcher: Fetcher, news_server: NewsServer) -> None:
    reason = problem(fetcher, news_server.url("/report.pdf"))
    assert reason == "unsupported content type application/pdf (not HTML or plain text)"


def test_empty_response(fetcher: Fetcher, news_server: NewsServer) -> None:
    assert problem(fetcher, news_server.url("/empty")) == "empty response"


def test_slow_server_times_out(news_server: NewsServer) -> None:
    with Fetcher(allow_private=True, timeout=0.5) as impatient:
        started = time.monotonic()
        reason = problem(impatient, news_server.url("/slow"))
    assert reason == "timed out after 0.5 s"
    assert time.monotonic() - started < SLOW_SECONDS


def test_redirect_loop_stops(fetcher: Fetcher, news_server: NewsServer) -> None:
    before = sum(1 for path, _ in news_server.requests if path == "/loop")
    assert problem(fetcher, news_server.url("/loop")) == f"too many redirects (more than {MAX_REDIRECTS})"
    assert sum(1 for path, _ in news_server.requests if path == "/loop") - before == MAX_REDIRECTS + 1


@pytest.mark.parametrize("path", ["/big", "/big-unsized"])
def test_body_over_the_cap_is_refused(news_server: NewsServer, path: str) -> None:
    with Fetcher(allow_private=True, max_bytes=1000) as small:
        assert problem(small, news_server.url(path)) == "response is over the 1000 bytes limit"


def test_redirect_to_file_scheme_is_refused(fetcher: Fetcher, news_server: NewsServer) -> None:
    assert problem(fetcher, news_server.url("/to-file")) == "unsupported URL scheme 'file' (only http and https)"


def test_connection_refused_is_one_line(fetcher: Fetcher) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert problem(fetcher, f"http://127.0.0.1:{port}/").startswith("cannot connect to 127.0.0.1")


# --- private addresses ------------------------------------------------------------------------


def test_loopback_refused_by_default_without_connecting(news_server: NewsServer) -> None:
    url = news_server.url("/article?refused")
    with Fetcher() as default:
        reason = problem(default, url)
    assert reason == "refused: 127.0.0.1 is a loopback address; use --allow-private to fetch it"
    assert not [path for path, _ in news_server.requests if path == "/article?refused"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.20:8080/news", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://100.64.0.7/", "non-public"),
    ],
)
def test_literal_non_public_addresses_refused(url: str, kind: str) -> None:
    with Fetcher(timeout=0.5) as default:
        reason = problem(default, url)
    assert reason.startswith("refused: ") and f" is a {kind} address" in reason


def test_hostname_resolving_to_loopback_is_refused(news_server: NewsServer) -> None:
    with Fetcher() as default:
        reason = problem(default, f"http://localhost:{news_server.port}/article")
    assert reason.startswith("refused: localhost resolves to loopback address ")


def test_every_redirect_hop_is_checked(news_server: NewsServer) -> None:
    with Fetcher(transport=LocalRoute(news_server.port)) as routed:
        # The first hop is public, so it is fetched; its redirect to 10.0.0.1 must not be.
        assert routed.fetch(f"http://{PUBLIC_IP}/article").hints.url == f"http://{PUBLIC_IP}/article"
        reason = problem(routed, f"http://{PUBLIC_IP}/to-private")
    assert reason == "refused: 10.0.0.1 is a private address; use --allow-private to fetch it"


def test_unresolvable_host() -> None:
    with Fetcher() as default:
        assert problem(default, "http://no-such-host.invalid/news") == "cannot resolve host no-such-host.invalid"


@pytest.mark.parametrize("url", ["ftp://example.org/a.txt", "http:///nohost"])
def test_unsupported_or_broken_urls(url: str) -> None:
    with Fetcher() as default:
        reason = problem(default, url)
    assert reason.startswith(("unsupported URL scheme", "invalid URL"))


def test_the_address_is_checked_again_where_the_connection_is_made(
    news_server: NewsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the first lookup said "public", the connection's lookup says 127.0.0.1.
    # With the first check skipped, the connect-time check alone must refuse, before a request.
    monkeypatch.setattr(Fetcher, "check_host", lambda self, url: None)
    with Fetcher() as default:
        reason = problem(default, f"http://localhost:{news_server.port}/article?rebound")
    assert reason.startswith("refused: localhost resolves to loopback address ")
    assert not [path for path, _ in news_server.requests if path == "/article?rebound"]


def test_allowed_private_addresses_connect_through_the_guard(news_server: NewsServer) -> None:
    with Fetcher(allow_private=True) as allowed:
        assert allowed.fetch(f"http://localhost:{news_server.port}/article").hints.url.endswith("/article")
