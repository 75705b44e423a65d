"""Property tests of the readers: for any bytes in a JSONL, CSV or WARC file, and any bytes to
decode, the answer is documents and one-line ``InputError``s, or ``InputProblem`` from the
decoder, never another exception. A small budget keeps them fast in ``make test``;
``STORYLINE_FUZZ_EXAMPLES=5000`` runs them longer (``tests/fuzzing.py``)."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storyline.errors import InputProblem
from storyline.read.decode import decode_bytes, valid_unicode
from tests.fuzzing import budget, check_read

BUDGET = budget(50)

JSON_PIECES = st.sampled_from([
    b'{"text": "The ferry line opens in June."}', b'{"html": "<p>x</p>"}', b"[", b"]", b"{", b"}",
    b'"\\ud800"', b'"\\udfff"', b"\n", b",", b"null", b'{"text": 5}', b'{"authors": [1]}',
    b"\xff\xfe", b"\x00", b'"', b"\\", b"1e999", b'{"text": "a", "title": "\\ud83d"}',
])
CSV_PIECES = st.sampled_from([
    b"text,title\n", b'"', b",", b"\n", b"\r\n", b"The bridge vote", b"\x00", b"\xe9", b'""',
    b"html\n", b"<p>x</p>",
])


@BUDGET
@given(st.lists(JSON_PIECES | st.binary(max_size=20), max_size=30).map(b"".join))
def test_any_jsonl_gives_documents_or_errors(data: bytes) -> None:
    check_read("records.jsonl", data)


@BUDGET
@given(st.lists(CSV_PIECES | st.binary(max_size=10), max_size=30).map(b"".join))
def test_any_csv_gives_documents_or_errors(data: bytes) -> None:
    check_read("rows.csv", data)


def warc_bytes(pages: list[str], gzip_records: bool) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip_records)
    for number, page in enumerate(pages):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            f"https://news.example/{number}", "response", payload=io.BytesIO(page.encode()),
            http_headers=http))
    return buffer.getvalue()


@BUDGET
@given(st.lists(st.text(max_size=200), min_size=1, max_size=3), st.booleans(),
       st.integers(min_value=0, max_value=2000), st.binary(max_size=30))
def test_any_cut_or_spliced_warc_gives_documents_or_errors(pages: list[str], gzip_records: bool,
                                                           cut: int, splice: bytes) -> None:
    data = warc_bytes([valid_unicode(page) for page in pages], gzip_records)
    at = min(cut, len(data))
    check_read("crawl.warc.gz" if gzip_records else "crawl.warc",
               data[:at] + splice + data[at + len(splice):])


@BUDGET
@given(st.binary(max_size=400) | st.text(max_size=200).map(
    lambda text: valid_unicode(text).encode("utf-16-le")))
def test_decoding_any_bytes_gives_text_or_an_input_problem(data: bytes) -> None:
    try:
        text = decode_bytes(data)
    except InputProblem as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(text, str)
