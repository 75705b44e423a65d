"""`storyline timeline`: the key dates of a story, as the Timeline17 scorer calls it.

Every article below is invented for these tests. The story: a dockworkers' strike at the port
of Kessel in March 2025 (Monday 3 March: the walkout; Thursday 6: the port reopens; Monday 10:
the deal is signed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storyline.annotate.events import find_events
from storyline.annotate.nlp import parse
from storyline.annotate.timex import find_timexes
from storyline.cli import main
from storyline.model import Document
from storyline.pipeline.documents import extract

ARTICLES = [
    ("a1", "2025-03-04", [
        "Dockworkers walk out at Kessel over pay",
        "Dockworkers at the port of Kessel walked out on Monday after talks on pay collapsed.",
        "The union said about nine hundred members had joined the strike by the evening.",
        "Shipping companies diverted four container ships to the northern terminal at Brenn.",
    ]),
    ("a2", "2025-03-05", [
        "Strike leaves Kessel quays empty for a second day",
        "The strike that began on Monday kept every crane at the port of Kessel idle.",
        "The union repeated demands first made in 2019 about night shifts and overtime.",
        "Port managers said they would offer a new pay deal before the weekend.",
    ]),
    ("a3", "2025-03-07", [
        "Kessel port reopens as dockworkers accept offer",
        "The port of Kessel reopened on Thursday after dockworkers accepted a new pay offer.",
        "The walkout began on March 3, when talks on pay collapsed.",
        "Cranes were working again by the afternoon, the port authority said.",
    ]),
    ("a4", "2025-03-07", [
        "Dockworkers back at work in Kessel",
        "Dockworkers returned to the quays of Kessel on Thursday after three days of strike.",
        "The union accepted a pay offer of six percent spread over two years.",
    ]),
    ("a5", "2025-03-11", [
        "Union and port sign Kessel pay deal",
        "The dockworkers' union and the port authority signed the pay deal on Monday.",
        "The strike, which began on March 3, ended when the port reopened on March 6.",
        "Both sides said the deal would be reviewed in the spring of next year.",
    ]),
]


def write_jsonl(path: Path, articles: list[tuple[str, str | None, list[str]]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record_id, published, sentences in articles:
            record: dict[str, Any] = {"id": record_id, "text": "\n".join(sentences)}
            if published is not None:
                record["published"] = published
            handle.write(json.dumps(record) + "\n")
    return path


@pytest.fixture()
def story(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "strike.jsonl", ARTICLES)  # type: ignore[arg-type]


def run(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    result = CliRunner().invoke(main, ["timeline", *args])
    try:
        payload = json.loads(result.stdout)
    except ValueError:
        payload = None
    return result.exit_code, payload, result.stderr


def texts_of(path: Path) -> dict[str, str]:
    return {d.id or "": d.text for d in extract([str(path)]) if isinstance(d, Document)}


def test_the_json_contract_with_valid_citations(story: Path) -> None:
    code, payload, _ = run(str(story), "--dates", "3", "--sentences", "2", "--format", "json")
    assert code == 0 and payload is not None
    assert payload["schema"] == "storyline.timeline/1"
    timeline = payload["timeline"]
    dates = [item["date"] for item in timeline]
    assert len(dates) == 3 and dates == sorted(set(dates))
    texts = texts_of(story)
    sources = {s["id"]: s for s in payload["sources"]}
    assert {s["record_id"] for s in sources.values()} == {"a1", "a2", "a3", "a4", "a5"}
    for item in timeline:
        assert 1 <= len(item["sentences"]) <= 2
        for sentence in item["sentences"]:
            assert set(sentence) == {"text", "citations"}
            first = sentence["citations"][0]
            assert texts[first["source"]][first["start"]:first["end"]] == sentence["text"]
            for citation in sentence["citations"]:
                assert citation["source"] in sources
                assert texts[citation["source"]][citation["start"]:citation["end"]]
    # The three days the story turns on: the walkout, the reopening, the signing.
    assert dates == ["2025-03-03", "2025-03-06", "2025-03-10"]
    # No sentence serves two days.
    every = [s["text"] for item in timeline for s in item["sentences"]]
    assert len(every) == len(set(every))


def test_dates_and_sentences_are_honoured(story: Path) -> None:
    code, payload, _ = run(str(story), "--dates", "2", "--sentences", "1")
    assert code == 0 and payload is not None
    assert len(payload["timeline"]) == 2
    assert all(len(item["sentences"]) == 1 for item in payload["timeline"])


def test_the_window_bounds_the_dates(story: Path) -> None:
    code, payload, _ = run(str(story), "--dates", "5", "--sentences", "1",
                           "--start", "2025-03-05", "--end", "2025-03-09")
    assert code == 0 and payload is not None
    dates = [item["date"] for item in payload["timeline"]]
    assert dates and all("2025-03-05" <= d <= "2025-03-09" for d in dates)
    assert "2025-03-06" in dates
    assert payload["window"] == {"start": "2025-03-05", "end": "2025-03-09"}


def test_a_relative_day_is_resolved_against_the_publication_date(story: Path) -> None:
    # a3 and a4, published on Friday 7 March, say only "on Thursday": the 6th.
    code, payload, _ = run(str(story), "--dates", "3", "--sentences", "3")
    assert code == 0 and payload is not None
    reopening = next(i for i in payload["timeline"] if i["date"] == "2025-03-06")
    assert any("on Thursday" in s["text"] for s in reopening["sentences"])


def test_a_year_only_mentioned_is_no_event_date() -> None:
    text = "The senator on Thursday repeated claims first made in 2003 about the pipeline."
    doc = parse(text)
    found = find_events(doc, timexes=find_timexes(text, "2017-07-07", doc=doc),
                        published="2017-07-07")
    assert [(e.date, e.status) for e in found] == [("2017-07-06", "happened")]


def test_a_year_mentioned_in_the_story_is_not_a_key_date(story: Path) -> None:
    code, payload, _ = run(str(story), "--dates", "10", "--sentences", "2")
    assert code == 0 and payload is not None
    assert not any(item["date"].startswith("2019") for item in payload["timeline"])
    # The sentence may still tell the news of its own report's days (published 5 March: the
    # repeating happened then), never of 2019.
    for item in payload["timeline"]:
        for sentence in item["sentences"]:
            if "2019" in sentence["text"]:
                assert item["date"] in ("2025-03-04", "2025-03-05")


def test_more_dates_than_the_story_has_gives_what_there_is_and_says_so(story: Path) -> None:
    code, payload, stderr = run(str(story), "--dates", "40", "--sentences", "1")
    assert code == 0 and payload is not None
    assert 3 <= len(payload["timeline"]) < 40
    assert "of the 40 dates asked for could be given" in stderr
    assert payload["notes"]


def test_undated_documents_are_refused_with_a_reason(tmp_path: Path) -> None:
    undated = write_jsonl(tmp_path / "undated.jsonl", [
        (record_id, None, sentences) for record_id, _, sentences in ARTICLES[:2]])
    code, payload, stderr = run(str(undated), "--dates", "3")
    assert code == 1 and payload is None
    assert "no dates to make a timeline of" in stderr
    assert "publication date" in stderr


def test_bad_arguments_are_usage_errors(story: Path) -> None:
    code, _, stderr = run(str(story), "--start", "2025-03-09", "--end", "2025-03-01")
    assert code == 2 and "after --end" in stderr
    code, _, stderr = run(str(story), "--start", "March 3")
    assert code == 2 and "not a day like" in stderr
    code, _, _ = run(str(story), "--dates", "0")
    assert code == 2


def test_markdown_lists_each_date_with_its_sources(story: Path) -> None:
    result = CliRunner().invoke(main, ["timeline", str(story), "--dates", "2", "--format", "md"])
    assert result.exit_code == 0
    assert result.stdout.count("\n## 2025-03-") == 2
    assert "[S" in result.stdout


def test_an_opening_sentence_starts_where_the_report_does() -> None:
    from storyline.story.key_dates import _opening_sentences

    text = ("Friday, March 7, 2025; 4:21 PM Cranes at Kessel were working again by noon. More.\n"
            "(Ola Brandt - AP) Dockworkers cheer as the first ship docks. Later.\n"
            "The union thanked its members.")
    found = [text[s:e] for s, e in _opening_sentences(text, 3)]
    assert found == ["Cranes at Kessel were working again by noon.",
                     "Dockworkers cheer as the first ship docks.",
                     "The union thanked its members."]


def test_the_library_function_takes_documents() -> None:
    import storyline

    documents = [Document(origin=f"{record_id}.txt", text="\n".join(sentences), published=published)
                 for record_id, published, sentences in ARTICLES]
    found = storyline.timeline(documents, dates=1, sentences=1)
    assert [item.date for item in found.timeline] == ["2025-03-03"]
    cited = found.timeline[0].sentences[0].citations[0]
    text = documents[int(cited.source[1:]) - 1].text
    assert text[cited.start:cited.end] == found.timeline[0].sentences[0].text
