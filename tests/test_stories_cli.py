"""``storyline stories INPUT...``: the stories found in a pile, without a database."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from storyline.cli import main
from tests.test_detect import STORIES


def _pile(path: Path, with_ids: bool = True) -> list[str]:
    """The invented pile as JSONL records (ids ``ferry-0`` ...); the gold story of each line."""
    gold, lines = [], []
    for story, reports in STORIES.items():
        for number, (title, text) in enumerate(reports):
            record = {"title": title, "text": text}
            if with_ids:
                record["id"] = f"{story}-{number}"
            lines.append(json.dumps(record))
            gold.append(story)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return gold


def test_jsonl_gives_each_record_its_story(tmp_path: Path) -> None:
    gold = _pile(tmp_path / "pile.jsonl")
    result = CliRunner().invoke(main, ["stories", str(tmp_path / "pile.jsonl"), "--format", "jsonl", "-q"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"].split("-")[0] for row in rows] == gold
    by_gold: dict[str, set[int]] = {}
    for row, story in zip(rows, gold):
        by_gold.setdefault(story, set()).add(row["story"])
    assert all(len(numbers) == 1 for numbers in by_gold.values())
    assert len({row["story"] for row in rows}) == 3


def test_json_lists_stories_with_their_documents(tmp_path: Path) -> None:
    _pile(tmp_path / "pile.jsonl", with_ids=False)
    result = CliRunner().invoke(main, ["stories", str(tmp_path / "pile.jsonl"), "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    stories = json.loads(result.stdout)
    assert [len(s["documents"]) for s in stories] == [3, 3, 3]
    assert {key for s in stories for key in s} == {"id", "title", "documents", "period", "countries",
                                                   "storyline"}
    titles = {title for reports in STORIES.values() for title, _ in reports}
    assert all(s["title"] in titles for s in stories)


def test_records_without_ids_are_named_by_origin_and_bad_inputs_are_reported(tmp_path: Path) -> None:
    _pile(tmp_path / "pile.jsonl", with_ids=False)
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 8)
    result = CliRunner().invoke(main, ["stories", str(tmp_path / "pile.jsonl"), str(tmp_path / "junk.bin"),
                                       "--format", "jsonl", "-q"])
    assert result.exit_code == 1
    assert "junk.bin" in result.stderr
    assert json.loads(result.stdout.splitlines()[0])["id"].endswith("pile.jsonl:1")


def test_nothing_readable_and_conflicting_options_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("", "utf-8")
    result = CliRunner().invoke(main, ["stories", str(tmp_path / "empty.jsonl"), "-q"])
    assert result.exit_code != 0 and "error" in result.stderr.lower()
    both = CliRunner().invoke(main, ["stories", "x.txt", "--db", str(tmp_path / "s.db")])
    assert both.exit_code == 2 and "not both" in both.stderr
    jsonl = CliRunner().invoke(main, ["stories", "--db", str(tmp_path / "s.db"), "--format", "jsonl"])
    assert jsonl.exit_code == 2 and "INPUTS" in jsonl.stderr
