"""The command line as a user runs it: real files, real databases (its ingest, docs, brief and
story commands on SQLite and PostgreSQL: ``conftest.db_url``), real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storyline.cli import main
from storyline.store import open_store
from storyline.store.sqlite import SQLiteStore
from tests.conftest import NewsServer, is_postgres

ARTICLE = """Harbour council approves new ferry line

By Lena Moravec | Published: March 4, 2024

Share on Facebook
Share on X
Print

The harbour council voted on Monday to open a ferry line between the old town pier and the
island of Kessel, ending two years of debate about the cost of the service.

Council members said the boats would run every forty minutes in summer and every hour in winter,
and that tickets would cost the same as a city bus fare.

"We listened to the islanders, and this is what they asked for," said council chair Petra Lund,
who promised that the first boat would sail before the end of June.

Opponents argued that the money would be better spent on repairing the northern breakwater, which
was damaged in last winter's storms and still lets waves into the fishing harbour.

Related articles
Storm damage bill rises again
Island school to close in autumn

12 comments
Log in to comment
"""

OTHER_ARTICLE = """Orchestra returns to the restored concert hall

The city orchestra played its first concert in the restored concert hall on Saturday evening,
three years after a fire destroyed the roof and most of the wooden stage.

The conductor chose a programme of works that had been performed at the hall's opening a century
ago, and the audience of nine hundred rose to its feet after the final movement.

Engineers who worked on the restoration said the new roof used the original timber design but
hid modern fire barriers inside the beams, a compromise that took two years to approve.
"""


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "ferry.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "concert.txt").write_text(OTHER_ARTICLE, encoding="utf-8")
    return folder


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storyline", *args], capture_output=True, text=True, timeout=120,
    )


def test_extract_one_file_prints_one_document_object(corpus: Path) -> None:
    result = CliRunner().invoke(main, ["extract", str(corpus / "ferry.txt")])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["id"] == "S1"
    assert document["origin"] == str(corpus / "ferry.txt")
    assert "ferry line between the old town pier" in document["text"]
    assert "Log in to comment" not in document["text"]
    assert document["words"] == len(document["text"].split())
    assert document["boilerplate_removed_chars"] > 0


def test_extract_many_inputs_gives_jsonl_in_input_order_with_failures_inline(corpus: Path) -> None:
    missing = corpus / "missing.txt"
    result = CliRunner().invoke(
        main, ["extract", str(corpus / "concert.txt"), str(missing), str(corpus / "ferry.txt")]
    )
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("origin") for line in lines] == [
        str(corpus / "concert.txt"), str(missing), str(corpus / "ferry.txt")
    ]
    assert "error" in lines[1] and "text" not in lines[1]
    assert str(missing) in result.stderr and result.stderr.count("\n") == 1


def test_usage_error_exits_2() -> None:
    result = CliRunner().invoke(main, ["extract", "--format", "yaml", "x.txt"])
    assert result.exit_code == 2


def test_ingest_twice_adds_nothing_and_docs_lists_them(corpus: Path, db_url: str) -> None:
    db = db_url
    first = run("ingest", str(corpus), "--db", db)
    assert first.returncode == 0, first.stderr
    assert "2 new" in first.stdout
    second = run("ingest", str(corpus), "--db", db)
    assert second.returncode == 0, second.stderr
    assert "0 new" in second.stdout and "2 already stored" in second.stdout
    listed = run("docs", "--db", db, "--format", "json")
    documents = json.loads(listed.stdout)
    assert [d["id"] for d in documents] == ["S1", "S2"]


def test_docs_streams_the_store_in_every_format(corpus: Path, db_url: str) -> None:
    db = db_url

    def docs(*options: str) -> str:
        result = CliRunner().invoke(main, ["docs", "--db", db, *options])
        assert result.exit_code == 0, result.output
        return result.stdout

    if not is_postgres(db):  # a SQLite file not made yet (the PostgreSQL one is made, migrated)
        missing = CliRunner().invoke(main, ["docs", "--db", db])  # only reads: makes nothing
        assert missing.exit_code == 2 and "no such database" in missing.output
        assert not Path(db).exists()
        SQLiteStore(db).close()
    assert docs("--format", "json") == "[]\n"
    ingested = CliRunner().invoke(main, ["ingest", str(corpus), "--db", db, "--no-annotate", "--quiet"])
    assert ingested.exit_code == 0, ingested.output
    listed = docs("--format", "json")
    documents = json.loads(listed)
    assert [d["id"] for d in documents] == ["S1", "S2"]
    assert listed == json.dumps(documents, ensure_ascii=False, indent=2) + "\n"  # as one dump
    assert [json.loads(line) for line in docs("--format", "jsonl").splitlines()] == documents
    table = docs()
    assert "2 stored documents" in table and "S2" in table


def test_ingest_reports_bad_input_on_one_line_and_keeps_going(corpus: Path, db_url: str) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    result = run("ingest", str(corpus), "--db", db_url, "--quiet")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "empty.txt" in errors[0]
    listed = run("docs", "--db", db_url, "--format", "jsonl")
    assert len(listed.stdout.splitlines()) == 2


def test_extract_reads_standard_input() -> None:
    result = CliRunner().invoke(main, ["extract", "-", "--type", "text"], input=OTHER_ARTICLE)
    assert result.exit_code == 0, result.output
    assert "restored concert hall" in json.loads(result.stdout)["text"]


def test_bad_urls_each_get_one_line_and_the_good_input_still_comes_out(
    corpus: Path, news_server: "NewsServer"
) -> None:
    bad = {
        news_server.url("/missing"): "404",
        news_server.url("/loop"): "redirect",
        news_server.url("/slow"): "timed out",
    }
    result = run("extract", *bad, str(corpus / "concert.txt"), "--timeout", "0.5", "--quiet",
                 "--allow-private")
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4 and "text" in lines[-1]
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 3
    for line, (url, reason) in zip(errors, bad.items()):
        assert url in line and reason in line.lower(), line


def test_private_and_loopback_refused_without_allow_private(news_server: "NewsServer") -> None:
    # 10.0.0.1 is refused before any connection is tried: nothing may be sent to private ranges.
    seen = len(news_server.requests)  # the server is shared by the session's tests
    result = run("extract", news_server.url("/article"), "http://10.0.0.1/briefing", "--quiet")
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all("--allow-private" in line for line in errors)
    assert "loopback" in errors[0] and "private" in errors[1]
    assert not any(path == "/article" for path, _ in news_server.requests[seen:])


def test_timex_command_prints_timeml_values_with_offsets(tmp_path: Path) -> None:
    text = "The council voted on March 4. The ferry will sail on Friday, three weeks later."
    source = tmp_path / "t.txt"
    source.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["timex", "--dct", "2024-03-05", str(source)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert {"start", "end", "text", "type", "value"} == set(found[0])
    for item in found:
        assert text[item["start"]:item["end"]] == item["text"]
    assert {"2024-03-04", "2024-03-08", "P3W"} == {item["value"] for item in found}


def test_timex_command_refuses_a_bad_dct() -> None:
    result = CliRunner().invoke(main, ["timex", "--dct", "someday", "-"], input="Friday")
    assert result.exit_code == 2 and "--dct" in result.output


def test_quotes_command_reads_standard_input() -> None:
    text = '"We listened to the islanders," said council chair Petra Lund. She added that it was fair.'
    result = CliRunner().invoke(main, ["quotes", "-"], input=text)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found[0]["speaker"] == "Petra Lund" and found[0]["direct"] is True
    assert text[found[0]["start"]:found[0]["end"]] == found[0]["content"]
    assert set(found[0]) == {"speaker", "speaker_start", "speaker_end", "cue", "content", "start",
                             "end", "direct"}


def _refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make any parse of a document's text through the annotate stage fail the test; returns
    the sizes of the batches that were parsed before refusing (none, when all is well)."""
    from storyline.annotate import annotator

    parsed: list[int] = []

    def refuse(texts: list[str], **_: object) -> list[object]:
        parsed.append(len(texts))
        raise AssertionError(f"{len(texts)} stored document(s) parsed again")

    monkeypatch.setattr(annotator, "parse_batch", refuse)
    return parsed


def test_brief_a_stored_story_reuses_its_stored_annotations(
    corpus: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = db_url
    ingested = run("ingest", str(corpus), "--db", db, "--story", "Harbour week")
    assert ingested.returncode == 0, ingested.stderr
    parsed = _refuse_parsing(monkeypatch)
    # --issue makes the briefing afresh (the cache is for the default briefing): the stored
    # annotations must be all it needs.
    result = CliRunner().invoke(main, ["brief", "--db", db, "--story", "Harbour week",
                                       "--format", "json", "--issue", "Ferries: ferry"])
    assert result.exit_code == 0, result.output
    assert parsed == []
    briefing = json.loads(result.stdout)
    assert sorted(s["id"] for s in briefing["sources"]) == ["S1", "S2"]
    assert briefing["issues"][0]["label"] == "Ferries"
    by_id = CliRunner().invoke(main, ["brief", "--db", db, "--story", "1", "--format", "json"])
    assert by_id.exit_code == 0, by_id.output
    assert json.loads(by_id.stdout)["sources"] == briefing["sources"]


def test_brief_a_stored_story_annotates_what_was_stored_without_and_keeps_it(
    corpus: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = db_url
    ingested = run("ingest", str(corpus), "--db", db, "--story", "Harbour week", "--no-annotate")
    assert ingested.returncode == 0, ingested.stderr
    first = CliRunner().invoke(main, ["brief", "--db", db, "--story", "Harbour week"])
    assert first.exit_code == 0, first.output
    parsed = _refuse_parsing(monkeypatch)
    again = CliRunner().invoke(main, ["brief", "--db", db, "--story", "Harbour week",
                                      "--issue", "Music: concert"])
    assert again.exit_code == 0, again.output
    assert parsed == []


def test_brief_story_needs_a_database_and_a_known_story(db_url: str) -> None:
    no_db = CliRunner().invoke(main, ["brief", "--story", "anything"])
    assert no_db.exit_code == 2 and "--db" in no_db.output
    missing = run("brief", "--db", db_url, "--story", "Nothing here")
    assert missing.returncode == 1
    assert "no story 'Nothing here'" in missing.stderr


def test_stories_lists_the_stored_stories(corpus: Path, db_url: str) -> None:
    db = db_url
    assert run("ingest", str(corpus), "--db", db, "--story", "Harbour week",
               "--no-annotate").returncode == 0
    listed = run("stories", "--db", db, "--format", "json")
    assert listed.returncode == 0, listed.stderr
    [story] = json.loads(listed.stdout)
    assert (story["id"], story["name"], story["title"], story["kind"]) == (1, "Harbour week", "Harbour week", "named")
    assert story["documents"] == [str(corpus / "concert.txt"), str(corpus / "ferry.txt")]
    assert story["period"] == {"start": "2024-03-04", "end": "2024-03-04"}
    assert (story["countries"], story["storyline"]) == ([], None)
    assert "Harbour week" in run("stories", "--db", db).stdout


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


@pytest.fixture()
def curated_db(corpus: Path, tmp_path: Path, db_url: str) -> str:
    """Story 1 "Harbour week" holding S1 (the concert) and S2 (the ferry), story 2 "Paris"
    holding S3 (a BBC page: the registry gives GB) and S4 (an Irish Times page: IE), its records
    in ``tmp_path / "paris.jsonl"``; on each backend."""
    db = db_url
    assert invoke("ingest", str(corpus), "--db", db, "--story", "Harbour week",
                  "--no-annotate").exit_code == 0
    records = tmp_path / "paris.jsonl"
    records.write_text("\n".join(json.dumps(record) for record in [
        {"text": OTHER_ARTICLE.replace("city orchestra", "Paris orchestra"),
         "url": "https://www.bbc.co.uk/news/paris-hall", "published": "2024-05-02"},
        {"text": ARTICLE.replace("harbour council", "Paris council"),
         "url": "https://www.irishtimes.com/paris-ferry", "published": "2024-05-03"},
    ]), encoding="utf-8")
    added = invoke("ingest", str(records), "--db", db, "--story", "Paris", "--no-annotate")
    assert added.exit_code == 0, added.output
    return db


def stories_json(db: str) -> dict[str, Any]:
    listed = invoke("stories", "--db", db, "--format", "json")
    assert listed.exit_code == 0, listed.output
    return {story["name"]: story for story in json.loads(listed.stdout)}


def test_split_move_and_merge_stories_from_the_command_line(curated_db: str, corpus: Path,
                                                           tmp_path: Path) -> None:
    db = str(curated_db)
    split = invoke("split", "--db", db, "Harbour week", "S1", "--name", "Concert hall")
    assert split.exit_code == 0, split.output
    assert "into the new story 3 (Concert hall)" in split.stdout
    moved = invoke("move", "--db", db, "S4", "--from", "2", "--to", "Harbour week")
    assert moved.exit_code == 0, moved.output
    stories = stories_json(curated_db)
    assert [len(stories[name]["documents"]) for name in ("Harbour week", "Paris", "Concert hall")] == [2, 1, 1]
    assert stories["Paris"]["countries"] == ["GB"] and stories["Harbour week"]["countries"] == ["IE"]
    merged = invoke("merge", "--db", db, "Paris", "3")
    assert merged.exit_code == 0, merged.output
    assert merged.stdout.strip() == "Merged story 3 (Concert hall) into story 2 (Paris): it holds 2 documents."
    stories = stories_json(curated_db)
    assert sorted(stories) == ["Harbour week", "Paris"]
    assert stories["Paris"]["documents"] == [  # origins in id order: S1, S3
        str(corpus / "concert.txt"), f"{tmp_path / 'paris.jsonl'}:1"]


@pytest.mark.parametrize(("args", "message"), [
    (("merge", "1", "1"), "cannot merge story 1 into itself"),
    (("merge", "1", "9"), "no story '9'"),
    (("split", "1", "S1", "S2", "--name", "All"), "a split must leave documents in story 1"),
    (("split", "1", "S3", "--name", "Stray"), "cannot split off S3: not in story 1"),
    (("split", "1", "S1", "--name", "Paris"), "a story named 'Paris' exists already"),
    (("move", "S9", "--from", "1", "--to", "2"), "no stored document 'S9'"),
    (("move", "S1", "--from", "2", "--to", "1"), "cannot move S1: not in story 2"),
])
def test_bad_curations_exit_2_with_one_clear_line_and_change_nothing(
    curated_db: str, args: tuple[str, ...], message: str,
) -> None:
    before = stories_json(curated_db)
    result = invoke(*args[:1], "--db", curated_db, *args[1:])
    assert result.exit_code == 2 and message in result.output, result.output
    assert stories_json(curated_db) == before


def test_a_story_merged_twice_is_refused_the_second_time(curated_db: str) -> None:
    assert invoke("merge", "--db", curated_db, "1", "2").exit_code == 0
    again = invoke("merge", "--db", curated_db, "1", "2")
    assert again.exit_code == 2 and "story 2 was already merged into 1" in again.output


def test_stories_as_markdown_are_grouped_by_storyline(curated_db: str) -> None:
    with open_store(curated_db) as store:
        store.set_storyline(2, store.create_storyline("Paris in spring"))
    listed = invoke("stories", "--db", curated_db, "--format", "md")
    assert listed.exit_code == 0, listed.output
    text = listed.stdout
    assert text.index("## Paris in spring") < text.index("**Paris** (story 2, named): 2 sources; "
                                                          "2024-05-02 to 2024-05-03; GB, IE;")
    assert text.index("**Paris**") < text.index("## Other stories") < text.index("**Harbour week**")
    assert stories_json(curated_db)["Paris"]["storyline"] == {"id": 1, "title": "Paris in spring"}


def test_brief_says_where_it_wrote_each_file(corpus: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["brief", str(corpus), "--one-story", "-o", "brief.md",
                                       "-o", str(tmp_path / "brief.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith("wrote ")]
    assert lines == [f"wrote {tmp_path / 'brief.md'}", f"wrote {tmp_path / 'brief.json'}"]
    each = CliRunner().invoke(main, ["brief", str(corpus), "--each-story", "-o", "stories/"])
    assert each.exit_code == 0, each.output
    written = sorted(line.removeprefix("wrote ") for line in each.stderr.splitlines()
                     if line.startswith("wrote "))
    assert written == [str(tmp_path / "stories" / f"story-{n}.md") for n in (1, 2)]
    assert all(Path(path).is_file() for path in written)
    quiet = CliRunner().invoke(main, ["brief", str(corpus), "--one-story", "-o", "q.md", "-q"])
    assert quiet.exit_code == 0 and "wrote" not in quiet.stderr


def test_stories_head_a_named_story_with_the_name_its_user_gave(curated_db: str) -> None:
    with open_store(curated_db) as store:  # as a briefing does: it gives the story a title
        store.save_briefing(1, 250, store.story_documents_key(1), "{}", title="Concert and ferry news")
    table = invoke("stories", "--db", curated_db)
    assert table.exit_code == 0, table.output
    row = next(line for line in table.stdout.splitlines() if "Harbour week" in line)
    assert row.index("Harbour week") < row.index("Concert and ferry news")
    markdown = invoke("stories", "--db", curated_db, "--format", "md").stdout
    assert "- **Harbour week** (Concert and ferry news) (story 1, named)" in markdown
    assert stories_json(curated_db)["Harbour week"]["title"] == "Concert and ferry news"
