"""A story's sources corrected by hand, end to end on real SQLite and PostgreSQL databases (one
stored story per backend, copied for each test) with the real pipeline and models: a source removed from a story, a source's outlet, date or title corrected, from the
command line, the HTTP API and the web forms. The next briefing reflects it (the corrected date
moves the source's events in the timeline, the corrected outlet is cited), a correction outlives
ingesting the same source again, and bad requests say what is wrong and change nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from storyline.cli import main
from storyline.web import create_app
from tests.conftest import BACKENDS, copy_database, database_on, sql_rows

LOCAL = "http://localhost"
# Two invented articles (our own words). "On Tuesday" in the second resolves against its date.
COUNCIL = (
    "Millbrook council backs a ferry across the Wren\n\n"
    "The town council of Millbrook voted on Monday to pay for a ferry across the Wren river while "
    "the old stone bridge is repaired. Mayor Anna Berg said the ferry would carry foot passengers "
    "and bicycles from the first week of April.\n\n"
    "\"The river must not cut our town in two,\" Berg said after the vote."
)
HERON = (
    "Ferry company names its first boat\n\n"
    "On Tuesday, the Wren Ferry Company launched its first boat, the Heron, at the harbour of "
    "Millbrook. Its director, Tomas Vik, said the Heron would make forty crossings a day once the "
    "bridge closes.\n\n"
    "Shop owners on Mill Street welcomed the ferry but asked for a later last crossing."
)
RECORDS = [
    {"text": COUNCIL, "url": "https://wrenpost.example/council-ferry", "published": "2026-03-03",
     "outlet": "Wren Valley Post"},
    {"text": HERON, "url": "https://gazette.example/heron", "published": "2026-03-12",
     "outlet": "Harbour Gazette"},
]
STORY = "Wren ferry"
CORRECT_DATE, CORRECT_OUTLET = "2026-02-26", "Millbrook Harbour Gazette"  # a Thursday
HERON_TUESDAY = {"2026-03-12": "2026-03-10", "2026-02-26": "2026-02-24"}  # by publication date


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module", params=BACKENDS)
def stored(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The two articles (S1 the council, S2 the Heron) ingested into story 1, "Wren ferry";
    once per module on each backend."""
    folder = tmp_path_factory.mktemp("corrections")
    records = folder / "ferry.jsonl"
    records.write_text("".join(json.dumps(record) + "\n" for record in RECORDS), encoding="utf-8")
    db = database_on(request.param, request, folder, "ferry")
    result = invoke("ingest", str(records), "--db", db, "--story", STORY, "-q")
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def db(stored: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A copy of the stored story for one test to change (the articles in ``tmp_path``)."""
    (tmp_path / "ferry.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS), "utf-8")
    return copy_database(stored, request, tmp_path, "ferry")


# The bad requests below are refused before any write: they run on SQLite only (the other
# tests here change the stored story on both backends).
ON_SQLITE = pytest.mark.parametrize("stored", ["sqlite"], indirect=True)


def briefing(db: str, fmt: str = "json") -> Any:
    result = invoke("brief", "--db", db, "--story", STORY, "--format", fmt, "-q")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if fmt == "json" else result.stdout


def source(data: dict[str, Any], source_id: str) -> dict[str, Any]:
    return next(s for s in data["sources"] if s["id"] == source_id)


def dates_citing(data: dict[str, Any], source_id: str) -> list[str]:
    return [item["date"] for item in data["timeline"]
            if any(c["source"] == source_id for c in item["citations"])]


def assert_corrected(data: dict[str, Any]) -> None:
    heron = source(data, "S2")
    assert (heron["outlet"], heron["published"], heron["published_from"]) == (
        CORRECT_OUTLET, CORRECT_DATE, "corrected")
    assert HERON_TUESDAY[CORRECT_DATE] in dates_citing(data, "S2")
    assert HERON_TUESDAY["2026-03-12"] not in dates_citing(data, "S2")
    dated = [item["date"] for item in data["timeline"]]
    assert dated.index(HERON_TUESDAY[CORRECT_DATE]) < dated.index("2026-03-02"), "now before the vote"


# --------------------------------------------------------------------------- command line


def test_a_corrected_date_and_outlet_reach_the_next_briefing(db: str) -> None:
    before = briefing(db)  # made and cached before the correction
    assert source(before, "S2")["outlet"] == "Harbour Gazette"
    assert HERON_TUESDAY["2026-03-12"] in dates_citing(before, "S2")
    result = invoke("sources", "correct", "--db", db, "S2", "--date", CORRECT_DATE,
                    "--outlet", CORRECT_OUTLET)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"Corrected S2: outlet '{CORRECT_OUTLET}' (was 'Harbour Gazette'); published "
        f"'{CORRECT_DATE}' (was '2026-03-12').")
    after = briefing(db)
    assert_corrected(after)
    markdown = briefing(db, "md")
    assert f'"{CORRECT_OUTLET}, {CORRECT_DATE}: Ferry company names its first boat"' in markdown


def test_a_correction_stays_when_the_source_is_ingested_again(db: str, tmp_path: Path) -> None:
    assert invoke("sources", "correct", "--db", db, "S2", "--date", CORRECT_DATE,
                  "--outlet", CORRECT_OUTLET, "--title", "The Heron sails").exit_code == 0
    again = invoke("ingest", str(tmp_path / "ferry.jsonl"), "--db", db, "--story", STORY)
    assert again.exit_code == 0, again.output
    assert "0 new" in again.stdout or "already stored" in again.stdout
    data = briefing(db)
    assert_corrected(data)
    assert source(data, "S2")["title"] == "The Heron sails"


def test_a_removed_source_leaves_the_story_and_its_briefing(db: str) -> None:
    result = invoke("sources", "remove", "--db", db, "--story", STORY, "S1")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Removed S1 from story 1 ({STORY}): it holds 1 source."
    data = briefing(db)
    assert [s["id"] for s in data["sources"]] == ["S2"]
    docs = invoke("docs", "--db", db, "--format", "json")
    assert [d["id"] for d in json.loads(docs.stdout)] == ["S1", "S2"], "still stored"


@pytest.mark.parametrize(("args", "message"), [
    (("remove", "--story", STORY, "S1", "S2"), "cannot remove every source of story 1"),
    (("remove", "--story", "Nowhere", "S1"), "no story 'Nowhere'"),
    (("remove", "--story", STORY, "S9"), "no stored document 'S9'"),
    (("correct", "S9", "--title", "x"), "no stored document 'S9'"),
    (("correct", "S2", "--date", "2026-02-30"), "'2026-02-30' is not a date"),
    (("correct", "S2", "--date", "12 March 2026"), "give the day as YYYY-MM-DD"),
    (("correct", "S2", "--title", " "), "the title cannot be empty"),
    (("correct", "S2"), "nothing to correct"),
])
@ON_SQLITE
def test_bad_source_requests_exit_2_with_one_clear_line_and_change_nothing(
    db: str, args: tuple[str, ...], message: str,
) -> None:
    before = invoke("docs", "--db", db, "--format", "json").stdout
    stories = invoke("stories", "--db", db, "--format", "json").stdout
    result = invoke("sources", args[0], "--db", db, *args[1:])
    assert result.exit_code == 2 and message in result.output, result.output
    assert invoke("docs", "--db", db, "--format", "json").stdout == before
    assert invoke("stories", "--db", db, "--format", "json").stdout == stories


# --------------------------------------------------------------------------- the API


def test_the_api_corrects_and_removes_sources(db: str) -> None:
    with TestClient(create_app(db), base_url=LOCAL) as client:
        assert source(client.get("/api/stories/1/briefing").json(), "S2")["outlet"] == "Harbour Gazette"
        answer = client.post("/api/sources/S2/correct",
                             json={"published": CORRECT_DATE, "outlet": CORRECT_OUTLET})
        assert answer.status_code == 200, answer.text
        assert answer.json()["origin"].endswith("ferry.jsonl:2")
        assert {**answer.json(), "origin": None} == {
            "id": "S2", "origin": None, "url": "https://gazette.example/heron",
            "title": "Ferry company names its first boat", "outlet": CORRECT_OUTLET,
            "published": CORRECT_DATE, "published_from": "corrected", "country": None}
        assert_corrected(client.get("/api/stories/1/briefing", params={"wait": "true"}).json())
        removed = client.post("/api/stories/1/remove", json={"documents": ["S1"]})
        assert removed.status_code == 200, removed.text
        assert (removed.json()["id"], removed.json()["sources"]) == (1, 1)
        data = client.get("/api/stories/1/briefing", params={"wait": "true"}).json()
        assert [s["id"] for s in data["sources"]] == ["S2"]


@pytest.mark.parametrize(("path", "body", "status", "message"), [
    ("/api/sources/S9/correct", {"title": "x"}, 404, "no stored document 'S9'"),
    ("/api/sources/S2/correct", {"published": "2026-13-01"}, 422, "is not a date"),
    ("/api/sources/S2/correct", {}, 422, "nothing to correct"),
    ("/api/sources/S2/correct", {"outlet": "  "}, 422, "the outlet cannot be empty"),
    ("/api/sources/S2/correct", {"date": "2026-02-26"}, 422, "date"),
    ("/api/stories/1/remove", {"documents": ["S1", "S2"]}, 422, "cannot remove every source"),
    ("/api/stories/7/remove", {"documents": ["S1"]}, 404, "no story"),
    ("/api/stories/1/remove", {"documents": ["S9"]}, 404, "no stored document 'S9'"),
    ("/api/stories/1/remove", {"documents": []}, 400, "nothing to remove"),
])
@ON_SQLITE
def test_bad_api_requests_get_one_clear_error_and_change_nothing(
    db: str, path: str, body: dict[str, Any], status: int, message: str,
) -> None:
    with TestClient(create_app(db), base_url=LOCAL) as client:
        before = client.get("/api/stories/1").json()
        answer = client.post(path, json=body)
        assert answer.status_code == status, answer.text
        assert set(answer.json()) == {"error"} and message in answer.json()["error"]
        assert client.get("/api/stories/1").json() == before
    docs = invoke("docs", "--db", db, "--format", "json")
    assert [(d["outlet"], d["published"]) for d in json.loads(docs.stdout)] == [
        ("Wren Valley Post", "2026-03-03"), ("Harbour Gazette", "2026-03-12")]


def test_source_writes_need_the_token_and_the_page_itself(db: str) -> None:
    with TestClient(create_app(db, token="s3cret"), base_url=LOCAL) as client:
        assert client.post("/api/sources/S2/correct", json={"title": "x"}).status_code == 401
        assert client.post("/api/stories/1/remove", json={"documents": ["S1"]}).status_code == 401
        form = client.post("/sources/S2/correct", data={"title": "x"})
        assert form.status_code == 401
        elsewhere = client.post("/sources/S2/correct", data={"title": "x", "token": "s3cret"},
                                headers={"Origin": "https://elsewhere.example"})
        assert elsewhere.status_code == 403
        assert client.get("/api/stories/1").json()["sources"] == 2


# --------------------------------------------------------------------------- the web forms


def test_the_web_forms_correct_and_remove_sources(db: str) -> None:
    with TestClient(create_app(db), base_url=LOCAL, follow_redirects=False) as client:
        form = client.get("/sources/S2/correct?story=1")
        assert form.status_code == 200 and 'value="Harbour Gazette"' in form.text
        assert 'value="2026-03-12"' in form.text
        sent = client.post("/sources/S2/correct", data={
            "story": "1", "outlet": CORRECT_OUTLET, "date": CORRECT_DATE,
            "title": "Ferry company names its first boat"})  # the title as it was: not a correction
        assert sent.status_code == 303 and sent.headers["location"] == "/sources/S2?story=1&corrected=1"
        shown = client.get(sent.headers["location"]).text
        assert "Corrected." in shown and CORRECT_OUTLET in shown
        assert CORRECT_OUTLET in client.get("/stories/1").text
        assert_corrected(client.get("/api/stories/1/briefing", params={"wait": "true"}).json())
        bad = client.post("/sources/S2/correct", data={"story": "1", "date": "2026-02-31"})
        assert bad.status_code == 422 and "is not a date" in bad.text
        assert "manage?removed=1" in client.post("/stories/1/remove", data={"documents": ["S1"]}
                                                 ).headers["location"]
        assert "Removed 1 source from this story" in client.get("/stories/1/manage?removed=1").text
        last = client.post("/stories/1/remove", data={"documents": ["S2"]})
        assert last.status_code == 422 and "cannot remove the last source of story 1" in last.text
        assert client.get("/api/stories/1").json()["sources"] == 1


def test_a_month_date_left_alone_in_the_form_is_not_a_correction(db: str) -> None:
    sql_rows(db, "UPDATE documents SET published = '2026-03' WHERE seq = 1")  # dated to its month only
    with TestClient(create_app(db), base_url=LOCAL, follow_redirects=False) as client:
        form = client.get("/sources/S1/correct").text
        assert 'name="date" value=""' in form and "Stored as 2026-03 (no day)" in form
        sent = client.post("/sources/S1/correct", data={
            "outlet": "Wren Valley Post", "date": "", "title": "The council backs a ferry"})
        assert sent.status_code == 303, sent.text
        corrected = client.get("/api/stories/1/briefing").json()
    council = source(corrected, "S1")
    assert (council["title"], council["published"]) == ("The council backs a ferry", "2026-03")
