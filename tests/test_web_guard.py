"""The web server under hostile or careless use: requests from other sites' pages and from
rebound host names, ids no story can have, tokens for reading, the security headers, and what one
visitor's requests may cost (briefing lengths, the analysis of posted articles, the ingest
queue, slow hosts, bad uploads). In process through Starlette's TestClient, real SQLite and (for
the tests over a stored story or the ``client`` fixture's database) PostgreSQL, the real pipeline; real HTTP servers on 127.0.0.x where a slow site or a client that leaves is the point.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from storyline.pipeline.documents import ingest
from storyline.store import open_store
from storyline.web import Limits, create_app
from storyline.web.requests import Bounds

from live_server import uvicorn_serving
from tests.conftest import BACKENDS, copy_database, database_on, sql_rows

LOCAL = "http://localhost"
HUGE = "9" * 30  # a number no SQLite row can have
# Invented articles (our own words).
HARBOUR = (
    "Harbour cranes return to Millbrook\n\n"
    "Two new cranes arrived at the harbour of Millbrook on Thursday, ending a year in which ships "
    "had to be unloaded by hand. The harbour master, Lena Strand, said the cranes would double "
    "the number of ships served each week.\n\n"
    "\"This is the best news the port has had in a decade,\" Strand said."
)
ORCHARD = (
    "Orchard owners count frost damage\n\n"
    "A late frost last weekend destroyed most of the apple blossom in the valley above Millbrook, "
    "the growers' cooperative said on Monday. Its chairman, Tomas Vik, expects the harvest to be "
    "half of last year's."
)
JOB_SECONDS = 180


def client_for(db: Path | str, **options: Any) -> TestClient:
    return TestClient(create_app(str(db), **options), base_url=LOCAL)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The app over a new database, on each backend (``conftest.db_url``)."""
    with client_for(db_url) as test_client:
        yield test_client


@pytest.fixture(scope="module", params=BACKENDS)
def story_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Story 1 "Millbrook" of two annotated articles, S1 and S2; one per module and backend."""
    folder = tmp_path_factory.mktemp("guard-story")
    paths = []
    for name, text in {"harbour": HARBOUR, "orchard": ORCHARD}.items():
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    db = database_on(request.param, request, folder, "story")
    with open_store(db) as store:
        report = ingest(paths, store)
        store.add_to_story(store.create_story("Millbrook").id, report.new)
    return db


def wait_for_job(client: TestClient, location: str, seconds: float = JOB_SECONDS) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get("/api" + location).json()
        if job["state"] in {"done", "failed"}:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {location} did not finish in {seconds} s")


# --------------------------------------------------------------------------- origins and hosts


@pytest.mark.parametrize("origin", ["null", "https://elsewhere.example", "http://localhost.evil.example"])
def test_state_changes_from_opaque_or_foreign_origins_are_refused(client: TestClient, origin: str) -> None:
    headers = {"Origin": origin}
    form = client.post("/add", data={"new_story": "x", "text": HARBOUR}, headers=headers,
                       follow_redirects=False)
    assert form.status_code == 403, form.text
    api = client.post("/api/briefings", json={"documents": [HARBOUR]}, headers=headers)
    assert api.status_code == 403 and "refused" in api.json()["error"]
    curation = client.post("/api/stories/1/merge", json={"into": 2}, headers=headers)
    assert curation.status_code == 403
    assert client.get("/api/stories").json() == [], "nothing was started"


def test_a_cross_site_fetch_without_origin_is_refused_and_same_origin_passes(client: TestClient) -> None:
    cross = client.post("/add", data={"new_story": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    same = client.post("/add", data={"new_story": "x"}, headers={"Origin": "http://localhost"})
    assert same.status_code == 400 and "nothing to add" in same.text  # past the origin rule


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.example", "10.0.0.5"])
def test_a_foreign_host_header_is_refused(client: TestClient, host: str) -> None:
    """A page whose name was rebound to 127.0.0.1 (DNS rebinding) still sends its own name."""
    for path in ("/api/stories", "/", "/add"):
        answer = client.get(path, headers={"Host": host})
        assert answer.status_code == 400, (path, answer.text)
        assert "--allowed-host" in answer.text
    posted = client.post("/api/briefings", json={"documents": [HARBOUR]}, headers={"Host": host})
    assert posted.status_code == 400


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."])
def test_loopback_names_are_allowed(client: TestClient, host: str) -> None:
    assert client.get("/api/stories", headers={"Host": host}).status_code == 200


def test_allowed_hosts_are_configurable(tmp_path: Path) -> None:
    with client_for(tmp_path / "hosts.db", hosts=["news.example", "2001:db8::7"]) as client:
        assert client.get("/api/stories", headers={"Host": "news.example:8443"}).status_code == 200
        assert client.get("/api/stories", headers={"Host": "[2001:db8::7]:80"}).status_code == 200
        assert client.get("/api/stories", headers={"Host": "other.example"}).status_code == 400
        assert client.get("/api/stories", headers={"Host": "localhost"}).status_code == 200
    with client_for(tmp_path / "any.db", hosts=["*"]) as client:
        assert client.get("/api/stories", headers={"Host": "anything.example"}).status_code == 200


def test_serve_takes_hosts_and_the_read_token_from_options_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from storyline.cli import _web_app, main

    assert "--allowed-host" in CliRunner().invoke(main, ["serve", "--help"]).output
    monkeypatch.setenv("STORYLINE_ALLOWED_HOSTS", "news.example, intra.example")
    monkeypatch.setenv("STORYLINE_READ_TOKEN", "r3ad")
    monkeypatch.setenv("STORYLINE_TOKEN", "wr1te")
    app = _web_app("192.168.1.20", ["extra.example"], str(tmp_path / "serve.db"), False)
    settings = app.state.settings
    assert {"news.example", "intra.example", "extra.example", "192.168.1.20", "localhost"} <= settings.hosts
    assert (settings.read_token, settings.token) == ("r3ad", "wr1te")
    with TestClient(app, base_url="http://news.example") as client:
        assert client.get("/api/stories").status_code == 401
        assert client.get("/api/stories", headers={"Authorization": "Bearer r3ad"}).status_code == 200


# --------------------------------------------------------------------------- headers


def test_every_page_forbids_framing(story_db: str) -> None:
    with client_for(story_db) as client:
        for path in ("/", "/add", "/search?q=harbour", "/stories/1", "/stories/1/manage",
                     "/stories/1/entities", "/sources/S1?story=1", "/docs", "/no/such/page",
                     "/api/stories", "/api/nothing"):
            answer = client.get(path)
            policy = answer.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in policy, (path, policy)
            assert answer.headers["x-content-type-options"] == "nosniff", path
        briefing = client.get("/stories/1")
        assert "script-src 'nonce-" in briefing.text, "the briefing keeps its own stricter policy"
        assert "default-src 'self'" in client.get("/add").headers["content-security-policy"]


# --------------------------------------------------------------------------- ids

OUT_OF_RANGE = [
    f"/api/stories/{HUGE}", f"/api/stories/{HUGE}/briefing", f"/api/search?q=a&story={HUGE}",
    f"/stories/{HUGE}", f"/stories/{HUGE}/manage", f"/stories/{HUGE}/entities",
    f"/search?q=a&story={HUGE}", f"/sources/S{HUGE}", f"/sources/S1?story={HUGE}",
    f"/sources/S1?start={HUGE}&end=1", f"/add?story={HUGE}", f"/stories/1/manage?to={HUGE}",
    "/stories/" + "9" * 5000,  # more digits than Python turns into an int by default
]


@pytest.mark.parametrize("path", OUT_OF_RANGE)
def test_ids_out_of_range_get_422_not_500(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 422, answer.text[:300]


def test_ids_out_of_range_in_bodies_get_422(client: TestClient, db_url: str) -> None:
    with open_store(db_url) as store:
        store.create_story("one")
    assert client.post(f"/api/stories/{HUGE}/merge", json={"into": 1}).status_code == 422
    assert client.post("/api/stories/1/merge", json={"into": int(HUGE)}).status_code == 422
    assert client.post("/api/stories/1/split", json={"documents": [f"S{HUGE}"], "name": "x"}).status_code == 422
    form = client.post("/add", data={"story": HUGE, "text": HARBOUR})
    assert form.status_code == 422
    assert client.get("/api/stories").status_code == 200


# --------------------------------------------------------------------------- the read token


def test_a_read_token_protects_reads(story_db: str) -> None:
    with client_for(story_db, read_token="r3ad", token="wr1te") as client:
        for path in ("/api/stories", "/api/stories/1/briefing", "/", "/stories/1", "/api/search?q=harbour"):
            answer = client.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == "Bearer"
        assert "token for reading" in client.get("/api/stories").json()["error"]
        assert client.get("/api/stories", headers={"Authorization": "Bearer guess"}).status_code == 401
        for token in ("r3ad", "wr1te"):  # the write token reads too
            assert client.get("/api/stories", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get("/static/app.css").status_code == 200, "the stylesheet of the 401 page"
        opened = client.get("/stories/1?token=r3ad&words=100", follow_redirects=False)
        assert (opened.status_code, opened.headers["location"]) == (303, "/stories/1?words=100")
        assert "httponly" in opened.headers["set-cookie"].lower()
        assert client.get("/").status_code == 200, "the cookie carries the token from then on"
        writes = client.post("/api/briefings", json={"documents": []})
        assert writes.status_code == 401, "reading is not writing"


# --------------------------------------------------------------------------- briefing lengths


def stored_lengths(db: str) -> list[int]:
    return sorted(row[0] for row in sql_rows(db, "SELECT words FROM briefings"))


def test_a_visitor_cannot_have_a_briefing_made_per_length(
    story_db: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = copy_database(story_db, request, tmp_path, "lengths")
    before = [words for words in stored_lengths(db) if words != 50]  # other tests' (250)
    with client_for(db, token="wr1te") as client:
        for words in (41, 47, 55):
            answer = client.get("/api/stories/1/briefing", params={"words": words})
            assert answer.status_code == 200 and answer.json()["words"] == 50
        page = client.get("/stories/1", params={"words": 58})
        assert page.status_code == 200
        assert stored_lengths(db) == sorted([*before, 50]), "one kept length, made once"
        owner = client.get("/api/stories/1/briefing", params={"words": 47},
                           headers={"Authorization": "Bearer wr1te"})
        assert owner.json()["words"] == 47, "a token holder gets the length asked for"
    assert stored_lengths(db) == sorted([*before, 47, 50])


# --------------------------------------------------------------------------- posted articles


def test_copies_are_folded_before_analysis(client: TestClient) -> None:
    copies = [HARBOUR] * 6 + [ORCHARD, HARBOUR + "\n"]
    answer = client.post("/api/briefings", json={"documents": copies, "words": 50})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [f["duplicate_of"] for f in body["folded"]] == ["S1"] * 6
    assert len(body["sources"]) == 8, "copies stay listed"


def test_more_text_than_one_request_may_analyse_is_refused(tmp_path: Path) -> None:
    limits = Limits(analysis_documents=2, analysis_chars=len(HARBOUR) + len(ORCHARD) + 10)
    with client_for(tmp_path / "size.db", limits=limits) as client:
        third = HARBOUR.replace("Thursday", "Friday").replace("cranes", "ferries") + " " + ORCHARD
        refused = client.post("/api/briefings", json={"documents": [HARBOUR, ORCHARD, third]})
        assert refused.status_code == 413
        assert "too much to analyse in one request" in refused.json()["error"]
        assert "storyline ingest" in refused.json()["error"]
        long_text = (f"{HARBOUR}\n\n{ORCHARD.replace('Monday', 'Tuesday')}\n\nThe cooperative will "
                     "meet again in the spring to plan new orchards on the eastern slope of the valley.")
        long = client.post("/api/briefings", json={"documents": [long_text]})
        assert long.status_code == 413 and "characters" in long.json()["error"]
        folded = client.post("/api/briefings", json={"documents": [HARBOUR] * 5 + [ORCHARD], "words": 50})
        assert folded.status_code == 200, "copies do not count against the limit"


@contextmanager
def served(db: Path, **options: Any) -> Iterator[tuple[str, Any]]:
    """The app over ``db`` served by uvicorn on a free port of 127.0.0.1 while the block runs."""
    app = create_app(str(db), **options)
    with uvicorn_serving(app) as address:
        yield address, app


def test_the_analysis_stops_when_the_client_leaves(tmp_path: Path) -> None:
    """The models are busy (the test holds their lock) while a client posts articles and leaves:
    once they are free, the abandoned request gives up instead of analysing for nobody."""
    import json

    body = json.dumps({"documents": [HARBOUR, ORCHARD], "words": 50}).encode()
    with served(tmp_path / "leave.db") as (address, app):
        host, port = address.split(":")
        with app.state.settings.analyst.exclusive():
            client = socket.create_connection((host, int(port)))
            client.sendall(b"POST /api/briefings HTTP/1.1\r\nHost: " + address.encode()
                           + b"\r\nContent-Type: application/json\r\nContent-Length: "
                           + str(len(body)).encode() + b"\r\n\r\n" + body)
            time.sleep(1.5)  # read and waiting for the models
            client.close()
            time.sleep(1.0)  # the server notices (it looks every quarter second)
        deadline = time.monotonic() + 30
        while app.state.analyses["abandoned"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.state.analyses == {"abandoned": 1, "finished": 0}


# --------------------------------------------------------------------------- the ingest queue


class Stalling:
    """An HTTP server on 127.0.0.2 (another host than 127.0.0.1) whose pages wait until
    ``release`` is set: a slow site."""

    def __init__(self) -> None:
        self.release = threading.Event()
        release = self.release

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                release.wait(JOB_SECONDS)
                body = f"<html><body><article><h1>Slow page</h1><p>{ORCHARD}</p></article></body></html>".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        try:
            self.server = ThreadingHTTPServer(("127.0.0.2", 0), Handler)
        except OSError:
            pytest.skip("127.0.0.2 cannot be bound here")
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stalling() -> Iterator[Stalling]:
    server = Stalling()
    yield server
    server.close()


def test_a_slow_host_does_not_hold_up_later_jobs(tmp_path: Path, stalling: Stalling) -> None:
    with client_for(tmp_path / "slow.db", allow_private=True) as client:
        slow = client.post("/add", data={"new_story": "Slow", "urls": stalling.url("/story")},
                           follow_redirects=False)
        assert slow.status_code == 303
        quick = client.post("/add", data={"new_story": "Quick", "text": HARBOUR}, follow_redirects=False)
        assert quick.status_code == 303
        job = wait_for_job(client, quick.headers["location"])
        assert (job["state"], job["added"]) == ("done", ["S1"])
        assert client.get("/api" + slow.headers["location"]).json()["state"] == "queued", "still fetching"
        stalling.release.set()
        slow_job = wait_for_job(client, slow.headers["location"])
        assert (slow_job["state"], slow_job["added"]) == ("done", ["S2"])


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path, stalling: Stalling) -> None:
    with client_for(tmp_path / "full.db", allow_private=True, bounds=Bounds(queued_jobs=1)) as client:
        first = client.post("/add", data={"new_story": "Slow", "urls": stalling.url("/a")},
                            follow_redirects=False)
        assert first.status_code == 303
        full = client.post("/add", data={"new_story": "Later", "text": HARBOUR}, follow_redirects=False)
        assert full.status_code == 503 and "try again" in full.text
        assert int(full.headers["retry-after"]) > 0
        stalling.release.set()
        wait_for_job(client, first.headers["location"])
        again = client.post("/add", data={"story": "Later", "text": HARBOUR}, follow_redirects=False)
        assert again.status_code == 303, "room again once the job is done"


# --------------------------------------------------------------------------- bad uploads


@pytest.mark.parametrize("bad", [
    ("junk.bin", bytes(range(256)) * 16),
    ("broken.jsonl", b'{"text": "unterminated\n'),
])
def test_a_bad_upload_beside_a_good_one_is_reported_and_the_good_one_kept(
    client: TestClient, bad: tuple[str, bytes]
) -> None:
    job = _upload_between_good_files(client, bad)
    assert job["added"] == ["S1", "S2"], "both good files stored"
    assert [error["origin"].split(":")[0] for error in job["errors"]] == [bad[0]]


def test_a_lone_surrogate_upload_is_repaired_and_stored_with_its_neighbours(client: TestClient) -> None:
    # As on the command line: the lone surrogate becomes U+FFFD and the record is kept.
    job = _upload_between_good_files(
        client, ("records.jsonl", b'{"text": "A lone surrogate \\ud800 in an otherwise ordinary record."}\n'))
    assert job["added"] == ["S1", "S2", "S3"] and not job["errors"]


def _upload_between_good_files(client: TestClient, bad: tuple[str, bytes]) -> dict[str, Any]:
    files = [("files", ("good.txt", HARBOUR.encode(), "text/plain")),
             ("files", (bad[0], bad[1], "application/octet-stream")),
             ("files", ("later.txt", ORCHARD.encode(), "text/plain"))]
    answer = client.post("/add", data={"new_story": "Uploads"}, files=files, follow_redirects=False)
    assert answer.status_code == 303
    job: dict[str, Any] = wait_for_job(client, answer.headers["location"])
    assert job["state"] == "done", job
    assert job["done"] == job["total"]
    return job


def test_the_host_pool_lets_other_hosts_pass_a_busy_one() -> None:
    from storyline.web.hostpool import HostPool, host_of

    pool = HostPool(workers=3, per_host=1)
    release = threading.Event()
    running: list[str] = []

    def task(name: str) -> str:
        running.append(name)
        if name.startswith("slow"):
            release.wait(10)
        return name

    first = pool.submit(host_of("http://Slow.example/a"), lambda: task("slow-1"))
    second = pool.submit(host_of("http://slow.example/b"), lambda: task("slow-2"))
    other = pool.submit(host_of("http://quick.example/"), lambda: task("quick"))
    assert other.result(timeout=10) == "quick"
    deadline = time.monotonic() + 10
    while "slow-1" not in running and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert sorted(running) == ["quick", "slow-1"], "the second task of the busy host waits its turn"
    release.set()
    assert (first.result(timeout=10), second.result(timeout=10)) == ("slow-1", "slow-2")
    pool.shutdown()


# --------------------------------------------------------------------------- rate limits


def test_rate_limits_are_off_by_default(tmp_path: Path) -> None:
    with client_for(tmp_path / "open.db") as client:
        assert all(client.get("/api/stories").status_code == 200 for _ in range(40))


def test_a_client_past_its_rate_gets_429_with_retry_after(tmp_path: Path) -> None:
    bounds = Bounds(reads_per_minute=5, writes_per_minute=2)
    with client_for(tmp_path / "rates.db", bounds=bounds) as client:
        answers = [client.get("/api/stories") for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert "5 reads a minute" in answers[-1].json()["error"]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        assert client.get("/static/app.css").status_code == 200, "static files are not counted"
        writes = [client.post("/api/briefings", json={}).status_code for _ in range(3)]
        assert writes[2] == 429 and 429 not in writes[:2], "writes have a bucket of their own"


def test_a_bucket_refills_at_the_steady_rate() -> None:
    from storyline.web.ratelimit import MAX_CLIENTS, RateLimit

    limit = RateLimit(60)  # one a second
    assert all(limit.wait_seconds("a", now=0.0) == 0 for _ in range(60))
    assert limit.wait_seconds("a", now=0.0) == 1
    assert limit.wait_seconds("b", now=0.0) == 0, "each client has its own bucket"
    assert limit.wait_seconds("a", now=1.0) == 0
    for number in range(MAX_CLIENTS + 5):
        limit.wait_seconds(f"client {number}", now=2.0)
    assert len(limit._buckets) == MAX_CLIENTS, "a crowd of addresses cannot grow memory"


def test_serve_takes_the_rate_limits(tmp_path: Path) -> None:
    from storyline.cli import _web_app

    app = _web_app("127.0.0.1", [], str(tmp_path / "serve-rates.db"), False, (7, 3))
    bounds = app.state.settings.bounds
    assert (bounds.reads_per_minute, bounds.writes_per_minute) == (7, 3)
