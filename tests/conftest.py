"""Shared fixtures: where the shared data lives, and the skip-or-fail rule for missing parts.

On a user's machine a test may skip when a system component or the shared data is absent; under
CI (``CI=true``) the same absence is a failure, so CI can never pass by skipping.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
EVAL_DATA = SHARED / "eval-data"
EXAMPLES = REPO / "examples" / "corpus"


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip (on a user's machine) or fail (under CI) when a needed part is missing."""
    if condition:
        return
    if under_ci():
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The caches a PostgreSQL store's clients keep (``Store.client_cache``) go to a folder of
    the test session's, never into the user's ``~/.cache`` (subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    require(SEEDS.is_dir(), f"seed articles not found at {SEEDS}")
    return SEEDS


@pytest.fixture(scope="session")
def eval_data_dir() -> Path:
    require(EVAL_DATA.is_dir(), f"evaluation data not found at {EVAL_DATA}")
    return EVAL_DATA


def seed_path(seeds: Path, number: int) -> Path:
    """The seed file whose name starts with the three-digit ``number``."""
    matches = sorted(seeds.glob(f"{number:03d}_*.txt"))
    assert matches, f"no seed {number:03d} in {seeds}"
    return matches[0]


# --- a real HTTP server on 127.0.0.1 for the fetch and reader tests ------------------------

import gzip  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

ARTICLE_HTML = (
    "<!DOCTYPE html><html><head><title>Bridge reopens in Millbrook</title></head><body>"
    "<article><h1>Bridge reopens in Millbrook</h1>"
    "<p>The old stone bridge over the Wren river reopened on Tuesday after two years of repairs.</p>"
    "<p>Local traders said the detour had cost them customers every single week.</p>"
    "</article></body></html>"
)
PLAIN_ARTICLE = "Bridge reopens in Millbrook\n\nThe old stone bridge reopened on Tuesday.\n"
RUSSIAN_SENTENCE = "Вчера вечером городской совет Березовки утвердил план ремонта старого моста через реку."
SLOW_SECONDS = 3.0
BIG_BODY_BYTES = 5000


@dataclass
class NewsServer:
    """The running server: ``url(path)`` builds an address; ``requests`` logs (path, user agent)."""

    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def russian_page() -> bytes:
    return f"<html><body><p>{RUSSIAN_SENTENCE}</p></body></html>".encode("cp1251")


# path -> (status, headers, body); bodies are invented for these tests.
ROUTES: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {
    "/article": (200, [("Content-Type", "text/html; charset=utf-8")], ARTICLE_HTML.encode()),
    "/plain": (200, [("Content-Type", "text/plain; charset=utf-8")], PLAIN_ARTICLE.encode()),
    "/cp1251-header": (200, [("Content-Type", "text/html; charset=windows-1251")], russian_page()),
    "/cp1251-meta": (
        200,
        [("Content-Type", "text/html")],
        b'<html><head><meta charset="windows-1251"></head>' + russian_page()[6:],
    ),
    "/gzipped": (
        200,
        [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        gzip.compress(ARTICLE_HTML.encode()),
    ),
    "/missing": (404, [("Content-Type", "text/html")], b"<p>not here</p>"),
    "/report.pdf": (200, [("Content-Type", "application/pdf")], b"%PDF-1.7\n%invented\n"),
    "/empty": (200, [("Content-Type", "text/html")], b""),
    "/big": (200, [("Content-Type", "text/plain")], b"word " * (BIG_BODY_BYTES // 5)),
    "/loop": (302, [("Location", "/loop")], b""),
    "/moved": (301, [("Location", "/article")], b""),
    "/to-private": (302, [("Location", "http://10.0.0.1/admin")], b""),
    "/to-file": (302, [("Location", "file:///etc/passwd")], b""),
}


class NewsHandler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        log: list[tuple[str, str]] = self.server.request_log  # type: ignore[attr-defined]
        log.append((self.path, self.headers.get("User-Agent", "")))
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        if self.path == "/big-unsized":  # no Content-Length: the size cap must work while streaming
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"word " * (BIG_BODY_BYTES // 5))
            return
        status, headers, body = ROUTES.get(self.path.split("?")[0], ROUTES["/article"])
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler still sleeping in /slow must not block shutdown

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that gave up (timeouts, size caps) close early; that is expected


@pytest.fixture(scope="session")
def news_server() -> Iterator[NewsServer]:
    server = QuietServer(("127.0.0.1", 0), NewsHandler)
    state = NewsServer(port=server.server_address[1])
    server.request_log = state.requests  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


CHROMIUM = Path(os.environ.get("STORYLINE_CHROMIUM", "/usr/bin/chromium"))
# Screenshots of browser tests land here (CI keeps the folder as the tests' output).
SCREENSHOTS = Path(os.environ.get("STORYLINE_TEST_OUTPUT", REPO / "test-output")) / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's ``chromium``) driven by Playwright; one per test worker."""
    require(CHROMIUM.exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        playwright_api = importlib.import_module("playwright.sync_api")
    except ImportError:
        require(False, "the playwright package is not installed (pip install -e '.[test]')")
    with playwright_api.sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser page (own context: no cookies or storage shared between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot of ``page`` under the test output folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- the database of a test, on each backend ------------------------------------------------

import uuid  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

POSTGRES_VARIABLE = "STORYLINE_TEST_POSTGRES"  # a server's URL; its user may create databases
BACKENDS = ["sqlite", "postgresql"]
DROP_ATTEMPTS = 20  # half a second apart: see PostgresServer.drop


@dataclass(frozen=True)
class PostgresServer:
    """The test server: ``admin`` connects to its maintenance database; each test's database
    is made from ``template`` (migrated once per session, so a test's costs milliseconds)."""

    admin: str
    template: str

    def url(self, database: str) -> str:
        return urlunsplit(urlsplit(self.admin)._replace(path=f"/{database}"))

    def execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def new_database(self, template: str | None = None) -> str:
        """A new database copied from ``template`` (default: the migrated template); its name."""
        name = f"storyline_test_{uuid.uuid4().hex[:16]}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template or self.template}"')
        return name

    def drop(self, database: str) -> None:
        import psycopg

        # Why the retries: FORCE may not end an autovacuum worker that has just started on the
        # database (it runs as the server's superuser, the tests' role is not one); it finishes
        # within moments on a database this small.
        for attempt in range(DROP_ATTEMPTS):
            try:
                self.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                if attempt == DROP_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)


def postgres_reason() -> str | None:
    """Why the PostgreSQL tests cannot run here (None: they can)."""
    url = os.environ.get(POSTGRES_VARIABLE, "")
    if not url:
        return f"no PostgreSQL server for the tests: set {POSTGRES_VARIABLE}=postgresql://..."
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5):
            return None
    except Exception as exc:  # noqa: BLE001 - any failure is the reason to show
        from storyline.store.postgres import first_line

        return f"PostgreSQL at {POSTGRES_VARIABLE} not reachable: {first_line(exc)}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of ``STORYLINE_TEST_POSTGRES`` with a migrated template database
    (skipped where none is reachable; a failure under CI)."""
    reason = postgres_reason()
    require(reason is None, reason or "")
    from storyline.store.postgres import PostgresStore

    admin = os.environ[POSTGRES_VARIABLE]
    server = PostgresServer(admin, f"storyline_template_{uuid.uuid4().hex[:12]}")
    server.execute(f'CREATE DATABASE "{server.template}"')
    PostgresStore(server.url(server.template)).close()
    yield server
    server.drop(server.template)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, dropped after it."""
    database = postgres_server.new_database()
    yield postgres_server.url(database)
    postgres_server.drop(database)


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's database on each backend: a SQLite file (not made yet) or a fresh PostgreSQL
    database (skipped where no server is reachable, a failure under CI)."""
    if request.param == "sqlite":
        return str(tmp_path / "data" / "storyline.db")
    return str(request.getfixturevalue("postgres_url"))


def is_postgres(db: str | Path) -> bool:
    from storyline.store.postgres import is_postgres_url

    return is_postgres_url(str(db))


def sql_rows(db: str | Path, statement: str) -> list[tuple[Any, ...]]:
    """Run one SQL statement (no parameters) on a test's database, either backend; its rows."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(str(db), autocommit=True) as conn:
            cursor = conn.execute(statement)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []
    import sqlite3

    with sqlite3.connect(db) as connection:
        return connection.execute(statement).fetchall()


def database_on(backend: str, request: pytest.FixtureRequest, folder: Path, name: str) -> str:
    """A new database on ``backend`` for a fixture of any scope (a module's shared database):
    a SQLite file in ``folder`` (not made yet), or a fresh migrated PostgreSQL database dropped
    when the fixture's scope ends (skipped where no server is reachable, a failure under CI)."""
    if backend == "sqlite":
        return str(folder / f"{name}.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = server.new_database()
    request.addfinalizer(lambda: server.drop(database))
    return server.url(database)


def copy_database(source: str, request: pytest.FixtureRequest, folder: Path, name: str) -> str:
    """A consistent copy of the database ``source`` for one test to change: SQLite's backup
    (what is still in the WAL comes along), or PostgreSQL's ``CREATE DATABASE ... TEMPLATE``
    (nothing may be connected to ``source`` meanwhile), dropped after the test."""
    if not is_postgres(source):
        import sqlite3

        target = folder / f"{name}.db"
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return str(target)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = server.new_database(template=urlsplit(source).path.lstrip("/"))
    request.addfinalizer(lambda: server.drop(database))
    return server.url(database)
