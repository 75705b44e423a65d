"""Bad inputs, one test per row of docs/bad-input.md: whatever one input does, it becomes one
``InputError`` line naming it, the rest of the batch goes on, what was read before is kept, and
the exit code says so. Every input here is invented for the test and written to tmp_path."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storyline.cli import main
from storyline.model import Document, InputError, Source
from storyline.pipeline.batch import read_batch
from storyline.pipeline.documents import extract_one, ingest
from storyline.read.decode import decode_bytes
from storyline.read.readers import read_inputs
from storyline.store import open_store
from tests.conftest import sql_rows

STORY = ("The council of Millbrook voted on Monday to rebuild the river footbridge, which the "
         "spring floods had torn from its piers.\n")
OTHER_STORY = ("The orchestra of Kessel played its first concert in the restored hall on "
               "Saturday, three years after a fire destroyed the roof.\n")
PAGE = ("<html><head><title>Footbridge vote</title></head><body><article>"
        + "<p>The council of Millbrook voted on Monday to rebuild the river footbridge after the "
          "floods of last spring tore it from its piers and left the east bank cut off.</p>" * 4
        + "</article></body></html>")


def read_all(*inputs: str) -> list[Source | InputError]:
    return list(read_inputs(list(inputs)))


def kinds(items: list[Source | InputError]) -> list[str]:
    return [type(item).__name__ for item in items]


def reason_of(item: Source | InputError | Document) -> str:
    assert isinstance(item, InputError), item
    assert "\n" not in item.reason
    return item.reason


def run_cli(*args: str, timeout: float = 120, **options: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "storyline", *args], capture_output=True,
                          text=True, timeout=timeout, **options)  # type: ignore[call-overload]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- records: JSONL, CSV, brief --batch ---------------------------------------------------


def test_deeply_nested_jsonl_line_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join([json.dumps({"text": STORY}), "[" * 100_000 + "]" * 100_000,
                               json.dumps({"text": OTHER_STORY})]) + "\n")
    items = read_all(str(path))
    assert kinds(items) == ["Source", "InputError", "Source"]
    assert items[1].origin == f"{path}:2" and "nested too deeply" in reason_of(items[1])


def test_lone_surrogate_in_jsonl_is_replaced_and_everything_is_stored(tmp_path: Path, db_url: str) -> None:
    good = tmp_path / "good.txt"
    good.write_text(OTHER_STORY)
    records = tmp_path / "records.jsonl"
    records.write_text('{"text": "Lone \\ud800 half. ' + STORY.strip() + '", "title": "T\\udfff"}\n')
    items = read_all(str(records))
    assert isinstance(items[0], Source) and "Lone \ufffd half" in str(items[0].data)
    with open_store(db_url) as store:
        report = ingest([str(good), str(records)], store, annotate=False)
        assert report.ok and len(report.new) == 2  # the good file read before is stored too
        assert [d.title for d in store.iter_documents()][1] == "T\ufffd"


def test_brief_batch_lines_with_surrogates_nesting_or_bad_bytes_fail_alone(tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join([
        b'{"id": "a", "documents": ["Lone \\ud800 half. ' + STORY.strip().encode() + b'"]}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": "b", "documents": ["Caf\xe9 du march\xe9"]}',
        json.dumps({"id": "c", "documents": [OTHER_STORY]}).encode(),
    ]) + b"\n")
    items = [item for _, item in read_batch(str(path))]
    assert isinstance(items[0], dict) and items[0]["documents"][0].startswith("Lone \ufffd half")
    assert isinstance(items[1], InputError) and "nested too deeply" in items[1].reason
    assert isinstance(items[2], InputError) and items[2].reason == "not valid UTF-8"
    assert isinstance(items[3], dict) and items[3]["id"] == "c"


def test_csv_with_an_unclosed_quote_is_reported_not_merged(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(f'text,title\n{OTHER_STORY.strip()},First\n"{STORY.strip()},Second\n'
                    f"{OTHER_STORY.strip()},Third\n")
    items = read_all(str(path))
    assert kinds(items) == ["Source", "InputError"]
    assert items[1].origin == str(path)
    assert "unclosed quote in the record starting at line 3" in reason_of(items[1])


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("empty.jsonl", "", "no records in this JSONL file"),
    ("blank.jsonl", "\n  \n", "no records in this JSONL file"),
    ("header.csv", "text,title\n", "no records in this CSV file"),
    ("empty.csv", "", "empty file"),
])
def test_record_files_without_records_say_so(tmp_path: Path, name: str, content: str,
                                             reason: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    items = read_all(str(path))
    assert len(items) == 1 and reason in reason_of(items[0])


# --- WARC ------------------------------------------------------------------------------------


def warc_bytes(*, gzip_records: bool, pages: int = 2) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip_records)
    for number in range(pages):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                protocol="HTTP/1.1")
        page = PAGE.replace("Monday", f"day {number}").encode()
        writer.write_record(writer.create_warc_record(
            f"https://news.example/{number}", "response", payload=io.BytesIO(page), http_headers=http))
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["cut.warc", "cut.warc.gz"])
def test_truncated_warc_keeps_whole_records_and_reports_the_cut_one(tmp_path: Path, name: str) -> None:
    data = warc_bytes(gzip_records=name.endswith(".gz"))
    path = tmp_path / name
    path.write_bytes(data[:-120])
    items = read_all(str(path))
    assert kinds(items) == ["Source", "InputError"]
    assert "cut short" in reason_of(items[1]) or "truncated" in reason_of(items[1])


def test_warc_record_with_an_absurd_length_is_reported(tmp_path: Path) -> None:
    data = warc_bytes(gzip_records=False, pages=3)
    path = tmp_path / "lying.warc"
    path.write_bytes(data.replace(b"Content-Length: ", b"Content-Length: 99999", 1))
    items = read_all(str(path))
    assert kinds(items) == ["InputError"]
    assert "record 1 is cut short" in reason_of(items[0]) and "Content-Length" in items[0].reason


# --- files that are not files, folders that cannot be read, globs that loop ------------------


def test_fifos_are_refused_named_or_in_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "coverage"
    folder.mkdir()
    (folder / "good.txt").write_text(STORY)
    os.mkfifo(folder / "pipe.txt")
    result = run_cli("extract", str(folder / "pipe.txt"), str(folder), "--format", "jsonl",
                     timeout=60)  # before the fix, the read waited for a writer for ever
    assert result.returncode == 1
    errors = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["origin"] for e in errors] == [str(folder / "pipe.txt"), str(folder / "good.txt"),
                                             str(folder / "pipe.txt")]
    assert "FIFO" in errors[0]["error"] and "FIFO" in errors[2]["error"]


def test_glob_stars_do_not_follow_links_round_a_loop(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "story.txt").write_text(STORY)
    (tmp_path / "a" / "up").symlink_to("..")
    (tmp_path / "a" / "up2").symlink_to("../..")
    result = run_cli("extract", str(tmp_path / "**" / "*.txt"), "--format", "jsonl", timeout=60)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["origin"] for line in result.stdout.splitlines()] == [
        str(tmp_path / "a" / "story.txt")]


def test_an_unreadable_folder_is_named_with_the_true_reason() -> None:
    # Permissions do not stop root: as root, the reading runs with the user "nobody"'s rights
    # (seteuid keeps the way back), in a folder "nobody" may enter.
    root = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "good.txt").write_text(STORY)
        (root / "locked").mkdir()
        (root / "locked" / "hidden.txt").write_text(OTHER_STORY)
        (root / "locked").chmod(0)
        as_root = os.geteuid() == 0
        if as_root:
            os.seteuid(65534)
        try:
            items = read_all(str(root))
        finally:
            if as_root:
                os.seteuid(0)
        assert [(item.origin, getattr(item, "reason", None)) for item in items] == [
            (str(root / "good.txt"), None), (str(root / "locked"), "permission denied")]
    finally:
        (root / "locked").chmod(0o755)
        for path in sorted(root.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        root.rmdir()


# --- decoding and parsing --------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_read(encoding: str) -> None:
    for text in (STORY * 3, "Совет Миллбрука в понедельник проголосовал за новый мост. " * 4):
        assert decode_bytes(text.encode(encoding)) == text


def test_html_nested_past_the_parser_limit_keeps_its_text_or_says_why() -> None:
    paragraph = ("<p>The council of Millbrook voted on Monday to rebuild the river footbridge "
                 "that the floods had taken.</p>")
    deep = Source("deep.html", "<html><body>" + "<div>" * 300 + paragraph + "</div>" * 300
                  + "</body></html>", mode="html")
    document = extract_one(deep)
    assert isinstance(document, Document) and "river footbridge" in document.text
    deeper = Source("deeper.html", "<html><body>" + "<div>" * 3000 + paragraph + "</div>" * 3000
                    + "</body></html>", mode="html")
    assert "nested more than 512 levels" in reason_of(extract_one(deeper))


# --- the command line: markup, stdin, outputs, databases -------------------------------------


def test_error_lines_print_brackets_and_never_read_them_as_markup(tmp_path: Path) -> None:
    odd = tmp_path / "[" / "].txt"  # the path reads "[/].txt": a closing tag to rich
    odd.parent.mkdir()
    odd.write_text("")
    coloured = tmp_path / "[red]note.txt"
    coloured.write_text("")
    bad_warc = tmp_path / "head.warc"
    bad_warc.write_bytes(b"[/] [bold]not an archive\r\n\r\n")  # the reason quotes this line
    good = tmp_path / "good.txt"
    good.write_text(STORY)
    result = run_cli("extract", str(odd), str(coloured), str(bad_warc), str(good),
                     "--format", "jsonl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3
    assert str(odd) in lines[0] and str(coloured) in lines[1] and "'[/]', '[bold]not'" in lines[2]


def test_document_titles_with_brackets_list_in_the_docs_table(tmp_path: Path, db_url: str) -> None:
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"text": STORY, "title": "Vote [/] and [bold]bridges"}) + "\n")
    db = db_url
    assert CliRunner().invoke(main, ["ingest", str(records), "--db", db, "--no-annotate",
                                     "--no-stories", "-q"]).exit_code == 0
    result = CliRunner().invoke(main, ["docs", "--db", db])
    assert result.exit_code == 0, result.output
    assert "Vote [/] and [bold]bridges" in result.stdout


def test_closed_standard_input_is_one_error() -> None:
    result = subprocess.run(["sh", "-c", 'exec "$0" -m storyline extract - <&-', sys.executable],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert one_error_line(result.stderr) == "error: <stdin>: standard input is closed"


def test_timex_and_quotes_decode_their_input_like_any_other() -> None:
    latin1 = "« Nous reconstruirons le pont », a déclaré la maire de Millbrook lundi.".encode("cp1252")
    quotes = CliRunner().invoke(main, ["quotes", "-"], input=latin1)
    assert quotes.exit_code == 0, quotes.output
    timex = CliRunner().invoke(main, ["timex", "--dct", "2024-03-04", "-"],
                               input=STORY.encode("utf-16"))
    assert timex.exit_code == 0, timex.output
    assert "2024-03-04" in [t["value"] for t in json.loads(timex.stdout)]  # "on Monday"
    binary = CliRunner().invoke(main, ["quotes", "-"], input=b"\x89PNG\r\n\x1a\n\x00\x00")
    assert binary.exit_code == 1
    assert binary.stderr.strip() == "error: <stdin>: binary file (PNG), not text or HTML"


def test_an_output_in_a_missing_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(STORY)
    target = tmp_path / "missing" / "out.json"
    for command in (["extract", str(good)], ["timeline", str(good)], ["brief", str(good)]):
        result = run_cli(*command, "-o", str(target))
        assert result.returncode == 2, result.stderr
        assert f"cannot write {target}: no such folder" in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_error_line(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text(STORY)
    to_file = run_cli("extract", str(good), "-o", "/dev/full")
    assert to_file.returncode == 1
    assert one_error_line(to_file.stderr) == "error: cannot write /dev/full: no space left on device"
    with open("/dev/full", "w") as full:
        to_stdout = subprocess.run([sys.executable, "-m", "storyline", "extract", str(good)],
                                   stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert to_stdout.returncode == 1
    assert one_error_line(to_stdout.stderr) == (
        "error: cannot write standard output: no space left on device")


# SQLite only: it damages the database file's pages (a PostgreSQL database has no file the client
# could damage).
def test_a_damaged_database_is_one_error_line(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    good = tmp_path / "good.txt"
    good.write_text(STORY)
    assert run_cli("ingest", str(good), "--db", str(db), "--no-annotate", "--no-stories").returncode == 0
    with sqlite3.connect(db) as connection:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        root_page = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'documents'").fetchone()[0]
    connection.close()
    with db.open("r+b") as handle:  # the documents table's first page becomes noise
        handle.seek((root_page - 1) * page_size)
        handle.write(b"\xab" * page_size)
    for command in (["docs"], ["ingest", str(good), "--no-annotate"]):
        result = run_cli(*command, "--db", str(db))
        assert result.returncode == 1, result.stderr
        assert "database disk image is malformed" in one_error_line(result.stderr)


def test_the_same_text_twice_in_one_ingest_is_filed_once(tmp_path: Path, db_url: str) -> None:
    first, copy = tmp_path / "first.txt", tmp_path / "copy.txt"
    first.write_text(STORY * 3)
    copy.write_text(STORY * 3)
    with open_store(db_url) as store:
        report = ingest([str(first), str(copy)], store, annotate=False, find_stories=True)
    assert report.ok and report.new == ["S1"] and report.already_stored == ["S1"]
    assert report.stories == {"S1": report.stories["S1"]}



def test_a_gzipped_file_that_inflates_like_a_bomb_is_refused_and_the_rest_goes_on(tmp_path: Path) -> None:
    import gzip

    bomb = tmp_path / "tags.html.gz"
    bomb.write_bytes(gzip.compress(b"<p>" * 500_000))  # 1.5 MB of tags in a few kilobytes
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(
        b"<html><body><article><h1>Ferry back in service</h1><p>The night ferry to Skarholm sailed "
        b"again on Friday after both engines were rebuilt at the Veldhaven yard.</p></article></body></html>"))
    read = list(read_inputs([str(bomb), str(page)]))
    errors = [item for item in read if isinstance(item, InputError)]
    assert [str(e.origin) for e in errors] == [str(bomb)]
    assert "compression bomb" in errors[0].reason
    assert [item.origin for item in read if isinstance(item, Source)] == [str(page)]


# --- database URLs ----------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [["ingest", "{good}", "--no-annotate"], ["stories"], ["docs"]])
def test_an_unreachable_database_server_is_one_line_and_exit_code_2(tmp_path: Path,
                                                                     command: list[str]) -> None:
    good = tmp_path / "good.txt"
    good.write_text(STORY)
    url = f"postgresql://storyline:secret@127.0.0.1:{_free_port()}/storyline"
    result = run_cli(*[part.format(good=good) for part in command], "--db", url)
    assert result.returncode == 2, result.stderr
    line = one_error_line(result.stderr)
    assert "cannot use database postgresql://storyline:***@127.0.0.1" in line
    assert "secret" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("url", ["postgresql://storyline@127.0.0.1:notaport/db",
                                 "postgresql://h/db?sslmode=sometimes", "mysql://h/db"])
def test_a_malformed_database_url_is_one_line_and_exit_code_2(tmp_path: Path, url: str) -> None:
    good = tmp_path / "good.txt"
    good.write_text(STORY)
    result = run_cli("ingest", str(good), "--no-annotate", "--db", url)
    assert result.returncode == 2, result.stderr
    assert url.split("://")[0] in one_error_line(result.stderr)


def test_wrong_database_credentials_are_one_line_exit_code_2_and_nothing_written(
        tmp_path: Path, postgres_url: str) -> None:
    from urllib.parse import urlsplit, urlunsplit

    good = tmp_path / "good.txt"
    good.write_text(STORY)
    parts = urlsplit(postgres_url)
    wrong = urlunsplit(parts._replace(netloc=f"{parts.username}:wrong-password@{parts.hostname}:{parts.port}"))
    # From the environment as well as from --db: STORYLINE_DB names the database too.
    result = run_cli("ingest", str(good), "--no-annotate", env={**os.environ, "STORYLINE_DB": wrong})
    assert result.returncode == 2, result.stderr
    assert "password authentication failed" in one_error_line(result.stderr)
    assert "wrong-password" not in result.stderr
    with open_store(postgres_url) as store:
        assert store.count() == 0
    stored = run_cli("ingest", str(good), "--no-annotate", "--no-stories",
                     env={**os.environ, "STORYLINE_DB": postgres_url})
    assert stored.returncode == 0, stored.stderr
    with open_store(postgres_url) as store:
        assert store.count() == 1


# A NUL character (U+0000) is valid JSON, and PostgreSQL refuses it in text: the readers drop
# it from every text and field, so both backends store the same documents.
def _records_with_a_nul(tmp_path: Path) -> Path:
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps({"text": STORY.replace(" voted", " \u0000voted"), "title": "Nul\u0000"})
                       + "\n" + json.dumps({"text": OTHER_STORY}) + "\n")
    return records


def test_a_nul_character_in_a_record_does_not_stop_the_ingest(tmp_path: Path, db_url: str) -> None:
    result = CliRunner().invoke(main, ["ingest", str(_records_with_a_nul(tmp_path)), "--db", db_url,
                                       "--no-annotate", "--no-stories", "-q"])
    assert result.exit_code == 0, result.output
    with open_store(db_url) as store:
        documents = list(store.iter_documents())
    assert len(documents) == 2
    assert all("\x00" not in (d.text + (d.title or "")) for d in documents)
    assert any(" voted" in d.text for d in documents)


def test_a_database_error_while_in_use_does_not_show_the_password(
        tmp_path: Path, postgres_url: str) -> None:
    """A server that fails a command midway (here: a table gone) is one line, exit code 1,
    naming the database with its password hidden and no talk of a damaged file."""
    from urllib.parse import urlsplit

    password = urlsplit(postgres_url).password
    assert password
    sql_rows(postgres_url, "DROP TABLE documents CASCADE")
    result = CliRunner().invoke(main, ["ingest", str(_records_with_a_nul(tmp_path)), "--db", postgres_url,
                                       "--no-annotate", "--no-stories", "-q"])
    assert result.exit_code == 1, result.output
    assert f":{password}@" not in result.output and ":***@" in result.output, result.output
    assert "file is damaged" not in result.output
