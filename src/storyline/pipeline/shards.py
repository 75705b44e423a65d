"""Inputs cut into shards that workers read themselves, so that the client never holds a corpus.

``plan_shards(inputs)`` walks the inputs the way ``storyline.read.readers.read_inputs`` does and
yields ``Shard``s, in input order, each holding at most ``size`` documents (a few more when one
input, a URL or a file that cannot be split, holds them):

* a JSONL file: ranges of its lines (a byte offset, the first line's number, the byte length);
* a CSV file: ranges of its records (a record ends at a line end outside quotes), each read
  after the file's header line;
* a WARC file: ranges of its records (a record's offset; gzipped WARCs only when every record
  is its own gzip member, as crawlers write them);
* a folder or a glob: lists of its files (record and WARC files in it are split as above);
* a URL or a single document: one unit, read where the shard runs;
* standard input: read here, once, and carried in the shard.

The client reads each record file once to find its boundaries (line ends, WARC record headers),
keeping only offsets. A file that cannot be split (gzipped JSONL or CSV, a damaged or empty file,
a CSV without a text column) is one unit, read whole by one worker, so that its errors come out
exactly as a local ingest gives them. ``read_shard`` is what a worker runs: the same readers, the
same origins (``file.jsonl:LINE``, ``file.warc:N``) and the same one-line ``InputError``s.

Paths travel as they are written: the workers must see the files at the same paths (a shared
file system, or the same copy on each machine).
"""

from __future__ import annotations

import io
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from storyline.model import Mode
from storyline.read.decode import MAX_INPUT_BYTES, MEGABYTE
from storyline.read.fetch import Fetcher
from storyline.read.readers import (
    CSV_SUFFIXES,
    GLOB_CHARACTERS,
    GZIP_SUFFIX,
    JSONL_SUFFIXES,
    STDIN_INPUT,
    URL_SCHEMES,
    WARC_SUFFIXES,
    Item,
    article_response_mode,
    check_gzip_complete,
    csv_items,
    directory_files,
    glob_matches,
    inner_suffix,
    is_known_suffix,
    jsonl_items,
    one_input,
    read_directory_member,
    read_file,
    read_inputs,
    warc_items,
)

SHARD_DOCUMENTS = 16  # documents per shard: one annotation batch on a worker
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Named:
    """An input read by ``read_inputs`` as it is: a URL, a single file, a path that fails."""

    input: str


@dataclass(frozen=True)
class Member:
    """A file found in a folder (``in_folder``: only documents are read) or matched by a glob."""

    path: str
    in_folder: bool


@dataclass(frozen=True)
class Records:
    """A range of a record file: ``length`` bytes from ``start``, its first line (JSONL, CSV)
    or record (WARC) numbered ``first``; ``count`` WARC records. CSV ranges are read after the
    file's ``header`` bytes."""

    kind: str  # "jsonl", "csv" or "warc"
    path: str
    start: int
    length: int
    first: int
    documents: int
    count: int = 0
    header: int = 0


@dataclass(frozen=True)
class Given:
    """Items read on the client (standard input, errors found while planning)."""

    items: tuple[Item, ...]


Unit = Named | Member | Records | Given


@dataclass(frozen=True)
class Shard:
    """Units read together by one task; ``documents``: at most how many documents they hold
    (counted for back-pressure)."""

    units: tuple[Unit, ...]
    documents: int


@dataclass(frozen=True)
class ReadOptions:
    """What reading needs where a shard runs (the ``ingest`` command's options)."""

    mode: Mode | None = None
    allow_private: bool = False
    timeout: float | None = None


# --- planning (the client) -----------------------------------------------------------------


def plan_shards(inputs: Iterable[str], size: int = SHARD_DOCUMENTS,
                options: ReadOptions | None = None) -> Iterator[Shard]:
    """The inputs as shards of at most ``size`` documents each, lazily, in input order."""
    options = options or ReadOptions()
    units: list[Unit] = []
    documents = 0
    for unit, weight in _units(inputs, size, options):
        if units and documents + weight > size:
            yield Shard(tuple(units), documents)
            units, documents = [], 0
        units.append(unit)
        documents += weight
    if units:
        yield Shard(tuple(units), documents)


def _units(inputs: Iterable[str], size: int, options: ReadOptions) -> Iterator[tuple[Unit, int]]:
    if isinstance(inputs, str):
        inputs = [inputs]
    for item in inputs:
        if item == STDIN_INPUT:
            yield Given(tuple(read_inputs([item], mode=options.mode))), 1
        elif item.lower().startswith(URL_SCHEMES):
            yield Named(item), 1
        else:
            yield from _local_units(item, size)


def _local_units(item: str, size: int) -> Iterator[tuple[Unit, int]]:
    path = Path(item)
    try:
        is_folder = stat.S_ISDIR(path.stat().st_mode)
    except OSError:
        if GLOB_CHARACTERS & set(item) and not (path.exists() or "://" in item):
            yield from _glob_units(item, size)
        else:
            yield Named(item), 1  # missing, or another scheme: the reader says why
        return
    if is_folder:
        yield from _folder_units(path, size)
    else:
        yield from _file_units(path, size, Named(item))


def _folder_units(root: Path, size: int) -> Iterator[tuple[Unit, int]]:
    unreadable: list[OSError] = []
    files = directory_files(root, unreadable)
    if unreadable or not any(is_known_suffix(path) for path in files):
        yield Named(str(root)), max(1, len(files))  # its errors come from the folder reader
        return
    for path in files:
        yield from _file_units(path, size, Member(str(path), in_folder=True))


def _glob_units(pattern: str, size: int) -> Iterator[tuple[Unit, int]]:
    matches = glob_matches(pattern)
    if not matches:
        yield Named(pattern), 1
    seen: set[Path] = set()
    for match in matches:
        is_folder = match.is_dir()
        for path in directory_files(match) if is_folder else [match]:
            if path not in seen:
                seen.add(path)
                yield from _file_units(path, size, Member(str(path), in_folder=is_folder))


def _file_units(path: Path, size: int, whole: Unit) -> Iterator[tuple[Unit, int]]:
    """A record file's ranges, or ``whole`` (one unit) for anything that is not split."""
    suffix = inner_suffix(path)
    splittable = suffix in JSONL_SUFFIXES | CSV_SUFFIXES | WARC_SUFFIXES and _regular(path)
    if isinstance(whole, Member) and whole.in_folder and not is_known_suffix(path):
        splittable = False
    ranges: list[Records] = []
    if splittable:
        try:
            ranges = list(_ranges(path, suffix, size))
        except Exception:  # noqa: BLE001 - anything odd: the whole file goes to one reader
            ranges = []
    if not ranges:
        yield whole, 1
        return
    for part in ranges:
        yield part, part.documents


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _ranges(path: Path, suffix: str, size: int) -> Iterator[Records]:
    if suffix in WARC_SUFFIXES:
        yield from _warc_ranges(path, size)
        return
    if path.suffix.lower() == GZIP_SUFFIX:
        return  # a gzip stream cannot be entered at an offset: read whole
    if suffix in JSONL_SUFFIXES:
        yield from _line_ranges(path, size)
    else:
        yield from _csv_ranges(path, size)


def _line_starts(path: Path) -> Iterator[tuple[int, bool]]:
    """(byte offset, blank) of each line, reading the file in pieces (a line may be huge)."""
    with path.open("rb") as stream:
        offset = 0
        while True:
            start = offset
            blank = True
            piece = stream.readline(MEGABYTE)
            if not piece:
                return
            while True:
                offset += len(piece)
                blank = blank and not piece.strip()
                if piece.endswith(b"\n"):
                    break
                piece = stream.readline(MEGABYTE)
                if not piece:
                    break
            yield start, blank


def _line_ranges(path: Path, size: int) -> Iterator[Records]:
    """JSONL: ranges of ``size`` non-blank lines (blank lines ride along, as in the reader)."""
    end = path.stat().st_size
    starts: list[tuple[int, int]] = []  # (offset, line number) of each range's first line
    records = 0
    for number, (offset, blank) in enumerate(_line_starts(path), start=1):
        if blank:
            continue
        if records % size == 0:
            starts.append((offset, number))
        records += 1
    if not records:
        return  # the reader says "no records"
    for index, (offset, number) in enumerate(starts):
        stop = starts[index + 1][0] if index + 1 < len(starts) else end
        count = size if index + 1 < len(starts) else records - size * index
        yield Records("jsonl", str(path), offset, stop - offset, number, documents=count)


def _csv_ranges(path: Path, size: int) -> Iterator[Records]:
    """CSV: ranges of ``size`` records after the header; a record ends at a line end that is
    outside quotes (an even count of quote characters so far: doubled quotes keep it even)."""
    end = path.stat().st_size
    boundaries: list[tuple[int, int]] = []  # (offset, line) where each record starts
    quotes = 0
    # Blank rows go with the record after them: the reader names that record by the line
    # after the last record read, the first blank one.
    blank_before: tuple[int, int] | None = None
    with path.open("rb") as stream:
        offset, line = 0, 1
        at_record_start = True
        while piece := stream.readline(MAX_INPUT_BYTES):
            if at_record_start and boundaries and not piece.strip():
                blank_before = blank_before or (offset, line)
            elif at_record_start:
                boundaries.append(blank_before or (offset, line))
                blank_before = None
            quotes += piece.count(b'"')
            offset += len(piece)
            if piece.endswith(b"\n"):
                line += 1
                at_record_start = quotes % 2 == 0
            else:
                at_record_start = False
    if quotes % 2 or len(boundaries) < 2:
        return  # an unclosed quote or no records: the reader says so
    header = boundaries[1][0]  # the header line's bytes (a quoted name may span lines)
    if not _csv_header_ok(path, header):
        return
    records = [(offset, line) for offset, line in boundaries[1:] if offset < end]
    for index in range(0, len(records), size):
        offset, line = records[index]
        stop = records[index + size][0] if index + size < len(records) else end
        count = min(size, len(records) - index)
        yield Records("csv", str(path), offset, stop - offset, line, documents=count,
                      header=header)


def _csv_header_ok(path: Path, header: int) -> bool:
    """Whether the header names a body column (else the reader's own error, once, is wanted)."""
    with path.open("rb") as stream:
        try:
            text = stream.read(header).decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
    columns = {name.strip().strip('"').lower() for name in text.strip().split(",")}
    return bool(columns & {"text", "html"})


def _warc_ranges(path: Path, size: int) -> Iterator[Records]:
    """WARC: ranges holding ``size`` article records each (other records ride along)."""
    end = path.stat().st_size
    with path.open("rb") as stream:
        gzipped = stream.read(2) == GZIP_MAGIC
        stream.seek(0)
        records = ArchiveIterator(stream)
        starts: list[tuple[int, int, int]] = []  # (offset, first record, articles)
        number = 0
        for number, record in enumerate(records, start=1):
            if not record.format.startswith("warc"):
                return
            offset = records.get_record_offset()
            article = article_response_mode(record) is not None
            if not starts or (article and starts[-1][2] >= size):
                starts.append((offset, number, 0))
            if article:
                first_offset, first, articles = starts[-1]
                starts[-1] = (first_offset, first, articles + 1)
        total = number
    if not any(articles for _, _, articles in starts):
        return  # the reader says "no successful responses"
    if gzipped and not _every_start_a_member(path, [offset for offset, _, _ in starts]):
        return
    if gzipped:
        check_gzip_complete(path)  # warcio ends a cut gzip quietly: the reader's error is wanted
    for index, (offset, first, articles) in enumerate(starts):
        after, next_first, _ = starts[index + 1] if index + 1 < len(starts) else (end, total + 1, 0)
        yield Records("warc", str(path), offset, after - offset, first, documents=max(1, articles),
                      count=next_first - first)


def _every_start_a_member(path: Path, offsets: list[int]) -> bool:
    """A gzipped WARC is entered at a record only when that record begins a gzip member."""
    with path.open("rb") as stream:
        for offset in offsets:
            stream.seek(offset)
            if stream.read(2) != GZIP_MAGIC:
                return False
    return True


# --- reading (a worker) --------------------------------------------------------------------


def read_shard(shard: Shard, options: ReadOptions) -> Iterator[Item]:
    """Every item of ``shard``, in order, each unit inside its own error boundary."""
    fetcher: Fetcher | None = None
    try:
        for unit in shard.units:
            if isinstance(unit, Named) and unit.input.lower().startswith(URL_SCHEMES):
                if fetcher is None:
                    fetcher = _fetcher(options)
            yield from _read_unit(unit, options, fetcher)
    finally:
        if fetcher is not None:
            fetcher.close()


def _fetcher(options: ReadOptions) -> Fetcher:
    if options.timeout is None:
        return Fetcher(allow_private=options.allow_private)
    return Fetcher(allow_private=options.allow_private, timeout=options.timeout)


def _read_unit(unit: Unit, options: ReadOptions, fetcher: Fetcher | None) -> Iterator[Item]:
    mode = options.mode
    if isinstance(unit, Given):
        yield from unit.items
    elif isinstance(unit, Named):
        yield from read_inputs([unit.input], mode=mode, fetcher=fetcher,
                               allow_private=options.allow_private)
    elif isinstance(unit, Member):
        path = Path(unit.path)
        reader = read_directory_member(path, mode) if unit.in_folder else read_file(path, mode)
        yield from one_input(unit.path, reader)
    else:
        yield from one_input(unit.path, _read_records(unit, mode))


def _read_records(unit: Records, mode: Mode | None) -> Iterator[Item]:
    path = Path(unit.path)
    with path.open("rb") as stream:
        if unit.kind == "warc":
            stream.seek(unit.start)
            yield from warc_items(stream, path, mode, first=unit.first, count=unit.count)
            return
        header = stream.read(unit.header) if unit.kind == "csv" else b""
        stream.seek(unit.start)
        data = stream.read(unit.length)  # at most one shard's records
    if unit.kind == "jsonl":
        yield from jsonl_items(io.BytesIO(data), path, mode, first_line=unit.first)
        return
    header_lines = header.count(b"\n")
    yield from csv_items(io.BytesIO(header + data), path, mode,
                         line_offset=unit.first - header_lines - 1, whole_file=False)


def shard_origin(shard: Shard) -> str:
    """A name for the shard's inputs, for an error that sinks the whole shard."""
    first = shard.units[0]
    if isinstance(first, Given):
        return next((item.origin for item in first.items), STDIN_INPUT)
    if isinstance(first, Named):
        return first.input
    if isinstance(first, Records):
        return f"{first.path}:{first.first}"
    return first.path

