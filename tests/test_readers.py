"""Read stage and decoding, on real files written to tmp_path (all text invented for the tests)."""

from __future__ import annotations

import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storyline.errors import InputProblem
from storyline.model import Hints, InputError, Source
from storyline.pipeline.documents import extract_one
from storyline.read.decode import MAX_INPUT_BYTES, MEGABYTE, decode_bytes, sniff_mode
from storyline.read.fetch import Fetcher
from storyline.read.readers import read_inputs

from conftest import ARTICLE_HTML, RUSSIAN_SENTENCE, NewsServer

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
STORY = "The council of Millbrook voted on Monday to rebuild the river footbridge.\n"
FRENCH_STORY = "Le café du marché a fermé ses portes après vingt ans, a annoncé la mairie."


def read_all(*inputs: str, **options: object) -> list[Source | InputError]:
    return list(read_inputs(list(inputs), **options))  # type: ignore[arg-type]


def only(items: list[Source | InputError]) -> Source | InputError:
    assert len(items) == 1, items
    return items[0]


def reason_of(item: Source | InputError) -> str:
    assert isinstance(item, InputError), item
    assert "\n" not in item.reason
    return item.reason


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- single files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "mode"),
    [
        ("story.txt", STORY, "text"),
        ("story.md", "# Footbridge\n\n" + STORY, "text"),
        ("story.html", ARTICLE_HTML, "html"),
        ("story.htm", ARTICLE_HTML, "html"),
        ("story.dat", ARTICLE_HTML, "html"),  # unknown suffix: sniffed
        ("story", STORY, "text"),
    ],
)
def test_file_kinds(tmp_path: Path, name: str, content: str, mode: str) -> None:
    path = write(tmp_path / name, content)
    source = only(read_all(str(path)))
    assert isinstance(source, Source)
    assert (source.origin, source.data, source.mode) == (str(path), content, mode)


def test_gzipped_html_is_decompressed(tmp_path: Path) -> None:
    path = write(tmp_path / "story.html.gz", gzip.compress(ARTICLE_HTML.encode()))
    source = only(read_all(str(path)))
    assert isinstance(source, Source) and (source.data, source.mode) == (ARTICLE_HTML, "html")


def test_mode_overrides_suffix(tmp_path: Path) -> None:
    path = write(tmp_path / "story.txt", "<p>" + STORY + "</p>")
    source = only(read_all(str(path), mode="html"))
    assert isinstance(source, Source) and source.mode == "html"


def test_missing_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.txt")
    assert only(read_all(missing)) == InputError(missing, "no such file or directory")


def test_empty_file(tmp_path: Path) -> None:
    assert reason_of(only(read_all(str(write(tmp_path / "empty.txt", b""))))) == "empty file"


def test_binary_file_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "chart.png", PNG_BYTES)
    assert reason_of(only(read_all(str(path)))) == "binary file (PNG), not text or HTML"


def test_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as sparse:  # 50 MB of holes: instant to write, never read
        sparse.truncate(50 * MEGABYTE)
    assert reason_of(only(read_all(str(path)))) == "file is 50.0 MB, over the 20 MB limit"


def test_gzip_bomb_is_capped(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.txt.gz", gzip.compress(b"a" * (MAX_INPUT_BYTES + 1)))
    assert reason_of(only(read_all(str(path)))) == "decompressed file is over the 20 MB limit"


def test_corrupt_gzip(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.html.gz", gzip.compress(ARTICLE_HTML.encode())[:30])
    assert reason_of(only(read_all(str(path)))).startswith("corrupt or truncated gzip file")


def test_windows_1251_russian_text(tmp_path: Path) -> None:
    text = f"{RUSSIAN_SENTENCE}\n\nЖители ждали этого решения почти три года, сообщила газета.\n"
    path = write(tmp_path / "novosti.txt", text.encode("cp1251"))
    source = only(read_all(str(path)))
    assert isinstance(source, Source) and source.data == text


def test_windows_1252_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = write(tmp_path / "marche.txt", FRENCH_STORY.encode("cp1252"))
    source = only(read_all(str(path)))
    assert isinstance(source, Source) and source.data == FRENCH_STORY


def test_undecodable_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "noise.txt", bytes(range(0x80, 0x100)) * 8)
    assert reason_of(only(read_all(str(path)))).startswith("cannot detect the text encoding")


def test_html_without_body_reads_then_fails_cleanly(tmp_path: Path) -> None:
    path = write(tmp_path / "shell.html", "<html><head><title>Only a title</title></head></html>")
    source = only(read_all(str(path)))
    assert isinstance(source, Source) and source.mode == "html"
    failed = extract_one(source)
    assert isinstance(failed, InputError) and failed.origin == str(path)
    assert failed.reason.startswith("no article text found")


def test_bad_inputs_do_not_stop_the_batch(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", STORY)
    items = read_all(
        str(tmp_path / "missing.txt"),
        str(write(tmp_path / "empty.txt", b"")),
        str(write(tmp_path / "image.bin", PNG_BYTES)),
        str(good),
    )
    assert [type(item).__name__ for item in items] == ["InputError", "InputError", "InputError", "Source"]
    assert items[-1].origin == str(good)


def test_inputs_are_read_lazily(tmp_path: Path) -> None:
    def inputs() -> Iterator[str]:
        yield str(write(tmp_path / "first.txt", STORY))
        raise AssertionError("the second input was requested before the first was used")

    assert isinstance(next(read_inputs(inputs())), Source)


# --- directories and globs ----------------------------------------------------------------------


def test_directory_is_recursive_sorted_and_skips_hidden_and_binary(tmp_path: Path) -> None:
    root = tmp_path / "coverage"
    write(root / "b.txt", STORY)
    write(root / "a" / "z.html", ARTICLE_HTML)
    write(root / "notes", "A note without a suffix about the footbridge vote.\n")
    write(root / ".draft.txt", STORY)  # hidden file
    write(root / ".cache" / "c.txt", STORY)  # hidden folder
    write(root / "page_files" / "logo.png", PNG_BYTES)  # not a document suffix
    write(root / "page_files" / "style.css", "body { color: black }")
    write(root / "thumbnail", PNG_BYTES)  # no suffix, binary content
    write(root / "fake.html", PNG_BYTES)  # claims to be a document: reported
    items = read_all(str(root))
    assert [item.origin for item in items] == [
        str(root / "a" / "z.html"),
        str(root / "b.txt"),
        str(root / "fake.html"),
        str(root / "notes"),
    ]
    assert reason_of(items[2]) == "binary file (PNG), not text or HTML"


def test_glob_patterns(tmp_path: Path) -> None:
    write(tmp_path / "one.txt", STORY)
    write(tmp_path / "two.txt", STORY)
    write(tmp_path / "three.html", ARTICLE_HTML)
    write(tmp_path / "deep" / "four.txt", STORY)
    flat = read_all(str(tmp_path / "*.txt"))
    assert [item.origin for item in flat] == [str(tmp_path / "one.txt"), str(tmp_path / "two.txt")]
    deep = read_all(str(tmp_path / "**" / "*.txt"))
    assert str(tmp_path / "deep" / "four.txt") in [item.origin for item in deep]
    assert len(deep) == 3


def test_glob_without_matches(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.nothing")
    assert only(read_all(pattern)) == InputError(pattern, "no files match this pattern")


# --- record files -------------------------------------------------------------------------------


def test_jsonl_records_with_a_malformed_line(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": STORY, "title": "Footbridge vote", "url": "https://news.example/fb",
                    "published": "2026-03-02", "outlet": "Millbrook Echo", "authors": ["Ada Reyes", "Tom Birch"]}),
        json.dumps({"html": ARTICLE_HTML, "authors": "Ada Reyes; Tom Birch"}),
        '{"text": "unterminated',
        "",
        json.dumps(["not", "an", "object"]),
        json.dumps({"title": "no body"}),
        json.dumps({"text": STORY, "authors": "Ada Reyes, Tom Birch", "published": 2026}),
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    items = read_all(str(path))
    assert [item.origin for item in items] == [f"{path}:{n}" for n in (1, 2, 3, 5, 6, 7)]
    first, second, malformed, array, bodiless, last = items
    assert isinstance(first, Source) and first.mode == "text" and first.data == STORY
    assert first.hints == Hints(url="https://news.example/fb", title="Footbridge vote", published="2026-03-02",
                                outlet="Millbrook Echo", authors=["Ada Reyes", "Tom Birch"])
    assert isinstance(second, Source) and second.mode == "html"
    assert second.hints.authors == ["Ada Reyes", "Tom Birch"]
    assert reason_of(malformed).startswith("malformed JSON: ")
    assert reason_of(array) == "record is a JSON list, not an object"
    assert reason_of(bodiless) == "record has no 'text' or 'html' field"
    assert isinstance(last, Source) and last.hints.authors == ["Ada Reyes", "Tom Birch"]
    assert last.hints.published == "2026"


def test_jsonl_line_over_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as out:
        out.write(b'{"text": "' + b"a" * (MAX_INPUT_BYTES + 10) + b'"}\n')
        out.write(json.dumps({"text": STORY}).encode() + b"\n")
    items = read_all(str(path))
    assert reason_of(items[0]) == "record is over the 20 MB limit"
    assert isinstance(items[1], Source) and items[1].origin == f"{path}:2"


def test_csv_records(tmp_path: Path) -> None:
    rows = (
        "text,title,url,published,outlet,authors\n"
        f'"{STORY}Second paragraph, with a comma.",Footbridge vote,https://news.example/fb,2026-03-02,'
        'Millbrook Echo,"Ada Reyes, Tom Birch"\n'
        ",Missing body,,,,\n"
        "A short third story about the footbridge.,,,,,\n"
    )
    path = write(tmp_path / "feed.csv", rows)
    first, missing, third = read_all(str(path))
    assert isinstance(first, Source) and first.origin == f"{path}:2"
    assert first.data == STORY + "Second paragraph, with a comma."
    assert first.hints == Hints(url="https://news.example/fb", title="Footbridge vote", published="2026-03-02",
                                outlet="Millbrook Echo", authors=["Ada Reyes", "Tom Birch"])
    assert missing.origin == f"{path}:4"  # the quoted text above spans lines 2 and 3
    assert reason_of(missing) == "record has no 'text' or 'html' field"
    assert isinstance(third, Source) and third.origin == f"{path}:5" and third.hints == Hints()


def test_csv_without_a_body_column(tmp_path: Path) -> None:
    path = write(tmp_path / "links.csv", "url,title\nhttps://news.example/a,A\n")
    assert only(read_all(str(path))) == InputError(str(path), "CSV has no 'text' or 'html' column")


# --- WARC ---------------------------------------------------------------------------------------


def write_warc(path: Path, *, gzip_records: bool) -> None:
    russian = f"<html><body><p>{RUSSIAN_SENTENCE}</p></body></html>".encode("cp1251")
    responses = [
        ("https://news.example/bridge", "200 OK", "text/html; charset=utf-8", ARTICLE_HTML.encode()),
        ("https://news.example/logo.png", "200 OK", "image/png", PNG_BYTES),
        ("https://news.example/gone", "404 Not Found", "text/html", b"<p>gone</p>"),
        ("https://novosti.example/most", "200 OK", "text/html; charset=windows-1251", russian),
        ("https://news.example/feed.txt", "200 OK", "text/plain", STORY.encode()),
    ]
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=gzip_records)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "storyline tests"}))
        for uri, status, content_type, body in responses:
            request = StatusAndHeaders(f"GET {uri} HTTP/1.1", [("Host", "news.example")], is_http_request=True)
            writer.write_record(writer.create_warc_record(uri, "request", http_headers=request))
            headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(uri, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))


@pytest.mark.parametrize(("name", "compressed"), [("crawl.warc.gz", True), ("crawl.warc", False)])
def test_warc_html_and_text_responses(tmp_path: Path, name: str, compressed: bool) -> None:
    path = tmp_path / name
    write_warc(path, gzip_records=compressed)
    items = read_all(str(path))
    assert [(item.origin, item.hints.url, item.mode) for item in items if isinstance(item, Source)] == [
        (f"{path}:3", "https://news.example/bridge", "html"),
        (f"{path}:9", "https://novosti.example/most", "html"),
        (f"{path}:11", "https://news.example/feed.txt", "text"),
    ]
    assert items[0].data == ARTICLE_HTML
    assert RUSSIAN_SENTENCE in str(items[1].data)


def test_not_a_warc(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.warc", STORY)
    assert reason_of(only(read_all(str(path)))).startswith("not a valid WARC file")


# --- standard input -----------------------------------------------------------------------------


def test_stdin_is_sniffed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(ARTICLE_HTML.encode("utf-8"))))
    source = only(read_all("-"))
    assert isinstance(source, Source)
    assert (source.origin, source.data, source.mode) == ("<stdin>", ARTICLE_HTML, "html")


def test_stdin_in_windows_1251(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(RUSSIAN_SENTENCE.encode("cp1251"))))
    source = only(read_all("-"))
    assert isinstance(source, Source) and (source.data, source.mode) == (RUSSIAN_SENTENCE, "text")


def test_empty_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    assert only(read_all("-")) == InputError("<stdin>", "empty standard input")


# --- URLs through read_inputs ---------------------------------------------------------------------


def test_urls_refuse_loopback_by_default_and_batch_goes_on(tmp_path: Path, news_server: NewsServer) -> None:
    url = news_server.url("/article")
    refused, local = read_all(url, str(write(tmp_path / "after.txt", STORY)))
    assert reason_of(refused).startswith("refused: 127.0.0.1 is a loopback address")
    assert isinstance(local, Source)


def test_urls_with_allow_private(news_server: NewsServer) -> None:
    article, missing = read_all(news_server.url("/article"), news_server.url("/missing"), allow_private=True)
    assert isinstance(article, Source) and article.mode == "html"
    assert missing == InputError(news_server.url("/missing"), "HTTP 404 Not Found")


def test_given_fetcher_is_used(news_server: NewsServer) -> None:
    with Fetcher(allow_private=True, max_bytes=1000) as small:
        item = only(list(read_inputs([news_server.url("/big")], fetcher=small)))
    assert reason_of(item) == "response is over the 1000 bytes limit"


def test_other_url_schemes() -> None:
    reason = reason_of(only(read_all("ftp://news.example/a.txt")))
    assert reason == "unsupported URL scheme 'ftp' (only http and https)"


# --- decode and sniff units ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"%PDF-1.4\n", "PDF"), (b"PK\x03\x04rest", "ZIP"), (b"\x7fELF\x02\x01", "ELF"), (PNG_BYTES, "PNG")],
)
def test_magic_numbers_are_named(data: bytes, name: str) -> None:
    with pytest.raises(InputProblem, match=rf"^binary file \({name}\), not text or HTML$"):
        decode_bytes(data)


def test_control_characters_mean_binary() -> None:
    with pytest.raises(InputProblem, match="^binary file, not text or HTML$"):
        decode_bytes(bytes(range(1, 32)) * 20)


def test_byte_order_marks() -> None:
    assert decode_bytes("\ufeff".encode("utf-8") + STORY.encode()) == STORY
    assert decode_bytes(RUSSIAN_SENTENCE.encode("utf-16")) == RUSSIAN_SENTENCE


def test_valid_utf8_wins_over_a_wrong_declaration() -> None:
    assert decode_bytes(FRENCH_STORY.encode("utf-8"), declared="iso-8859-1") == FRENCH_STORY


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("<!DOCTYPE html><p>x</p>", "html"),
        ("\n  <html lang='en'><body>x</body></html>", "html"),
        ("<div><p>One</p><p>Two</p></div>", "html"),
        (STORY, "text"),
        ("Use the <b> tag sparingly, said the editor.", "text"),
    ],
)
def test_sniff_mode(text: str, mode: str) -> None:
    assert sniff_mode(text) == mode


def test_warc_without_articles(tmp_path: Path) -> None:
    path = tmp_path / "info-only.warc"
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=False)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "storyline tests"}))
    assert only(read_all(str(path))) == InputError(
        str(path), "no successful HTML or plain-text responses in this WARC file"
    )


def test_directory_without_documents_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "assets"
    write(root / "logo.png", PNG_BYTES)
    write(root / ".hidden.txt", STORY)
    assert only(read_all(str(root))) == InputError(
        str(root), "no text, HTML, JSONL, CSV or WARC files in this directory"
    )


def test_single_string_input_is_one_input(tmp_path: Path) -> None:
    path = write(tmp_path / "story.txt", STORY)
    assert [item.origin for item in read_inputs(str(path))] == [str(path)]


def test_glob_matching_a_folder_and_its_files_reads_each_file_once(tmp_path: Path) -> None:
    write(tmp_path / "news" / "a.txt", STORY)
    write(tmp_path / "news" / "sub" / "b.html", ARTICLE_HTML)
    write(tmp_path / "news" / "sub" / "logo.png", PNG_BYTES)
    items = read_all(str(tmp_path / "news" / "**"))
    news = tmp_path / "news"
    assert [item.origin for item in items] == [str(news / "a.txt"), str(news / "sub" / "b.html")]
