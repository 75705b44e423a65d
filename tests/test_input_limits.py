"""Every command's input has a size cap with a clear message and a way to raise it: the NLP pass
needs gigabytes for a few megabytes of text, so an oversized input must be refused before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyline.cli import main
from storyline.context import MAX_DOCUMENT_CHARS, Settings
from storyline.errors import UsageError
from storyline.pipeline.documents import extract, ingest_sources
from storyline.store import open_store

# Invented prose, each paragraph a little different (a cleaner drops repeated blocks).
PARAGRAPH = ('"We will reopen pier {n} on Friday," harbour master Ines Vahl said on Monday, '
             "adding that repairs to the {n} wooden posts in Osterby had taken {n} weeks longer "
             "than the council planned.\n\n")


def text_of(chars: int) -> str:
    paragraphs = (PARAGRAPH.format(n=number) for number in range(1, chars))
    text = ""
    while len(text) < chars:
        text += next(paragraphs)
    return text[:chars]


def refusal_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_the_default_limit_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).max_chars == MAX_DOCUMENT_CHARS
    assert Settings.from_env({"STORYLINE_MAX_CHARS": " 5000 "}).max_chars == 5000
    with pytest.raises(UsageError, match=r"\$STORYLINE_MAX_CHARS must be a whole number"):
        Settings.from_env({"STORYLINE_MAX_CHARS": "lots"})


@pytest.mark.parametrize("command", [["quotes"], ["timex", "--dct", "2026-03-02"]])
def test_quotes_and_timex_refuse_text_over_the_default_limit(tmp_path: Path, command: list[str]) -> None:
    big = tmp_path / "book.txt"
    big.write_text(text_of(MAX_DOCUMENT_CHARS + 1), encoding="utf-8")
    result = CliRunner().invoke(main, [*command, str(big)])
    assert result.exit_code == 1
    assert refusal_lines(result.stderr) == [
        f"error: {big}: text is over the {MAX_DOCUMENT_CHARS:,}-character limit for one document "
        "(raise it with --max-chars or $STORYLINE_MAX_CHARS)"
    ]
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["quotes"], ["timex", "--dct", "2026-03-02"]])
def test_the_limit_is_set_by_option_or_environment(command: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    text = text_of(2000)
    by_option = CliRunner().invoke(main, [*command, "--max-chars", "1000", "-"], input=text)
    assert by_option.exit_code == 1
    assert refusal_lines(by_option.stderr)[0].startswith("error: <stdin>: text is over the 1,000-character")
    monkeypatch.setenv("STORYLINE_MAX_CHARS", "1000")
    by_setting = CliRunner().invoke(main, [*command, "-"], input=text)
    assert by_setting.exit_code == 1 and "1,000-character limit" in by_setting.stderr
    raised = CliRunner().invoke(main, [*command, "--max-chars", "3000", "-"], input=text)
    assert raised.exit_code == 0, raised.stderr
    assert json.loads(raised.stdout)


def test_timex_under_the_limit_still_works() -> None:
    result = CliRunner().invoke(main, ["timex", "--dct", "2026-03-02", "-"], input="It opened on Friday.")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["text"] == "Friday"


def test_extract_refuses_a_document_over_the_limit_and_goes_on(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "long.txt").write_text(text_of(6000), encoding="utf-8")
    (tmp_path / "short.txt").write_text(text_of(1500), encoding="utf-8")
    monkeypatch.setenv("STORYLINE_MAX_CHARS", "4000")
    result = CliRunner().invoke(main, ["extract", "--format", "jsonl", "-q",
                                       str(tmp_path / "long.txt"), str(tmp_path / "short.txt")])
    assert result.exit_code == 1
    assert refusal_lines(result.stderr) == [
        f"error: {tmp_path / 'long.txt'}: text is over the 4,000-character limit for one document "
        "(raise it with $STORYLINE_MAX_CHARS)"
    ]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert "error" in lines[0] and lines[1]["origin"] == str(tmp_path / "short.txt")


def test_the_library_takes_the_limit_as_an_argument(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "long.txt").write_text(text_of(6000), encoding="utf-8")
    refused = list(extract([str(tmp_path / "long.txt")], max_chars=4000))
    assert [type(item).__name__ for item in refused] == ["InputError"]
    assert [type(item).__name__ for item in extract([str(tmp_path / "long.txt")], max_chars=7000)] == ["Document"]
    from storyline.read.readers import read_inputs

    with open_store(db_url) as store:
        report = ingest_sources(read_inputs([str(tmp_path / "long.txt")]), store, annotator=None,
                                max_chars=4000)
        assert len(report.failed) == 1 and store.count() == 0


def test_a_batch_line_over_the_limit_is_refused_and_the_batch_goes_on(tmp_path: Path) -> None:
    from storyline.pipeline.batch import read_batch

    batch = tmp_path / "batch.jsonl"
    long_line = json.dumps({"id": "huge", "documents": [text_of(5000)]})
    short_line = json.dumps({"id": "small", "documents": [text_of(300)]})
    batch.write_text(f"{long_line}\n\n{short_line}\n", encoding="utf-8")
    read = list(read_batch(str(batch), max_line_bytes=2000))
    assert [number for number, _ in read] == [1, 3]
    assert str(read[0][1]) == f"{batch}:1: line is over the limit of 2,000 bytes"
    assert isinstance(read[1][1], dict) and read[1][1]["id"] == "small"


def test_an_outlets_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    from storyline.errors import InputProblem
    from storyline.outlets import read_outlets_file

    outlets = tmp_path / "outlets.json"
    outlets.write_text(json.dumps([{"name": f"Harbour Gazette {n}", "domains": [f"gazette{n}.example"]}
                                   for n in range(100)]), encoding="utf-8")
    assert len(read_outlets_file(outlets)[0]) == 100
    with pytest.raises(InputProblem, match=r"^file is over the [0-9.e-]+ MB limit of an outlets file$"):
        read_outlets_file(outlets, max_bytes=1000)
