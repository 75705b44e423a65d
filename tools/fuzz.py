"""Coverage-guided fuzzing of the readers and parsers with atheris (libFuzzer), on demand.

    .venv/bin/python -m pip install -e '.[fuzz]'            # atheris, once
    .venv/bin/python tools/fuzz.py TARGET [libFuzzer flags and corpus folders]
    .venv/bin/python tools/fuzz.py htmlclean -max_total_time=60
    .venv/bin/python tools/fuzz.py --list
    .venv/bin/python tools/fuzz.py --scaling [TARGET ...]       # no atheris needed

Each target takes any bytes and checks the contract the property tests check
(``tests/fuzzing.py``): documents and one-line errors, or a result of the documented type with
every offset inside its input; any other exception, or a failed check, is a crash libFuzzer
reports with the input that caused it (``crash-*`` in the current folder). A dictionary of the
pieces the parsers look for (tags, dates, quote marks) and a small seed corpus are made for each
run unless ``-dict=`` or a corpus folder is given. ``-rss_limit_mb`` (libFuzzer's, 2048 by
default) catches memory blow-ups; ``-timeout`` (seconds per input) catches hangs.

Without atheris the script says so in one line and runs the property tests of the target with a
large budget instead (``STORYLINE_FUZZ_EXAMPLES``, 5000 unless set).

``--scaling`` looks for what libFuzzer's small inputs cannot show: time that grows faster than
the input. Each piece (and random pairs of pieces) is repeated to two lengths, the second four
times the first; an input whose time grows more than eight-fold (and takes a quarter second or
more) is measured again and, if it still does, printed. Exit code 1 when any is found.
"""

from __future__ import annotations

import importlib
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

# Packages whose Python code atheris instruments for coverage: ours, and the parsers we hand
# raw input to (their branches are where odd input goes astray).
INSTRUMENTED = ["storyline", "trafilatura", "htmldate", "warcio", "charset_normalizer"]
FALLBACK_EXAMPLES = "5000"
# Seconds one input may take before libFuzzer calls it a hang (its own default is 20 minutes).
HANG_SECONDS = 30
DCT = "2017-07-07"

# The imports happen inside the targets so that ``main`` can load them under atheris's
# instrumentation first (a module imported before it is not instrumented).


def _text(data: bytes) -> str:
    """Bytes as text, lone surrogates included (undecodable bytes become U+DC80..U+DCFF)."""
    return data.decode("utf-8", "surrogateescape")


def fuzz_jsonl(data: bytes) -> None:
    from tests.fuzzing import check_read

    check_read("records.jsonl", data)


def fuzz_csv(data: bytes) -> None:
    from tests.fuzzing import check_read

    check_read("rows.csv", data)


def fuzz_warc(data: bytes) -> None:
    from tests.fuzzing import check_read

    check_read("crawl.warc.gz" if data[:2] == b"\x1f\x8b" else "crawl.warc", data)


def fuzz_decode(data: bytes) -> None:
    from storyline.errors import InputProblem
    from storyline.read.decode import decode_bytes
    from tests.fuzzing import check_one_line

    try:
        decoded = decode_bytes(data)
    except InputProblem as problem:
        check_one_line(problem)
        return
    decoded.encode("utf-8")  # real text: no lone surrogate


def fuzz_htmlclean(data: bytes) -> None:
    from storyline.errors import InputProblem
    from storyline.read.htmlclean import clean_html
    from tests.fuzzing import check_day, check_extraction, check_one_line

    try:
        result = clean_html(data, url="https://news.example/2017/07/07/bridge")
    except InputProblem as problem:
        check_one_line(problem)
        return
    check_extraction(result)
    check_day(result.meta.get("published"))


def fuzz_textclean(data: bytes) -> None:
    from storyline.read.textclean import clean_text
    from tests.fuzzing import check_extraction

    check_extraction(clean_text(_text(data)))


def fuzz_extract(data: bytes) -> None:
    """The whole document stage: decode, sniff, clean, metadata."""
    from storyline.errors import InputProblem
    from storyline.model import Source
    from storyline.outlets import packaged_registry
    from storyline.pipeline.documents import extract_source
    from tests.fuzzing import check_day, check_one_line

    try:
        document = extract_source(Source("fuzz", data), packaged_registry())
    except InputProblem as problem:
        check_one_line(problem)
        return
    document.text.encode("utf-8")
    check_day(document.published)


def fuzz_dates(data: bytes) -> None:
    from storyline.read.dates import find_dates, find_publication_date
    from tests.fuzzing import check_cites, check_day

    text = _text(data)
    for found in find_dates(text):
        check_cites(text, found.start, found.end, found.text)
    published = find_publication_date(text.split("\n\n"))
    check_day(published[0] if published else None)


def fuzz_timex(data: bytes) -> None:
    from storyline.annotate.timex import find_timexes, resolve_date
    from tests.fuzzing import check_cites

    text = _text(data)
    for timex in find_timexes(text, DCT):
        check_cites(text, timex.start, timex.end, timex.text)
        resolve_date(timex.value)


def fuzz_quotes(data: bytes) -> None:
    from storyline.annotate.quotes import quotes_of_text
    from storyline.read.decode import valid_unicode
    from tests.fuzzing import check_cites

    text = valid_unicode(_text(data))  # the readers never hand on a lone surrogate
    for quote in quotes_of_text(text):
        check_cites(text, quote.start, quote.end, quote.content)
        check_cites(text, quote.speaker_start, quote.speaker_end)


# target -> (its one-input function, the property tests that cover the same code)
TARGETS: dict[str, tuple[Callable[[bytes], None], str]] = {
    "jsonl": (fuzz_jsonl, "tests/test_reader_properties.py::test_any_jsonl_gives_documents_or_errors"),
    "csv": (fuzz_csv, "tests/test_reader_properties.py::test_any_csv_gives_documents_or_errors"),
    "warc": (fuzz_warc, "tests/test_reader_properties.py::test_any_cut_or_spliced_warc_gives_documents_or_errors"),
    "decode": (fuzz_decode, "tests/test_reader_properties.py::test_decoding_any_bytes_gives_text_or_an_input_problem"),
    "htmlclean": (fuzz_htmlclean, "tests/test_parser_properties.py -k html"),
    "textclean": (fuzz_textclean, "tests/test_parser_properties.py -k text_gives or memory"),
    "extract": (fuzz_extract, "tests/test_parser_properties.py -k extracting"),
    "dates": (fuzz_dates, "tests/test_parser_properties.py -k date"),
    "timex": (fuzz_timex, "tests/test_parser_properties.py -k timex or resolving"),
    "quotes": (fuzz_quotes, "tests/test_parser_properties.py -k quote or annotations"),
}


def seeds() -> list[bytes]:
    """A few small invented inputs of every kind, for libFuzzer to mutate from."""
    from tests.fuzzing import DATES, TAGS

    page = ("<html><head><title>Ferry vote</title>" + TAGS[40] + "</head><body><article>"
            "<h1>Ferry vote</h1><p class=\"author\">By Lia Ferro</p>"
            "<p>\u201cWe listened to the islanders,\u201d said council chair Petra Lund on "
            "Tuesday. The ferry will sail again on 3 March 2021, two weeks after the vote.</p>"
            "</article></body></html>")
    records = '{"text": "The ferry sails on Friday.", "url": "https://news.example/a"}\n'
    return [page.encode(), records.encode(), b"text,title\n\"The bridge vote\",Vote\n",
            "\n\n".join(DATES).encode(), "Published: 3 March 2021\n\nBy Lia Ferro".encode(),
            b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 4\r\n\r\nabcd\r\n\r\n"]


def dictionary_line(piece: str) -> str:
    """One libFuzzer dictionary entry: the piece's UTF-8 bytes, quoted, odd bytes as \\xNN."""
    raw = piece.encode("utf-8", "surrogatepass")
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\x{b:02x}" for b in raw) + '"'


def write_dictionary(folder: Path) -> Path:
    from tests.fuzzing import CUES, DATES, ODD_CHARS, QUOTE_MARKS, TAGS, WORDS

    pieces = dict.fromkeys(p for p in TAGS + DATES + WORDS + QUOTE_MARKS + CUES + ODD_CHARS
                           if 0 < len(p) <= 128)
    path = folder / "storyline.dict"
    path.write_text("\n".join(dictionary_line(p) for p in pieces) + "\n", encoding="ascii")
    return path


def fuzzer_arguments(flags: list[str], folder: Path) -> list[str]:
    """libFuzzer's argv: the caller's flags, plus our dictionary and seed corpus unless given."""
    arguments = [sys.argv[0], *flags]
    if not any(flag.startswith("-timeout=") for flag in flags):
        arguments.append(f"-timeout={HANG_SECONDS}")
    if not any(flag.startswith("-dict=") for flag in flags):
        arguments.append(f"-dict={write_dictionary(folder)}")
    if not any(not flag.startswith("-") for flag in flags):
        corpus = folder / "corpus"
        corpus.mkdir()
        for number, seed in enumerate(seeds()):
            (corpus / f"seed-{number}").write_bytes(seed)
        arguments.append(str(corpus))
    return arguments


def run_properties(target: str) -> int:
    """The fallback without atheris: the target's property tests with a large budget."""
    path, *selection = TARGETS[target][1].split(" -k ")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path]
    command += ["-k", selection[0]] if selection else []
    environment = {**os.environ, "STORYLINE_FUZZ_EXAMPLES":
                   os.environ.get("STORYLINE_FUZZ_EXAMPLES", FALLBACK_EXAMPLES)}
    return subprocess.run(command, cwd=ROOT, env=environment, check=False).returncode


# --scaling: lengths compared, and what counts as growing faster than the input.
SCALING_CHARS = 4000
SCALING_FACTOR = 4
SCALING_RATIO = 8.0
SCALING_MIN_SECONDS = 0.25
SCALING_PAIRS = 60
SCALED_TARGETS = ["decode", "htmlclean", "textclean", "dates", "timex"]


def _seconds(one_input: Callable[[bytes], None], piece: str, chars: int) -> float:
    data = (piece * (chars // len(piece) + 1))[:chars].encode("utf-8", "surrogatepass")
    started = time.perf_counter()
    one_input(data)
    return time.perf_counter() - started


def superlinear(one_input: Callable[[bytes], None], piece: str) -> tuple[float, float] | None:
    """(time at SCALING_CHARS, time at SCALING_FACTOR times that) when the time grows more than
    SCALING_RATIO-fold twice in a row; None for a piece that scales like its input."""
    for _attempt in range(2):
        small = _seconds(one_input, piece, SCALING_CHARS)
        large = _seconds(one_input, piece, SCALING_CHARS * SCALING_FACTOR)
        if large < SCALING_MIN_SECONDS or large < SCALING_RATIO * max(small, 1e-3):
            return None
    return small, large


def scaling_pieces(target: str, rng: random.Random) -> list[str]:
    from tests.fuzzing import CUES, DATES, ODD_CHARS, PROSE, QUOTE_MARKS, SPEAKERS, TAGS, WORDS

    pieces = [p for p in dict.fromkeys(
        (TAGS if target == "htmlclean" else []) + DATES + WORDS + QUOTE_MARKS + CUES + SPEAKERS
        + PROSE + ODD_CHARS + [" ", "\n", "\n\n", ". ", "1", "<li>x"]) if 0 < len(p) < 100]
    pairs = ["".join(rng.choice(pieces) + rng.choice(["", " ", "\n"]) for _ in range(2))
             for _ in range(SCALING_PAIRS)]
    return pieces + pairs


def run_scaling(targets: list[str], seed: int = 0) -> int:
    logging.disable(logging.ERROR)
    found = 0
    for target in targets or SCALED_TARGETS:
        one_input = TARGETS[target][0]
        one_input(b"warm up: 3 March 2021")
        for piece in scaling_pieces(target, random.Random(seed)):
            times = superlinear(one_input, piece)
            if times is not None:
                found += 1
                print(f"{target}: {piece!r} x {SCALING_CHARS:,} chars: {times[0]:.2f} s; "
                      f"x {SCALING_CHARS * SCALING_FACTOR:,}: {times[1]:.2f} s", flush=True)
        print(f"{target}: done", file=sys.stderr, flush=True)
    return 1 if found else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    if argv[0] == "--list":
        print("\n".join(TARGETS))
        return 0
    if argv[0] == "--scaling":
        unknown = [t for t in argv[1:] if t not in TARGETS]
        if unknown:
            print(f"unknown target {unknown[0]!r}; one of: {', '.join(TARGETS)}", file=sys.stderr)
            return 2
        return run_scaling(argv[1:])
    target, flags = argv[0], argv[1:]
    if target not in TARGETS:
        print(f"unknown target {target!r}; one of: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    try:
        atheris = importlib.import_module("atheris")
    except ImportError:
        print(f"atheris is not installed (pip install -e '.[fuzz]'): running the property tests "
              f"of {target} with a large budget instead", file=sys.stderr)
        return run_properties(target)
    one_input = TARGETS[target][0]
    logging.disable(logging.ERROR)  # trafilatura logs every page it cannot parse
    with atheris.instrument_imports(include=INSTRUMENTED):
        for seed in seeds():  # imports what the target needs, under instrumentation
            one_input(seed)
    with tempfile.TemporaryDirectory() as folder:
        atheris.Setup(fuzzer_arguments(flags, Path(folder)), one_input)
        atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
