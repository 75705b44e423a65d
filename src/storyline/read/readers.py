"""Read stage: every kind of input a user has -> ``Source`` objects (or ``InputError``s).

One input string can be:

* ``-``: standard input, sniffed as HTML or text;
* an ``http(s)://`` URL, downloaded by ``storyline.read.fetch.Fetcher``;
* a file: ``.txt``/``.md`` are text, ``.html``/``.htm`` are HTML, anything else is sniffed;
  ``.gz`` files are decompressed first (``article.html.gz``);
* a record file, one ``Source`` per record: ``.jsonl``/``.ndjson`` (origin ``file.jsonl:LINE``)
  and ``.csv`` (origin ``file.csv:LINE``, the record's first line), each record holding ``text``
  or ``html`` plus optional ``url``, ``title``, ``published``, ``outlet``, ``authors``;
* a WARC file (``.warc``, ``.warc.gz``): every successful HTML or plain-text ``response`` record
  (origin ``file.warc:N``, N counting all records from 1; ``hints.url`` is the target URI);
  other records (requests, metadata, redirects, images, scripts ...) are skipped silently,
  since a crawl holds far more of them than articles;
* a directory, read recursively in sorted path order;
* a glob pattern (``"news/*.html"``, ``"**/*.txt"``) for shells that do not expand it.

Directories skip hidden files and folders, and every file that cannot be an article: files
whose suffix is not a document, record or WARC suffix (saved web pages bring folders of images,
stylesheets and scripts), and suffix-less files whose content is binary. Those are logged at
DEBUG level, not reported, since they are expected there. A file with a document suffix that
turns out to be empty or binary *is* reported: it claims to be an article.

Limits: one document (file, decompressed ``.gz``, stdin) may be at most ``MAX_INPUT_BYTES``
(20 MB). Record and WARC files are streamed, so that cap applies to each record, not the file.
FIFOs, devices and sockets are refused before they are opened: reading one can wait forever.

Every problem becomes an ``InputError`` with a one-line reason; the batch goes on. Each input
(and each file of a folder or glob) is read inside one error boundary (``one_input``): whatever
reading it raises becomes one ``InputError`` naming it, after the documents it already gave.
docs/bad-input.md lists the bad inputs and what the user sees for each.
"""

from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import logging
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord

from storyline.errors import InputProblem
from storyline.model import Hints, InputError, Mode, Source
from storyline.read.decode import (
    INFLATE_PIECE_BYTES,
    MAX_INFLATE_RATIO,
    MAX_INPUT_BYTES,
    MEGABYTE,
    BinaryContent,
    check_size,
    decode_bytes,
    sniff_mode,
    valid_unicode,
)
from storyline.read.fetch import Fetcher

log = logging.getLogger(__name__)

STDIN_INPUT = "-"
STDIN_ORIGIN = "<stdin>"
URL_SCHEMES = ("http://", "https://")
ANY_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://")
GLOB_CHARACTERS = frozenset("*?[")

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".shtml"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
CSV_SUFFIXES = frozenset({".csv"})
WARC_SUFFIXES = frozenset({".warc"})
GZIP_SUFFIX = ".gz"

BODY_FIELDS: tuple[Mode, ...] = ("text", "html")
ARTICLE_CONTENT_TYPES: dict[str, Mode] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
}
CHARSET_PARAMETER = re.compile(r"charset\s*=\s*[\"']?([^\"';\s]+)", re.IGNORECASE)
SIZE_LIMIT = f"{MAX_INPUT_BYTES // MEGABYTE} MB"

Item = Source | InputError


def read_inputs(
    inputs: Iterable[str],
    *,
    mode: Mode | None = None,
    allow_private: bool = False,
    fetcher: Fetcher | None = None,
) -> Iterator[Item]:
    """Yield a ``Source`` or an ``InputError`` for every document the inputs hold, lazily, in order.

    ``mode`` forces HTML or text for documents whose kind would otherwise come from their suffix
    or content. URLs use ``fetcher`` when given (its own ``allow_private`` setting applies);
    otherwise one ``Fetcher(allow_private=allow_private)`` is made on the first URL and closed
    at the end.
    """
    if isinstance(inputs, str):  # one input passed bare; iterating it would yield its characters
        inputs = [inputs]
    owned: Fetcher | None = None
    try:
        for item in inputs:
            if item.lower().startswith(URL_SCHEMES):
                if fetcher is None:
                    fetcher = owned = Fetcher(allow_private=allow_private)
                yield fetch_url(fetcher, item)
            else:
                yield from one_input(item, read_local(item, mode))
    finally:
        if owned is not None:
            owned.close()


def fetch_url(fetcher: Fetcher, url: str) -> Item:
    try:
        return fetcher.fetch(url)
    except Exception as exc:  # noqa: BLE001 - the boundary of one input: it never stops the batch
        return input_error(url, exc)


def one_input(origin: str, items: Iterator[Item]) -> Iterator[Item]:
    """The error boundary of one input: what ``items`` gave is kept, and whatever reading it
    raises becomes one ``InputError`` for ``origin``; the next input is read all the same."""
    try:
        yield from items
    except Exception as exc:  # noqa: BLE001 - the boundary of one input: it never stops the batch
        yield input_error(origin, exc)


def input_error(origin: str, exc: Exception) -> InputError:
    """An exception met reading ``origin`` as its one-line ``InputError``."""
    if isinstance(exc, InputProblem):
        return InputError(origin, str(exc))
    if isinstance(exc, OSError):
        return InputError(origin, os_reason(exc))
    if isinstance(exc, RecursionError):
        return InputError(origin, "nested too deeply to read")
    # Not foreseen: still one line, naming the exception so that it can be reported as a bug.
    return InputError(origin, f"cannot read this input ({type(exc).__name__}: {one_line(str(exc))})")


def read_local(item: str, mode: Mode | None) -> Iterator[Item]:
    """Everything that is not an http(s) URL: stdin, files, directories, globs."""
    if item == STDIN_INPUT:
        yield read_stdin(mode)
        return
    other_url = ANY_URL.match(item)
    if other_url:
        yield InputError(item, f"unsupported URL scheme {other_url.group(1)!r} (only http and https)")
        return
    path = Path(item)
    try:
        is_folder = stat.S_ISDIR(path.stat().st_mode)
    except FileNotFoundError:
        if GLOB_CHARACTERS & set(item):
            yield from read_glob(item, mode)
        else:
            yield InputError(item, "no such file or directory")
        return
    yield from read_directory(path, mode) if is_folder else read_file(path, mode)


# --- standard input -----------------------------------------------------------------------


def read_stdin(mode: Mode | None) -> Item:
    if sys.stdin is None:  # Python's stand-in for a closed file descriptor 0 (``<&-``)
        return InputError(STDIN_ORIGIN, "standard input is closed")
    stream: IO[Any] = getattr(sys.stdin, "buffer", sys.stdin)
    try:
        data = stream.read(MAX_INPUT_BYTES + 1)
        if isinstance(data, str):  # a text-only stdin replacement (embedding, some tests)
            data = data.encode("utf-8")
        if len(data) > MAX_INPUT_BYTES:
            raise InputProblem(f"standard input is over the {SIZE_LIMIT} limit")
        text = decode_bytes(data)
    except InputProblem as exc:
        return InputError(STDIN_ORIGIN, reason_for_stdin(str(exc)))
    except (OSError, ValueError) as exc:  # ValueError: a stdin closed inside the process
        return InputError(STDIN_ORIGIN, "standard input is closed" if isinstance(exc, ValueError)
                          else os_reason(exc))
    return Source(origin=STDIN_ORIGIN, data=text, mode=mode or sniff_mode(text))


def reason_for_stdin(reason: str) -> str:
    return "empty standard input" if reason == "empty file" else reason


# --- files, directories, globs ------------------------------------------------------------


def read_directory(root: Path, mode: Mode | None) -> Iterator[Item]:
    found = False
    unreadable: list[OSError] = []
    for path in directory_files(root, unreadable):
        for item in one_input(str(path), read_directory_member(path, mode)):
            found = True
            yield item
    for error in unreadable:  # a folder that cannot be listed is named, with the true reason
        found = True
        yield InputError(error.filename or str(root), os_reason(error))
    if not found:  # say so, rather than let a whole folder vanish without a word
        yield InputError(str(root), "no text, HTML, JSONL, CSV or WARC files in this directory")


def read_directory_member(path: Path, mode: Mode | None) -> Iterator[Item]:
    """A file found in a directory: only documents, record and WARC files are read."""
    refuse_special_file(path)
    if is_known_suffix(path):
        yield from read_file(path, mode)
    elif path.suffix:
        log.debug("skipped %s: not a document, record or WARC file", path)
    else:
        yield from read_unnamed_file(path, mode)


def directory_files(root: Path, unreadable: list[OSError] | None = None) -> list[Path]:
    """Non-hidden files below ``root``, sorted by path; hidden folders are not entered, nor
    linked ones (a link to a parent would loop). Folders that cannot be listed are added to
    ``unreadable``."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=None if unreadable is None
                                             else unreadable.append):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found.extend(Path(folder, name) for name in names if not name.startswith("."))
    return sorted(found, key=lambda path: path.relative_to(root).parts)


def read_unnamed_file(path: Path, mode: Mode | None) -> Iterator[Item]:
    """A suffix-less file inside a directory: read it unless its content is binary."""
    try:
        yield read_document(path, mode)
    except BinaryContent:
        log.debug("skipped %s: binary content", path)
    except InputProblem as exc:
        yield InputError(str(path), str(exc))
    except OSError as exc:
        yield InputError(str(path), os_reason(exc))


def read_glob(pattern: str, mode: Mode | None) -> Iterator[Item]:
    """Matched files are read as if named; matched folders as folders; each file once only."""
    matches = glob_matches(pattern)
    if not matches:
        yield InputError(pattern, "no files match this pattern")
    seen: set[Path] = set()  # "news/**" matches a folder and, again, every file inside it
    for match in matches:
        is_folder = match.is_dir()
        for path in directory_files(match) if is_folder else [match]:
            if path in seen:
                continue
            seen.add(path)
            member = read_directory_member(path, mode) if is_folder else read_file(path, mode)
            yield from one_input(str(path), member)


def glob_matches(pattern: str) -> list[Path]:
    """The paths ``pattern`` matches, sorted; hidden names only where the pattern names them.

    pathlib's ``**`` does not enter linked folders, where ``glob.glob`` follows them round a
    link to a parent folder until the path is too long (for a few such links, for ever).
    """
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts) if GLOB_CHARACTERS & set(part)), len(parts))
    base = Path(*parts[:fixed]) if fixed else Path()
    rest = Path(*parts[fixed:]) if fixed < len(parts) else None
    if rest is None:
        return [base] if base.exists() else []
    wants_hidden = any(part.startswith(".") for part in rest.parts)
    try:
        matches = [path for path in base.glob(str(rest))
                   if wants_hidden or not any(p.startswith(".") for p in path.relative_to(base).parts)]
    except (OSError, ValueError):  # ValueError: a pattern pathlib refuses, such as "a/**b"
        return sorted(map(Path, glob.glob(pattern)))  # no "**": no recursion, no loop
    return sorted(matches)


def read_file(path: Path, mode: Mode | None) -> Iterator[Item]:
    """One named file: a document, or a record / WARC file holding many."""
    refuse_special_file(path)
    suffix = inner_suffix(path)
    if suffix in JSONL_SUFFIXES:
        reader: Callable[[Path, Mode | None], Iterator[Item]] = read_jsonl
    elif suffix in CSV_SUFFIXES:
        reader = read_csv
    elif suffix in WARC_SUFFIXES:
        reader = read_warc
    else:
        yield read_document_or_error(path, mode)
        return
    yield from one_input(str(path), reader(path, mode))


SPECIAL_FILE_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def refuse_special_file(path: Path) -> None:
    """Refuse FIFOs, devices and sockets before opening them: a FIFO nobody writes to would
    block the read for ever, and a device such as /dev/zero never ends."""
    mode = path.stat().st_mode
    for is_kind, name in SPECIAL_FILE_KINDS:
        if is_kind(mode):
            raise InputProblem(f"not a regular file but {name}; use - to read standard input")


def read_document_or_error(path: Path, mode: Mode | None) -> Item:
    try:
        return read_document(path, mode)
    except InputProblem as exc:
        return InputError(str(path), str(exc))
    except OSError as exc:
        return InputError(str(path), os_reason(exc))


def read_document(path: Path, mode: Mode | None) -> Source:
    text = decode_bytes(read_capped(path))
    return Source(origin=str(path), data=text, mode=mode or suffix_mode(path) or sniff_mode(text))


def read_capped(path: Path) -> bytes:
    """The file's bytes (decompressed for ``.gz``), refusing more than ``MAX_INPUT_BYTES``."""
    check_size(path.stat().st_size)  # before reading: a 5 GB file must not be loaded to find out
    if path.suffix.lower() != GZIP_SUFFIX:
        with path.open("rb") as stream:
            return stream.read(MAX_INPUT_BYTES + 1)  # +1: a file growing meanwhile is still caught
    with GzipStream(path) as stream:
        data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputProblem(f"decompressed file is over the {SIZE_LIMIT} limit")
    if len(data) > INFLATE_PIECE_BYTES and len(data) > MAX_INFLATE_RATIO * path.stat().st_size:
        raise InputProblem(f"file inflates to over {MAX_INFLATE_RATIO} times its compressed size; "
                           "refused as a compression bomb")
    return data


class GzipStream:
    """``gzip.open`` as a context manager whose corrupt-data failures surface as ``InputProblem``."""

    def __init__(self, path: Path) -> None:
        # typeshed declares GzipFile a BufferedIOBase only; it is a complete binary file object.
        self._stream = cast(IO[bytes], gzip.open(path, "rb"))

    def __enter__(self) -> IO[bytes]:
        return self._stream

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stream.close()
        if isinstance(exc, (gzip.BadGzipFile, EOFError, zlib.error)):
            raise InputProblem(f"corrupt or truncated gzip file ({exc})") from exc


def open_binary(path: Path) -> AbstractContextManager[IO[bytes]]:
    return GzipStream(path) if path.suffix.lower() == GZIP_SUFFIX else path.open("rb")


def inner_suffix(path: Path) -> str:
    """The suffix that names the content: ``.html`` for ``page.html.gz``."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == GZIP_SUFFIX:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def suffix_mode(path: Path) -> Mode | None:
    suffix = inner_suffix(path)
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in HTML_SUFFIXES:
        return "html"
    return None


def is_known_suffix(path: Path) -> bool:
    suffix = inner_suffix(path)
    return suffix_mode(path) is not None or suffix in JSONL_SUFFIXES | CSV_SUFFIXES | WARC_SUFFIXES


def os_reason(exc: OSError) -> str:
    """``PermissionError`` -> "permission denied", in the style of the other reasons."""
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


# --- record files: JSONL and CSV -----------------------------------------------------------


def read_jsonl(path: Path, mode: Mode | None) -> Iterator[Item]:
    with open_binary(path) as stream:
        records = yield from jsonl_items(stream, path, mode)
    if not records:  # say so, rather than let a whole file vanish without a word
        raise InputProblem("no records in this JSONL file (it is empty or blank)")


def jsonl_items(stream: IO[bytes], path: Path, mode: Mode | None,
                first_line: int = 1) -> Generator[Item, None, int]:
    """The records of ``stream`` (a whole JSONL file, or a range of its lines starting at line
    ``first_line``: a shard); returns how many non-blank lines there were."""
    records = 0
    for number, line in enumerate(capped_lines(stream), start=first_line):
        if line is not None and not line.strip():
            continue
        records += 1
        where = f"{path}:{number}"
        try:
            yield record_source(parse_json_record(line), where, mode)
        except InputProblem as exc:
            yield InputError(where, str(exc))
    return records


def capped_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """The stream's lines; None stands for a line over the size cap (skipped, not held in memory)."""
    while line := stream.readline(MAX_INPUT_BYTES + 1):
        if len(line) <= MAX_INPUT_BYTES or line.endswith(b"\n"):
            yield line
            continue
        while (rest := stream.readline(MEGABYTE)) and not rest.endswith(b"\n"):
            pass
        yield None


def parse_json_record(line: bytes | None) -> dict[str, Any]:
    if line is None:
        raise InputProblem(f"record is over the {SIZE_LIMIT} limit")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputProblem(f"malformed JSON: {exc.msg} at column {exc.colno}") from exc
    except UnicodeDecodeError as exc:
        raise InputProblem("malformed JSON: not valid UTF-8") from exc
    except RecursionError as exc:  # "[[[[...]]]]" thousands deep exhausts the parser's stack
        raise InputProblem("malformed JSON: nested too deeply") from exc
    if not isinstance(record, dict):
        raise InputProblem(f"record is a JSON {type(record).__name__}, not an object")
    return record


def read_csv(path: Path, mode: Mode | None) -> Iterator[Item]:
    with open_binary(path) as raw:
        yield from csv_items(raw, path, mode)


def csv_items(raw: IO[bytes], path: Path, mode: Mode | None, line_offset: int = 0,
              whole_file: bool = True) -> Iterator[Item]:
    """The records of ``raw``: a whole CSV file, or (a shard) its header line followed by a
    range of its records, whose line numbers are ``line_offset`` more than in ``raw``."""
    # Article HTML easily passes the csv module's default 128 KB field limit.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_INPUT_BYTES))
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        # strict: a quote left open would otherwise swallow every row after it, without a word.
        rows = csv.DictReader(text, strict=True)
        first_line = 1
        try:
            columns = {name.strip().lower() for name in rows.fieldnames or ()}
            if not rows.fieldnames:
                raise InputProblem("empty file")
            if not columns & set(BODY_FIELDS):
                raise InputProblem("CSV has no 'text' or 'html' column")
            found = False
            while True:
                first_line = rows.line_num + 1  # a quoted field may span lines: name its first
                row = next(rows, None)
                if row is None:
                    break
                found = True
                yield csv_record(row, f"{path}:{first_line + line_offset}", mode)
            if not found and whole_file:
                raise InputProblem("no records in this CSV file, only its header")
        except UnicodeDecodeError as exc:
            line = rows.line_num + 1
            raise InputProblem(f"not valid UTF-8 near line {line} (save the CSV as UTF-8)") from exc
        except csv.Error as exc:
            raise InputProblem(csv_error_reason(exc, first_line, rows.line_num)) from exc


def csv_record(row: dict[str, Any], where: str, mode: Mode | None) -> Item:
    try:
        return record_source(row, where, mode)
    except InputProblem as exc:
        return InputError(where, str(exc))


def csv_error_reason(exc: csv.Error, record_line: int, line: int) -> str:
    if "unexpected end of data" in str(exc):
        return (f"unclosed quote in the record starting at line {record_line}: "
                "it runs to the end of the file, so the rows after it were not read")
    return f"line {line}: malformed CSV ({exc}); the rows after it were not read"


def record_source(record: dict[Any, Any], origin: str, mode: Mode | None) -> Source:
    """A JSONL object or CSV row -> ``Source`` with the record's metadata as ``Hints``."""
    fields = {str(key).strip().lower(): value for key, value in record.items() if key is not None}
    body_mode, body = record_body(fields, mode)
    hints = Hints(
        url=optional_string(fields, "url"),
        title=optional_string(fields, "title"),
        published=optional_string(fields, "published"),
        outlet=optional_string(fields, "outlet"),
        authors=author_list(fields.get("authors")),
        record_id=_record_id(fields.get("id")),
    )
    return Source(origin=origin, data=body, mode=body_mode, hints=hints)


def _record_id(value: Any) -> str | None:
    """A record's own ``id`` as text (a number or a string; anything else is no id)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = valid_unicode(str(value).strip())
    return text or None


def record_body(fields: dict[str, Any], mode: Mode | None) -> tuple[Mode, str]:
    """The record's article: ``text`` first (already clean prose), then ``html``.

    A ``mode`` asks for that field first, e.g. ``html`` when a record carries both.
    """
    order = sorted(BODY_FIELDS, key=lambda name: name != mode)
    for name in order:
        value = fields.get(name)
        if isinstance(value, str) and value.strip():
            return name, valid_unicode(value)
        if value not in (None, "") and not isinstance(value, str):
            raise InputProblem(f"field '{name}' must be a string, not {type(value).__name__}")
    raise InputProblem("record has no 'text' or 'html' field")


def optional_string(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):  # e.g. a bare year as "published"
        return str(value)
    if not isinstance(value, str):
        raise InputProblem(f"field '{name}' must be a string, not {type(value).__name__}")
    return valid_unicode(value.strip()) or None


def author_list(value: Any) -> list[str]:
    """A list of names, or one string "A; B" / "A, B" (";" wins: "Smith, J.; Doe, A.")."""
    if value is None:
        return []
    if isinstance(value, str):
        separator = ";" if ";" in value else ","
        names: list[Any] = value.split(separator)
    elif isinstance(value, list):
        names = value
    else:
        raise InputProblem(f"field 'authors' must be a list or a string, not {type(value).__name__}")
    if not all(isinstance(name, str) for name in names):
        raise InputProblem("field 'authors' must hold only strings")
    return [valid_unicode(name.strip()) for name in names if name.strip()]


# --- WARC ----------------------------------------------------------------------------------


def read_warc(path: Path, mode: Mode | None) -> Iterator[Item]:
    # warcio recognises gzip-compressed WARCs (per-record or whole-file) by itself.
    if path.stat().st_size == 0:
        raise InputProblem("empty file")
    with path.open("rb") as stream:
        found = yield from warc_items(stream, path, mode)
    check_gzip_complete(path)
    if not found:  # say so, rather than let a whole archive vanish without a word
        raise InputProblem("no successful HTML or plain-text responses in this WARC file")


def warc_items(stream: IO[bytes], path: Path, mode: Mode | None, first: int = 1,
               count: int | None = None) -> Generator[Item, None, int]:
    """The articles of the WARC records in ``stream``: all of them, or (a shard) ``count``
    records from where ``stream`` stands, numbered from ``first``; returns how many articles."""
    found = 0
    try:
        for number, record in enumerate(ArchiveIterator(stream), start=first):
            if count is not None and number >= first + count:
                break
            # warcio also reads the older ARC format, so leniently that plain text passes.
            if not record.format.startswith("warc"):
                raise InputProblem("not a valid WARC file (no WARC record header)")
            item = warc_item(record, f"{path}:{number}", mode)
            check_complete(record, number)  # before a cut record is taken for an article
            if item is not None:
                found += 1
                yield item
    except ArchiveLoadFailed as exc:
        raise InputProblem(f"not a valid WARC file ({one_line(str(exc))})") from exc
    except (zlib.error, EOFError) as exc:
        raise InputProblem(f"corrupt or truncated WARC file ({exc})") from exc
    return found


def check_gzip_complete(path: Path) -> None:
    """Refuse a gzipped WARC cut inside a member: warcio ends such a file quietly, dropping the
    cut record, where the gzip module notices the missing end of the stream."""
    with path.open("rb") as stream:
        if stream.read(2) != b"\x1f\x8b":
            return
    with GzipStream(path) as unpacked:
        while unpacked.read(MEGABYTE):
            pass


def check_complete(record: ArcWarcRecord, number: int) -> None:
    """Read what is left of the record and refuse it when the file ended before its declared
    ``Content-Length``: a truncated download, or a wrong length that swallowed the records
    after it. Either way the record is cut, and nothing after it can be read."""
    raw = record.raw_stream
    while raw.read(MEGABYTE):
        pass
    missing = getattr(raw, "limit", 0)
    if missing > 0:
        declared = record.rec_headers.get_header("Content-Length") or "?"
        raise InputProblem(
            f"record {number} is cut short: it declares {declared} bytes but the file ends "
            f"{missing} bytes early (a truncated file, or a wrong Content-Length); "
            "nothing after it can be read")


def warc_item(record: ArcWarcRecord, origin: str, mode: Mode | None) -> Item | None:
    """A Source for a successful HTML/text response record; None for every other record."""
    content_mode = article_response_mode(record)
    if content_mode is None:
        return None
    target = record.rec_headers.get_header("WARC-Target-URI")
    try:
        data = record.content_stream().read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise InputProblem(f"record is over the {SIZE_LIMIT} limit")
        content_type = record.http_headers.get_header("Content-Type") or ""
        text = decode_bytes(data, declared=charset_of(content_type))
    except InputProblem as exc:
        return InputError(origin, str(exc))
    return Source(origin=origin, data=text, mode=mode or content_mode, hints=Hints(url=target))


def article_response_mode(record: ArcWarcRecord) -> Mode | None:
    if record.rec_type != "response" or record.http_headers is None:
        return None
    status = record.http_headers.get_statuscode() or ""
    if not status.startswith("2"):
        return None
    content_type = record.http_headers.get_header("Content-Type") or ""
    return ARTICLE_CONTENT_TYPES.get(content_type.split(";", 1)[0].strip().lower())


def charset_of(content_type: str) -> str | None:
    match = CHARSET_PARAMETER.search(content_type)
    return match.group(1) if match else None


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
