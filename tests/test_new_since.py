"""What is new in a stored story: `brief --db --story --since DATE|last` on real SQLite and
PostgreSQL stores (``conftest.db_url``), and the web page's "new since your last visit" cookie. Invented coverage of a ferry story."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from starlette.testclient import TestClient

from storyline.cli import main
from storyline.store import open_store
from storyline.web import create_app

LOCAL = "http://localhost"  # a Host the app answers to (its allow-list: loopback names)

FIRST = [
    {"url": "https://example.org/ferry-1", "title": "Ferry Lindholm runs aground off Skarvik",
     "published": "2024-06-03",
     "text": "The ferry Lindholm ran aground on a sandbank off Skarvik on Sunday evening with 140 "
             "passengers on board.\n\nAll passengers were taken ashore by lifeboats before midnight, "
             "the coast guard said.\n\nThe ferry company expects the ship to be towed off the sandbank "
             "within days."},
    {"url": "https://example.org/ferry-2", "title": "Skarvik ferry stuck on sandbank",
     "published": "2024-06-04",
     "text": "Lifeboats brought 140 passengers ashore after the ferry Lindholm struck a sandbank "
             "near Skarvik on Sunday.\n\nThe coast guard said nobody was injured in the grounding."},
]
SECOND = [
    {"url": "https://example.org/ferry-3", "title": "Lindholm towed free",
     "published": "2024-06-10",
     "text": "Two tugs pulled the ferry Lindholm off the Skarvik sandbank on Friday morning.\n\n"
             "Divers found a long crack in the hull below the waterline, the ferry company said.\n\n"
             "The ship was towed free of the sandbank after a week of waiting for the tide."},
]
THIRD = [
    {"url": "https://example.org/ferry-4", "title": "Inquiry into Skarvik grounding",
     "published": "2024-06-14",
     "text": "The maritime board opened an inquiry into why the Lindholm left the marked channel.\n\n"
             "Investigators will question the captain and the officer on watch next week."},
]
NEW_FACT = "Divers found a long crack in the hull below the waterline, the ferry company said."
NEWEST_FACT = "The maritime board opened an inquiry into why the Lindholm left the marked channel."


def _batch(tmp_path: Path, name: str, records: list[dict[str, str]]) -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _ingest(db: str, path: Path) -> None:
    result = CliRunner().invoke(main, ["ingest", str(path), "--db", db, "--story", "Ferry", "-q"])
    assert result.exit_code == 0, result.output


def _brief(db: str, *options: str) -> tuple[dict[str, Any], str]:
    result = CliRunner().invoke(main, ["brief", "--db", db, "--story", "Ferry",
                                       "--format", "json", *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def _fact_texts(briefing: dict[str, Any]) -> list[str]:
    return [item["text"] for item in briefing["new_since"]["summary"]]


def test_since_a_date_shows_what_the_later_sources_add(tmp_path: Path, db_url: str) -> None:
    db = db_url
    _ingest(db, _batch(tmp_path, "all", FIRST + SECOND))
    briefing, _ = _brief(db, "--since", "2024-06-05")
    news = briefing["new_since"]
    assert news["since"] == "2024-06-05" and news["basis"] == "date" and news["sources"] == ["S3"]
    assert NEW_FACT in _fact_texts(briefing)
    # The repeat of what the first sources said is not news.
    assert not any("140 passengers" in text for text in _fact_texts(briefing))
    # The earlier forecast of a tow, and the later report of it.
    assert [(b["forecast"]["citations"][0]["source"], b["later"]["citations"][0]["source"])
            for b in news["bearing"]] == [("S1", "S3")]
    # The section is made each time, never cached: a plain briefing has none.
    plain, _ = _brief(db)
    assert plain["new_since"] is None and plain["summary"] == briefing["summary"]
    future, _ = _brief(db, "--since", "2030-01-01")
    assert future["new_since"]["sources"] == [] and "No source" in future["new_since"]["note"]


def test_since_last_shows_only_what_came_after_the_last_briefing(tmp_path: Path, db_url: str) -> None:
    db = db_url
    _ingest(db, _batch(tmp_path, "first", FIRST))
    first, note = _brief(db, "--since", "last")
    assert first["new_since"] is None and "not been briefed before" in note
    with open_store(db) as store:
        briefed = store.story("Ferry")
        assert briefed is not None and briefed.briefed_at is not None
    _ingest(db, _batch(tmp_path, "second", SECOND))
    second, _ = _brief(db, "--since", "last")
    assert second["new_since"]["basis"] == "last briefing"
    assert second["new_since"]["since"] == briefed.briefed_at
    assert second["new_since"]["sources"] == ["S3"] and NEW_FACT in _fact_texts(second)
    _ingest(db, _batch(tmp_path, "third", THIRD))
    third, _ = _brief(db, "--since", "last")
    assert third["new_since"]["sources"] == ["S4"]
    assert NEWEST_FACT in _fact_texts(third) and NEW_FACT not in _fact_texts(third)
    again, _ = _brief(db, "--since", "last")
    assert again["new_since"]["sources"] == [] and again["new_since"]["summary"] == []


def test_since_needs_a_stored_story_and_a_date(tmp_path: Path) -> None:
    alone = CliRunner().invoke(main, ["brief", "some.txt", "--since", "2024-06-01"])
    assert alone.exit_code == 2 and "--db and --story" in alone.output
    bad = CliRunner().invoke(main, ["brief", "--db", str(tmp_path / "x.db"), "--story", "Ferry",
                                    "--since", "last tuesday"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output


# SQLite only: it checks how the section is rendered, from the same stored story the tests
# above read on both backends.
def test_markdown_and_html_reports_open_with_the_section(tmp_path: Path) -> None:
    db = str(tmp_path / "ferry.db")
    _ingest(db, _batch(tmp_path, "all", FIRST + SECOND))
    for fmt, heading in (("md", "## New since 5 June 2024"), ("html", "<h2>New since 5 June 2024</h2>")):
        result = CliRunner().invoke(main, ["brief", "--db", db, "--story", "Ferry",
                                           "--since", "2024-06-05", "--format", fmt])
        assert result.exit_code == 0, result.output
        assert heading in result.stdout
        summary = "## Summary" if fmt == "md" else "<h2>Summary</h2>"
        assert result.stdout.index(heading) < result.stdout.index(summary)
        assert "crack in the hull" in result.stdout


def test_the_story_page_shows_what_is_new_since_the_last_visit(tmp_path: Path, db_url: str) -> None:
    db = db_url
    _ingest(db, _batch(tmp_path, "first", FIRST))
    client = TestClient(create_app(db), base_url=LOCAL)
    first = client.get("/stories/1")
    assert first.status_code == 200 and "New since your last visit" not in first.text
    assert first.headers["cache-control"] == "private, no-cache" and first.headers["vary"] == "Cookie"
    assert "storyline_seen_1=" in first.headers["set-cookie"]
    assert "Path=/stories/1" in first.headers["set-cookie"]
    _ingest(db, _batch(tmp_path, "second", SECOND))
    second = client.get("/stories/1")
    assert "New since your last visit" in second.text and "crack in the hull" in second.text
    # Seen now: the next visit has nothing new.
    third = client.get("/stories/1")
    assert "New since your last visit" not in third.text
    # Another visitor (no cookie) is never shown someone else's section.
    stranger = TestClient(create_app(db), base_url=LOCAL).get("/stories/1")
    assert "New since your last visit" not in stranger.text
    # A cookie that is not a time is ignored.
    client.cookies.set("storyline_seen_1", "not-a-time", path="/stories/1")
    assert client.get("/stories/1").status_code == 200
