"""The HTTP API in process (Starlette's TestClient over the ASGI app): every endpoint of CONTRACT.md
"HTTP API", its bad requests (each a 4xx with a one-line JSON message, after which the server still
answers), the size limits, the token rule and the cached story briefing. Real SQLite files, the
real pipeline and models, a real HTTP server on 127.0.0.1 for URL fetches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from storyline.briefing import Briefing
from storyline.cli import main
from storyline.errors import UsageError
from storyline.outlets import Outlet
from storyline.pipeline.documents import ingest
from storyline.store.sqlite import FTS_ROWS_PER_DOCUMENT, MIGRATIONS, SQLiteStore
from storyline.store import open_store
from storyline.web import Limits, create_app, is_loopback

from tests.conftest import BACKENDS, copy_database, database_on

LOCAL = "http://localhost"  # a Host the app answers to (its allow-list: loopback names)

# Invented articles (our own words) about one invented story.
BRIDGE = (
    "Millbrook council votes to close the Wren bridge\n\n"
    "The town council of Millbrook voted on Tuesday to close the old stone bridge over the Wren "
    "river for repairs. Mayor Anna Berg said the work would take two years and cost 4 million "
    "crowns.\n\n"
    "\"We have no other choice, the arches are crumbling,\" Berg told reporters after the vote. "
    "Shop owners on Mill Street fear that the detour will keep customers away."
)
BRIDGE_FOLLOW_UP = (
    "Traders protest bridge closure in Millbrook\n\n"
    "About two hundred traders marched to the town hall of Millbrook on Friday to protest against "
    "the closure of the Wren bridge. Their association said sales had already fallen by a fifth.\n\n"
    "Mayor Anna Berg promised a free shuttle bus across the river while the repairs last. The "
    "engineers expect the bridge to reopen in the spring of 2027."
)
FERRY = (
    "New ferry line for Millbrook\n\n"
    "A private company will run a small ferry across the Wren river from next month, the harbour "
    "office of Millbrook announced on Monday. The ferry will carry foot passengers and bicycles "
    "while the bridge is closed."
)


def client_for(db: Path | str, **options: Any) -> TestClient:
    return TestClient(create_app(str(db), **options), base_url=LOCAL)


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    """The app over a new database, on each backend (``conftest.db_url``)."""
    with client_for(db_url) as test_client:
        yield test_client


def write_articles(folder: Path, texts: dict[str, str]) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = folder / f"{name}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module", params=BACKENDS)
def story_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding one story of two annotated articles (ids S1, S2) and a third article
    outside any story (S3); one per module on each backend, so tests that change it work on a
    copy (``copy_db``)."""
    folder = tmp_path_factory.mktemp("story")
    db = database_on(request.param, request, folder, "story")
    with open_store(db) as store:
        report = ingest(write_articles(folder / "in", {"a": BRIDGE, "b": BRIDGE_FOLLOW_UP}), store)
        story = store.create_story("Wren bridge")
        store.add_to_story(story.id, report.new)
        ingest(write_articles(folder / "other", {"c": FERRY}), store)
    return db


@pytest.fixture
def copy_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str, str], str]:
    """``copy_db(db, name)``: a copy of ``db`` for one test to change, on its backend."""
    return lambda source, name: copy_database(source, request, tmp_path, name)


def assert_error(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"].strip()
    for word in words:
        assert word in body["error"], body["error"]
    return str(body["error"])


# --------------------------------------------------------------------------- POST /api/briefings


def test_briefing_of_texts_and_document_objects(client: TestClient) -> None:
    html = f"<html><body><article><h1>Bridge closure</h1><p>{BRIDGE_FOLLOW_UP}</p></article></body></html>"
    answer = client.post("/api/briefings", json={
        "documents": [BRIDGE, {"html": html, "outlet": "Wren Valley Post", "published": "2026-03-06",
                               "url": "https://wren.example/closure", "authors": ["Ida Holm"]}],
        "words": 60,
    })
    assert answer.status_code == 200, answer.text
    briefing = Briefing.model_validate(answer.json())  # the contract's schema, citations in range
    assert answer.json()["schema"] == "storyline.briefing/1"
    assert [s.id for s in briefing.sources] == ["S1", "S2"]
    second = briefing.sources[1]
    assert (second.outlet, second.published, second.url) == (
        "Wren Valley Post", "2026-03-06", "https://wren.example/closure")
    assert briefing.summary and all(s.citations for s in briefing.summary)
    assert "errors" not in answer.json()


def test_the_databases_own_outlets_name_the_sources(db_url: str) -> None:
    db = db_url
    with open_store(db) as store:
        store.add_outlet(Outlet("Wren Valley Post", domains=("wren.example",), country="Aldmark",
                                ownership="private"))
    with client_for(db) as client:
        answer = client.post("/api/briefings", json={
            "documents": [{"text": BRIDGE, "url": "https://news.wren.example/bridge"}], "words": 40})
    assert answer.status_code == 200, answer.text
    source = answer.json()["sources"][0]
    assert (source["outlet"], source["country"], source["ownership"]) == (
        "Wren Valley Post", "Aldmark", "private")


def test_briefing_fetches_urls_and_lists_the_ones_that_failed(tmp_path: Path, news_server: Any) -> None:
    with client_for(tmp_path / "urls.db", allow_private=True) as client:
        answer = client.post("/api/briefings", json={
            "documents": [BRIDGE], "urls": [news_server.url("/article"), news_server.url("/missing")]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["url"] for s in body["sources"]] == [None, news_server.url("/article")]
    assert body["errors"] == [{"origin": news_server.url("/missing"), "error": "HTTP 404 Not Found"}]


def test_private_addresses_are_refused_unless_allowed(client: TestClient, news_server: Any) -> None:
    before = len(news_server.requests)
    answer = client.post("/api/briefings", json={"urls": [news_server.url("/article")]})
    message = assert_error(answer, 422, "no usable article", "refused")
    assert "127.0.0.1" in message
    assert len(news_server.requests) == before, "refused before any connection"


BAD_BODIES = [
    (None, 422, "body is empty"),
    ("", 422, "body is empty"),
    ("{", 422, "not valid JSON"),
    ("[]", 422, "JSON object"),
    ('"just a string"', 422, "JSON object"),
    ("{}", 400, "nothing to brief"),
    ('{"documents": []}', 400, "nothing to brief"),
    ('{"documents": "one text"}', 422, "documents"),
    ('{"documents": [42]}', 422, "documents.0"),
    ('{"documents": [{"title": "no body"}]}', 422, '"text" or as "html"'),
    ('{"documents": [{"text": "a", "html": "<p>b</p>"}]}', 422, "exactly one"),
    ('{"documents": [{"text": "a", "authors": "Ann"}]}', 422, "documents.0.authors"),
    ('{"documents": ["text"], "words": "many"}', 422, "words"),
    ('{"documents": ["text"], "words": 5}', 422, "words"),
    ('{"documents": ["text"], "urls": [7]}', 422, "urls.0"),
    ('{"documents": ["text"], "language": "en"}', 422, "language"),
    ('{"documents": ["   "]}', 422, "empty input"),
    ('{"urls": ["ftp://example.org/a"]}', 422, "no usable article"),
]


@pytest.mark.parametrize(("body", "status", "words"), BAD_BODIES)
def test_bad_bodies_get_a_clear_json_error_and_the_server_goes_on(
    client: TestClient, body: str | None, status: int, words: str
) -> None:
    answer = client.post("/api/briefings", content=body, headers={"Content-Type": "application/json"})
    assert_error(answer, status, words)
    assert client.get("/api/stories").status_code == 200


def test_oversized_bodies_are_refused_with_413(db_url: str) -> None:
    limits = Limits(json_body=2000, form_body=4000, file=1000, documents=3, urls=2)
    with client_for(db_url, limits=limits) as client:
        declared = client.post("/api/briefings", json={"documents": ["word " * 1000]})
        assert_error(declared, 413, "too large", "limit")

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            yield b'{"documents": ["'
            for _ in range(100):
                yield b"word " * 10
            yield b'"]}'

        streamed = client.post("/api/briefings", content=chunks(), headers={"Content-Type": "application/json"})
        assert_error(streamed, 413, "too large")
        assert_error(client.post("/api/briefings", json={"documents": ["a", "b", "c", "d"]}), 413, "at most 3")
        assert_error(client.post("/api/briefings", json={"urls": ["http://a.example/"] * 3}), 413, "at most 2")
        upload = client.post("/add", data={"new_story": "big"},
                             files={"files": ("big.txt", b"word " * 300, "text/plain")})
        assert upload.status_code == 413 and "per file" in upload.text
        assert client.get("/api/stories").json() == [], "nothing is started for a refused upload"


# --------------------------------------------------------------------------- the token


def test_a_public_server_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="STORYLINE_TOKEN"):
        create_app(str(tmp_path / "public.db"), public=True)
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--db", str(tmp_path / "s.db")],
                                env={"STORYLINE_TOKEN": ""})
    assert result.exit_code == 2
    assert "STORYLINE_TOKEN" in result.output and "non-loopback" in result.output


def test_writes_need_the_token_reads_do_not(tmp_path: Path) -> None:
    with client_for(tmp_path / "token.db", token="s3cret", public=True) as client:
        missing = client.post("/api/briefings", json={"documents": []})
        assert_error(missing, 401, "Authorization: Bearer")
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.post("/api/briefings", json={"documents": []},
                            headers={"Authorization": "Bearer guess"})
        assert_error(wrong, 401, "wrong token")
        right = client.post("/api/briefings", json={"documents": []},
                            headers={"Authorization": "Bearer s3cret"})
        assert_error(right, 400, "nothing to brief")  # past the token check
        form = client.post("/add", data={"new_story": "x", "text": BRIDGE})
        assert form.status_code == 401
        assert client.get("/api/stories").status_code == 200
        assert client.get("/api/search", params={"q": "bridge"}).status_code == 200


# --------------------------------------------------------------------------- stories


def test_stories_list(story_db: str) -> None:
    with client_for(story_db) as client:
        answer = client.get("/api/stories")
    assert answer.status_code == 200
    (story,) = answer.json()
    assert {"id", "title", "sources", "period", "updated_at"} <= set(story)
    assert (story["name"], story["sources"]) == ("Wren bridge", 2)
    assert set(story["period"]) == {"start", "end"}


def test_story_briefing_is_made_once_and_remade_when_the_story_changes(story_db: str, copy_db: Callable[[str, str], str]) -> None:
    db = copy_db(story_db, "copy")  # this test adds a document: work on a copy
    with client_for(db) as client:
        first = client.get("/api/stories/1/briefing")
        assert first.status_code == 200, first.text
        briefing = Briefing.model_validate(first.json())
        assert [s.id for s in briefing.sources] == ["S1", "S2"]
        again = client.get("/api/stories/Wren bridge/briefing")  # by name too
        assert again.json()["generated_at"] == first.json()["generated_at"], "served from the cache"
        assert client.get("/api/stories").json()[0]["title"] == briefing.title
        with open_store(db) as store:
            store.add_to_story(1, ["S3"])
        with client.app.state.settings.analyst.exclusive():  # the analysis is busy elsewhere
            meanwhile = client.get("/api/stories/1/briefing")  # answered at once, not waiting
        assert meanwhile.headers["Storyline-Briefing"] == "updating"
        assert meanwhile.json()["generated_at"] == first.json()["generated_at"]
        changed = client.get("/api/stories/1/briefing", params={"wait": "true"})
        assert "Storyline-Briefing" not in changed.headers
        assert [s["id"] for s in changed.json()["sources"]] == ["S1", "S2", "S3"]
        shorter = client.get("/api/stories/1/briefing", params={"words": 40})
        assert shorter.status_code == 200 and shorter.json()["words"] == 50  # the nearest kept length


def test_unknown_and_empty_stories(client: TestClient, db_url: str) -> None:
    assert_error(client.get("/api/stories/99/briefing"), 404, "no story")
    assert_error(client.get("/api/stories/nothing-here/briefing"), 404, "no story")
    assert_error(client.get("/api/stories/1/briefing", params={"words": "x"}), 422, "words")
    with open_store(db_url) as store:
        store.create_story("empty")
    assert_error(client.get("/api/stories/empty/briefing"), 404, "no documents")


# --------------------------------------------------------------------------- search


def test_search_finds_sentences_with_their_offsets(story_db: str) -> None:
    with client_for(story_db) as client:
        hits = client.get("/api/search", params={"q": "traders"}).json()
        with open_store(story_db) as store:
            texts = {d.id: d.text for d in store.iter_documents()}
        assert hits and all(set(hit) == {"source", "story", "start", "end", "text"} for hit in hits)
        for hit in hits:
            assert texts[hit["source"]][hit["start"]:hit["end"]] == hit["text"]
            assert "trader" in hit["text"].lower()  # porter stemming: "traders" finds "traders"
        ferry = client.get("/api/search", params={"q": "ferry bicycles"}).json()
        assert [(h["source"], h["story"]) for h in ferry] == [("S3", None)]
        in_story = client.get("/api/search", params={"q": "ferry", "story": 1}).json()
        assert in_story == []
        phrase = client.get("/api/search", params={"q": '"free shuttle bus"'}).json()
        assert len(phrase) == 1 and "free shuttle bus" in phrase[0]["text"]


def test_search_page_marks_the_matched_words(story_db: str) -> None:
    with client_for(story_db) as client:
        page = client.get("/search", params={"q": "shuttle bus"}).text
        (hit,) = client.get("/api/search", params={"q": "shuttle bus"}).json()
    assert "<mark>shuttle</mark> <mark>bus</mark>" in page
    before = hit["text"][: hit["text"].index("shuttle")]
    assert f"{before}<mark>shuttle</mark>" in page.replace("&quot;", '"').replace("&#x27;", "'")


@pytest.mark.parametrize("query", ['"unbalanced', "bridge AND (", "NEAR(a b", "*", "col:umn", "^x"])
def test_search_takes_query_syntax_literally(story_db: str, query: str) -> None:
    with client_for(story_db) as client:
        answer = client.get("/api/search", params={"q": query})
    assert answer.status_code == 200 and isinstance(answer.json(), list)


def test_search_bad_requests(client: TestClient) -> None:
    assert_error(client.get("/api/search"), 422, "q")
    assert_error(client.get("/api/search", params={"q": "  "}), 400, "q is empty")
    assert_error(client.get("/api/search", params={"q": "a", "limit": 0}), 422, "limit")


# SQLite only: it rewinds SQLite's own migrations and full-text table (PostgreSQL's migrations
# and backfill are tested in test_store.py).
@pytest.mark.parametrize("story_db", ["sqlite"], indirect=True)
def test_search_index_is_backfilled_for_older_stores(story_db: str, copy_db: Callable[[str, str], str]) -> None:
    db = copy_db(story_db, "old")
    (backfill,) = [m for m in MIGRATIONS if m.run is not None]
    with SQLiteStore(db) as store:  # as a store annotated before sentence search existed
        store._conn.execute("DELETE FROM sentences_fts")
        assert store.search("bridge") == []
        store._conn.execute("DELETE FROM schema_migrations WHERE version >= ?", (backfill.version,))
        store._conn.execute(f"PRAGMA user_version = {backfill.version - 1}")
        _undo_story_detection_schema(store._conn)  # migration 6 runs again on opening
    with client_for(db) as client:  # opening migrates: the index is filled once
        assert client.get("/api/search", params={"q": "bridge"}).json()
    with SQLiteStore(db) as store:
        rows = store._conn.execute("SELECT min(rowid), count(*) FROM sentences_fts").fetchone()
        assert rows[0] >= FTS_ROWS_PER_DOCUMENT and rows[1] > 5
        version = store._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
        assert version == MIGRATIONS[-1].version


def _undo_story_detection_schema(conn: Any) -> None:
    conn.execute("DROP INDEX stories_storyline")
    for column in ("kind", "storyline", "merged_into", "briefed_at"):
        conn.execute(f"ALTER TABLE stories DROP COLUMN {column}")
    for table in ("storylines", "story_features", "story_profiles", "story_vocabulary"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TABLE document_corrections")  # migration 7 runs again too
    for table in ("watch_items", "watch_sources", "story_updates", "alerts"):  # and 8
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TABLE sentence_vectors")  # and 9


# --------------------------------------------------------------------------- the rest


def test_openapi_documentation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/briefings", "/api/stories", "/api/stories/{story_id}/briefing", "/api/search"} <= set(
        spec["paths"])
    page = client.get("/docs")
    assert page.status_code == 200 and "POST /api/briefings" in page.text
    assert "cdn" not in page.text.lower() and "<script src=\"http" not in page.text


def test_api_page_shows_inline_code_without_backticks(client: TestClient) -> None:
    import re

    page = client.get("/docs").text
    prose = re.sub(r"<pre>.*?</pre>", "", page, flags=re.S)  # the schemas' JSON is shown as is
    assert "`" not in prose
    assert "<code>errors</code>" in prose and "<code>merged_into</code>" in prose


def test_the_icon_is_served_as_an_icon(client: TestClient) -> None:
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico.headers["content-type"] == "image/vnd.microsoft.icon"
    assert ico.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in ico.content[:40]
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text


def test_home_page_heads_a_named_story_with_the_name_its_user_gave(story_db: str, copy_db: Callable[[str, str], str]) -> None:
    db = copy_db(story_db, "titled")
    with open_store(db) as store:
        story = store.story("Wren bridge")
        assert story is not None
        store.save_briefing(story.id, 250, "stale", "{}", title="Council closes the old bridge")
    with client_for(db) as client:
        page = client.get("/").text
    assert page.index(">Wren bridge</a>") < page.index("Council closes the old bridge")


def test_unknown_endpoints_and_methods(client: TestClient) -> None:
    assert_error(client.get("/api/nothing"), 404, "GET /api/nothing")
    assert_error(client.delete("/api/stories"), 405, "DELETE /api/stories")
    assert_error(client.get("/api/jobs/j999"), 404, "no job")
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]


def wait_for_job(client: TestClient, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get("/api" + location).json()
        if job["state"] in {"done", "failed"}:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {location} did not finish")


def test_an_uploaded_export_adds_one_article_per_record(client: TestClient) -> None:
    records = [{"text": BRIDGE, "outlet": "Wren Valley Post", "published": "2026-03-03"},
               {"text": FERRY, "url": "https://harbour.example/ferry"}, {"title": "no body"}]
    export = "".join(json.dumps(record) + "\n" for record in records).encode()
    answer = client.post("/add", data={"new_story": "Exports"}, follow_redirects=False,
                         files={"files": ("export.jsonl", export, "application/octet-stream")})
    assert answer.status_code == 303
    job = wait_for_job(client, answer.headers["location"])
    assert (job["state"], job["total"], job["done"], job["added"]) == ("done", 3, 3, ["S1", "S2"])
    assert [e["origin"] for e in job["errors"]] == ["export.jsonl:3"]
    story = client.get("/api/stories").json()[0]
    assert (story["name"], story["sources"], story["period"]["start"]) == ("Exports", 2, "2026-03-03")
    sources = client.get("/api/stories/Exports/briefing").json()["sources"]
    assert [s["origin"] for s in sources] == ["export.jsonl:1", "export.jsonl:2"]
    assert sources[1]["url"] == "https://harbour.example/ferry"


def test_form_posts_from_other_sites_are_refused(client: TestClient) -> None:
    answer = client.post("/add", data={"new_story": "x", "text": BRIDGE},
                         headers={"Origin": "https://elsewhere.example"})
    assert answer.status_code == 403
    assert client.get("/api/stories").json() == []


def test_form_without_a_story_or_articles_says_what_is_missing(client: TestClient) -> None:
    no_story = client.post("/add", data={"text": BRIDGE})
    assert no_story.status_code == 400 and "choose a story or name a new one" in no_story.text
    nothing = client.post("/add", data={"new_story": "x"})
    assert nothing.status_code == 400 and "nothing to add" in nothing.text


def test_api_answers_are_json_with_utf8(client: TestClient) -> None:
    answer = client.get("/api/search", params={"q": "Березовка"})
    assert answer.status_code == 200 and json.loads(answer.content) == []


# --------------------------------------------------------------------------- curation


@pytest.fixture
def curation_db(tmp_path: Path, db_url: str) -> str:
    """Story 1 "Wren bridge" holding S1, S2 (the bridge) and S3 (the ferry), stored without
    annotations (curation never needs them); on each backend."""
    db = db_url
    with open_store(db) as store:
        paths = write_articles(tmp_path / "in", {"a": BRIDGE, "b": BRIDGE_FOLLOW_UP, "c": FERRY})
        report = ingest(paths, store, annotate=False)
        store.add_to_story(store.create_story("Wren bridge").id, report.new)
    return db


def test_split_move_and_merge_through_the_api(curation_db: str) -> None:
    with client_for(curation_db) as client:
        split = client.post("/api/stories/1/split", json={"documents": ["S3"], "name": "Ferry"})
        assert split.status_code == 201, split.text
        assert {k: split.json()[k] for k in ("id", "name", "kind", "sources", "merged_into")} == {
            "id": 2, "name": "Ferry", "kind": "named", "sources": 1, "merged_into": None}
        moved = client.post("/api/stories/Wren bridge/move", json={"documents": ["S2"], "to": 2})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["joined"], moved.json()["from"]["sources"], moved.json()["to"]["sources"]) == (1, 1, 2)
        merged = client.post("/api/stories/2/merge", json={"into": "Wren bridge"})
        assert merged.status_code == 200, merged.text
        assert (merged.json()["id"], merged.json()["sources"]) == (1, 3)
        [story] = client.get("/api/stories").json()
        assert (story["id"], story["kind"], story["storyline"], story["countries"]) == (1, "named", None, [])
        assert client.get("/api/stories/2").json()["merged_into"] == 1  # the pointer
        briefing = client.get("/api/stories/2/briefing", params={"words": 40}, follow_redirects=False)
        assert (briefing.status_code, briefing.headers["location"]) == (303, "/api/stories/1/briefing?words=40")
        page = client.get("/stories/2", follow_redirects=False)
        assert (page.status_code, page.headers["location"]) == (303, "/stories/1")


def test_curation_requests_that_cannot_be_done_get_clear_4xx(curation_db: str) -> None:
    with client_for(curation_db) as client:
        assert client.post("/api/stories/1/split", json={"documents": ["S3"], "name": "Ferry"}).status_code == 201
        assert client.post("/api/stories/2/merge", json={"into": 1}).status_code == 200
        assert_error(client.post("/api/stories/2/merge", json={"into": 1}), 409,
                     "story 2 was already merged into 1")
        assert_error(client.post("/api/stories/1/move", json={"documents": ["S1"], "to": 2}), 409,
                     "story 2 was already merged into 1")
        assert_error(client.post("/api/stories/1/merge", json={"into": 1}), 400, "into itself")
        assert_error(client.post("/api/stories/9/merge", json={"into": 1}), 404, "no story '9'")
        assert_error(client.post("/api/stories/1/split", json={"documents": [], "name": "x"}), 400,
                     "a split needs documents")
        assert_error(client.post("/api/stories/1/split", json={"documents": ["S1", "S2", "S3"], "name": "x"}),
                     400, "must leave documents in story 1")
        assert_error(client.post("/api/stories/1/split", json={"documents": ["S8"], "name": "x"}), 404,
                     "no stored document 'S8'")
        assert_error(client.post("/api/stories/1/move", json={"documents": ["S1"]}), 422, "to")
        assert_error(client.post("/api/stories/1/merge", json={"into": 2, "also": 1}), 422, "also")
        assert [s["sources"] for s in client.get("/api/stories").json()] == [3]  # nothing lost


def test_curation_writes_follow_the_token_rule(curation_db: str) -> None:
    with client_for(curation_db, token="s3cret", public=True) as client:
        body = {"documents": ["S3"], "name": "Ferry"}
        assert_error(client.post("/api/stories/1/split", json=body), 401, "Authorization: Bearer")
        assert_error(client.post("/api/stories/1/split", json=body, headers={"Authorization": "Bearer no"}),
                     401, "wrong token")
        assert client.get("/api/stories").json()[0]["sources"] == 3
        assert client.post("/stories/1/split", data={"documents": "S3", "name": "Ferry"}).status_code == 401
        assert client.post("/stories/1/split", data={"documents": "S3", "name": "Ferry", "token": "s3cret"},
                           headers={"Origin": "https://elsewhere.example"}).status_code == 403
        form = client.post("/stories/1/split", data={"documents": "S3", "name": "Ferry", "token": "s3cret"},
                           follow_redirects=False)
        assert (form.status_code, form.headers["location"]) == (303, "/stories/2")
        answer = client.post("/api/stories/2/merge", json={"into": 1}, headers={"Authorization": "Bearer s3cret"})
        assert answer.status_code == 200, answer.text


def test_the_manage_page_moves_splits_and_merges(curation_db: str) -> None:
    with client_for(curation_db) as client:
        page = client.get("/stories/1/manage")
        assert page.status_code == 200
        assert page.text.count('name="documents"') == 3 and 'name="into"' not in page.text  # no other story
        split = client.post("/stories/1/split", data={"documents": ["S2", "S3"], "name": "Ferry"},
                            follow_redirects=False)
        assert (split.status_code, split.headers["location"]) == (303, "/stories/2")
        moved = client.post("/stories/2/move", data={"documents": ["S2"], "to": "1"})
        assert moved.status_code == 200 and "Moved 1 document to Wren bridge." in moved.text
        refused = client.post("/stories/2/split", data={"documents": "S3", "name": "All of it"})
        assert refused.status_code == 400 and "must leave documents in story 2" in refused.text
        no_target = client.post("/stories/2/merge", data={})
        assert no_target.status_code == 400 and "choose the story to merge this one into" in no_target.text
        merged = client.post("/stories/2/merge", data={"into": "1"}, follow_redirects=False)
        assert (merged.status_code, merged.headers["location"]) == (303, "/stories/1")
        again = client.post("/stories/2/merge", data={"into": "1"})
        assert again.status_code == 409 and "story 2 was already merged into 1" in again.text
        assert client.get("/stories/2/manage", follow_redirects=False).headers["location"] == "/stories/1/manage"
        assert [s["sources"] for s in client.get("/api/stories").json()] == [3]


def test_the_home_page_groups_stories_by_storyline(curation_db: str) -> None:
    with open_store(curation_db) as store:
        ferry = store.split_story(1, ["S3"], "Ferry line")
        store.set_storyline(ferry.id, store.create_storyline("Crossing the Wren"))
        store.create_story("Found later", kind="found")
    with client_for(curation_db) as client:
        html = client.get("/").text
        assert html.index("<h2>Crossing the Wren</h2>") < html.index("Ferry line") < html.index(
            "<h2>Other stories</h2>") < html.index("Wren bridge")
        assert "found</span>" in html
        stories = {s["name"]: s for s in client.get("/api/stories").json()}
    assert stories["Ferry line"]["storyline"] == {"id": 1, "title": "Crossing the Wren"}
    assert (stories["Found later"]["kind"], stories["Wren bridge"]["storyline"]) == ("found", None)


def test_the_stories_list_follows_writes_of_other_connections(story_db: str, copy_db: Callable[[str, str], str]) -> None:
    db = copy_db(story_db, "listed")
    with client_for(db) as client:
        assert [s["name"] for s in client.get("/api/stories").json()] == ["Wren bridge"]
        with open_store(db) as store:
            store.create_story("Ferry timetable")
            store.add_to_story(2, ["S3"])
        names = [s["name"] for s in client.get("/api/stories").json()]
        assert sorted(names) == ["Ferry timetable", "Wren bridge"]
