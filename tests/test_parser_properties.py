"""Property tests of the parsers after the readers: HTML and text cleaning, the metadata and date
finders, temporal expressions, quotes and the annotate stage, and the ``timex``/``quotes``
commands. For any input the answer is a result of the documented type or one ``InputProblem``
line, never another exception; every offset a result cites lies inside the input and cites the
text it claims; and the memory a pure-Python parser takes stays proportional to its input.

Inputs mix invented structured pieces (``tests/fuzzing.py``: tags, dates, quote marks, bylines,
odd characters, very long tokens) with random text. The budget is small in ``make test``;
``STORYLINE_FUZZ_EXAMPLES=5000`` runs every property longer.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from typing import Any

import lxml.html
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from storyline.annotate.annotator import annotate_parsed
from storyline.annotate.nlp import parse
from storyline.annotate.quotes import find_quotes, find_regions
from storyline.annotate.timex import find_timexes, resolve_date
from storyline.cli import main
from storyline.errors import InputProblem
from storyline.model import Document, Extraction, Hints, Source
from storyline.outlets import packaged_registry
from storyline.pipeline.documents import extract_source
from storyline.read.dates import find_dates, find_publication_date
from storyline.read.decode import decode_bytes, valid_unicode
from storyline.read.htmlclean import clean_html
from storyline.read.htmldates import page_lines
from storyline.read.textclean import clean_text
from tests.fuzzing import (
    CUES, DATES, ODD_CHARS, PROSE, QUOTE_MARKS, SPEAKERS, TAGS, WORDS, budget, check_cites, check_day,
    check_extraction, check_one_line,
)

QUICK = budget(60)   # pure-Python parsers: milliseconds an example
PARSED = budget(20)  # a spaCy parse or a trafilatura pass an example


def mixed(pieces: list[str], max_size: int = 40) -> st.SearchStrategy[str]:
    """Strings joined from ``pieces``, odd characters and random text, in any order."""
    part = st.sampled_from(pieces) | st.sampled_from(ODD_CHARS) | st.text(max_size=12)
    return st.lists(part, max_size=max_size).map("".join)


def joined(parts: st.SearchStrategy[str], separators: list[str], max_size: int) -> st.SearchStrategy[str]:
    return st.tuples(st.lists(parts, max_size=max_size), st.sampled_from(separators)).map(
        lambda drawn: drawn[1].join(drawn[0]))


@st.composite
def spliced(draw: st.DrawFn, base: st.SearchStrategy[str], pieces: list[str]) -> str:
    """``base`` with pieces and random text cut into it at random places."""
    text = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(pieces) | st.sampled_from(ODD_CHARS) | st.text(max_size=8))
        text = text[:at] + piece + text[at:]
    return text


WORD = st.sampled_from(PROSE + DATES + SPEAKERS)
SENTENCE = st.lists(WORD, min_size=1, max_size=14).map(" ".join).map(lambda s: s[:1].upper() + s[1:] + ".")
CLAUSE = st.lists(WORD, min_size=1, max_size=10).map(" ".join)
OPEN_CLOSE = st.tuples(st.sampled_from(QUOTE_MARKS), st.sampled_from(QUOTE_MARKS))
QUOTED = st.one_of(  # "...," said X. | X said: "..." | X said that ... | "...," X said. "..."
    st.tuples(OPEN_CLOSE, CLAUSE, st.sampled_from(CUES), st.sampled_from(SPEAKERS)).map(
        lambda d: f"{d[0][0]}{d[1]},{d[0][1]} {d[2]} {d[3]}."),
    st.tuples(st.sampled_from(SPEAKERS), st.sampled_from(CUES), OPEN_CLOSE, SENTENCE).map(
        lambda d: f"{d[0]} {d[1]} {d[2][0]}{d[3]}{d[2][1]}"),
    st.tuples(st.sampled_from(SPEAKERS), st.sampled_from(CUES), CLAUSE).map(
        lambda d: f"{d[0]} {d[1]} that {d[2]}."),
    st.tuples(OPEN_CLOSE, CLAUSE, st.sampled_from(SPEAKERS), st.sampled_from(CUES), SENTENCE).map(
        lambda d: f"{d[0][0]}{d[1]},{d[0][1]} {d[2]} {d[3]}. {d[0][0]}{d[4]}{d[0][1]}"),
)
PARAGRAPH = joined(SENTENCE | QUOTED | st.sampled_from(WORDS + DATES), [" ", "", "  "], 6)
PROSE_TEXT = spliced(joined(PARAGRAPH, ["\n\n", "\n", "\r\n", " "], 8), WORDS + DATES + QUOTE_MARKS)
TEXT = PROSE_TEXT | mixed(WORDS + DATES + QUOTE_MARKS)


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    """A page with a head of markup metadata and a body of paragraphs, pieces cut in anywhere."""
    head = "".join(draw(st.lists(st.sampled_from(TAGS), max_size=6)))
    title = draw(CLAUSE)
    paragraphs = draw(st.lists(PARAGRAPH, max_size=8))
    wrapper = draw(st.sampled_from(["article", "div", "main", "section", "td", "p"]))
    body = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    page = (f"<html><head><title>{title}</title>{head}</head><body><h1>{title}</h1>"
            f"<{wrapper}>{body}</{wrapper}></body></html>")
    return draw(spliced(st.just(page), TAGS + WORDS + DATES))


HTML = html_pages() | mixed(TAGS + WORDS + DATES + QUOTE_MARKS)
URLS = st.none() | st.sampled_from([
    "https://news.example/2017/07/07/bridge-vote", "http://[::1", "not a url", "http://", "",
    "https://xn--.example/", "https://news.example/20171399/", "ftp://news.example/a",
]) | st.text(max_size=30)
DCTS = st.none() | st.sampled_from(DATES) | st.dates().map(date.isoformat) | st.text(max_size=12)


# --- cleaning ----------------------------------------------------------------------------------

@PARSED
@given(HTML | HTML.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=200),
       URLS)
def test_cleaning_any_html_gives_an_extraction_or_an_input_problem(html: str | bytes,
                                                                    url: str | None) -> None:
    try:
        result = clean_html(html, url=url)
    except InputProblem as problem:
        check_one_line(problem)
        return
    check_extraction(result)
    check_day(result.meta.get("published"))


@QUICK
@given(TEXT)
def test_cleaning_any_text_gives_an_extraction(text: str) -> None:
    check_extraction(clean_text(text))


@PARSED
@given(HTML | TEXT | HTML.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=300),
       st.sampled_from([None, "html", "text"]), URLS)
def test_extracting_any_input_gives_a_document_or_an_input_problem(
        data: str | bytes, mode: Any, url: str | None) -> None:
    source = Source("fuzz", data, mode=mode)
    source.hints.url = url
    try:
        document = extract_source(source, packaged_registry())
    except InputProblem as problem:
        check_one_line(problem)
        return
    assert isinstance(document, Document) and document.text.strip()
    document.text.encode("utf-8")  # no lone surrogate reaches a document
    check_day(document.published)
    assert document.title is None or isinstance(document.title, str)
    assert all(isinstance(name, str) and name for name in document.authors)


# --- dates in text -----------------------------------------------------------------------------

@QUICK
@given(st.lists(TEXT, max_size=6), st.sampled_from([None, "us", "gb", "de", "zz", ""]),
       st.sampled_from([None, "en", "fr", "xx", ""]))
def test_publication_date_of_any_blocks_is_a_day_the_blocks_state(
        blocks: list[str], country: str | None, language: str | None) -> None:
    found = find_publication_date(blocks, country=country, language=language)
    if found is not None:
        day, where = found  # where: the date's words, after its label ("published: 3 May 2021")
        check_day(day)
        assert any(where.partition(": ")[2] in block or where in block for block in blocks)


@QUICK
@given(TEXT)
def test_dates_found_in_any_text_cite_their_words(text: str) -> None:
    for found in find_dates(text):
        check_cites(text, found.start, found.end, found.text)
        assert found.iso is None or found.iso[:4].isdigit()


# --- temporal expressions ----------------------------------------------------------------------

@QUICK
@given(TEXT, DCTS)
def test_timexes_of_any_text_cite_their_words(text: str, dct: str | None) -> None:
    for timex in find_timexes(text, dct):
        check_cites(text, timex.start, timex.end, timex.text)
        assert timex.value and timex.type in {"DATE", "TIME", "DURATION", "SET"}
        resolve_date(timex.value)


@QUICK
@given(st.text(max_size=30) | st.sampled_from(DATES))
def test_resolving_any_value_gives_a_date_or_none(value: str) -> None:
    resolved = resolve_date(value)
    if resolved is not None:
        assert resolved[1] in {"day", "month", "year"}


# --- quotes and the annotate stage -------------------------------------------------------------

@QUICK
@given(TEXT)
def test_quoted_regions_of_any_text_lie_inside_it(text: str) -> None:
    for region in find_regions(text):
        assert 0 <= region.start <= region.content_start <= region.content_end <= region.end <= len(text)


@PARSED
@given(TEXT)
def test_quotes_of_any_text_cite_their_words(text: str) -> None:
    text = valid_unicode(text)  # what the readers hand on: never a lone surrogate
    for quote in find_quotes(parse(text)):
        check_cites(text, quote.start, quote.end, quote.content)
        check_cites(text, quote.speaker_start, quote.speaker_end)


@PARSED
@given(TEXT, DCTS)
def test_annotations_of_any_text_cite_their_words(text: str, published: str | None) -> None:
    text = valid_unicode(text)
    document = Document(origin="fuzz", text=text, published=published)
    found = annotate_parsed(document, parse(text))
    for item in [*found.sentences, *found.mentions, *found.timexes]:
        check_cites(text, item.start, item.end, item.text)
    for quote in found.quotes:
        check_cites(text, quote.start, quote.end, quote.content)
    for forecast in found.forecasts:
        check_cites(text, forecast.start, forecast.end, forecast.text)
    for event in found.events:
        check_cites(text, event.start, event.end, event.text)


# --- the commands on any bytes -----------------------------------------------------------------

@PARSED
@given(TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.binary(max_size=200),
       st.sampled_from(["timex", "quotes"]))
def test_the_timex_and_quotes_commands_answer_any_bytes(data: bytes, command: str) -> None:
    args = [command, "--dct", "2017-07-07", "-"] if command == "timex" else [command, "-"]
    result = CliRunner().invoke(main, args, input=data)
    if result.exit_code == 0:
        assert isinstance(json.loads(result.stdout), list)
        return
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: <stdin>: "), result.stderr


# --- memory ------------------------------------------------------------------------------------

# Memory a pure-Python parser may take: a fixed allowance for its tables and one result, plus a
# multiple of the input (a few copies of the text, its lines and matches).
MEMORY_BASE = 2 * 2**20
MEMORY_PER_CHAR = 400


def peak_memory(run: Callable[[], object]) -> int:
    run()  # the first call loads vocabularies and compiles patterns: not the input's cost
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def decoded_or_problem(data: bytes) -> str | InputProblem:
    try:
        return decode_bytes(data)
    except InputProblem as problem:
        return problem


@QUICK
@given(TEXT, st.sampled_from(["decode", "timex", "textclean", "regions", "dates"]))
def test_memory_of_the_text_parsers_grows_with_the_input_only(text: str, parser: str) -> None:
    runs: dict[str, Callable[[], object]] = {
        "decode": lambda: decoded_or_problem(text.encode("utf-8", "surrogatepass")),
        "timex": lambda: find_timexes(text, "2017-07-07"),
        "textclean": lambda: clean_text(text),
        "regions": lambda: find_regions(text),
        "dates": lambda: find_dates(text),
    }
    assert peak_memory(runs[parser]) <= MEMORY_BASE + MEMORY_PER_CHAR * len(text)


# --- what the fuzzers found (each failed before its fix; docs/bad-input.md lists them) ----------

# These inputs take about a second where the parsers are linear; the quadratic versions took
# half a minute or more (30,000 characters: 24 s for timex, 11 s for the dates; 12,000 list
# items some 25 s).
LONG_INPUT_SECONDS = 10.0


def seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def test_a_malformed_url_hint_does_not_stop_a_page() -> None:
    page = ("<html><head><title>Ferry vote</title></head><body><article>"
            + "<p>The council of Millbrook voted on Monday to keep the island ferry running through "
              "the winter, after traders said the detour by road cost them customers.</p>" * 3
            + "</article></body></html>")
    for url in ["http://[::1", "https://[news.example]/a", "http://]/"]:
        assert clean_html(page, url=url).paragraphs
        source = Source("record.jsonl:1", page, mode="html", hints=Hints(url=url))
        assert extract_source(source, packaged_registry()).url == url


def test_dotted_dates_run_together_take_linear_time() -> None:
    assert seconds(lambda: find_timexes("13.07.2017" * 10_000, "2017-07-07")) < LONG_INPUT_SECONDS


def test_a_long_line_of_labelled_dates_takes_linear_time() -> None:
    line = "Published: 3 March 2021" * 2000
    found: list[object] = []
    assert seconds(lambda: found.append(find_publication_date([line]))) < LONG_INPUT_SECONDS
    assert found == [("2021-03-03", "published: 3 March 2021")]


@pytest.mark.parametrize(("text", "dct", "value"), [
    ("The lake froze 9999999 weeks ago.", "2017-07-07", "PAST_REF"),
    ("The ferry sails tomorrow.", "9999-12-31", "FUTURE_REF"),
    ("The vote was last Friday.", "0001-01-01", "XXXX-WXX-5"),
])
def test_a_date_past_the_calendar_ends_is_normalised_without_the_dct(text: str, dct: str,
                                                                     value: str) -> None:
    assert [timex.value for timex in find_timexes(text, dct)] == [value]


def test_the_timex_command_answers_a_date_past_the_calendar_ends() -> None:
    result = CliRunner().invoke(main, ["timex", "--dct", "2017-07-07", "-"],
                                input="The lake froze 9999999 weeks ago.")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["value"] == "PAST_REF"


def test_the_date_finder_walks_a_tree_deeper_than_the_recursion_limit() -> None:
    paragraph = ("<p>The council of Millbrook voted on Monday to rebuild the river footbridge "
                 "that the spring floods had taken.</p>")
    page = "<html><body>" + "<div>" * 2000 + paragraph + "</div>" * 2000 + "</body></html>"
    tree = lxml.html.fromstring(page, parser=lxml.html.HTMLParser(huge_tree=True))
    assert any("river footbridge" in line for line in page_lines(tree))


def test_html_nested_past_the_depth_limit_is_refused_at_once() -> None:
    # Before: 1,500 nested tables took 40 s in trafilatura, 2,000 divs a RecursionError.
    story = "<p>The council of Millbrook voted on Monday to keep the island ferry running.</p>"
    for tag in ["table", "article", "div"]:
        page = f"<html><body>{f'<{tag}>' * 1500}{story}</body></html>"
        started = time.perf_counter()
        with pytest.raises(InputProblem, match="nested more than 512 levels"):
            clean_html(page)
        assert time.perf_counter() - started < 1.0


def test_a_page_of_thousands_of_short_list_items_takes_linear_time() -> None:
    items = "<li>Ferry times" * 12_000  # no <ul>: each item its own short block
    story = "<p>The council of Millbrook voted on Monday to keep the island ferry running.</p>" * 3
    page = f"<html><body>{items}{story}</body></html>"
    assert seconds(lambda: clean_html(page)) < LONG_INPUT_SECONDS


def test_thousands_of_blank_line_cuts_in_one_paragraph_take_linear_time() -> None:
    text = "the ferry will sail between May and June\n\n" * 6000
    found: list[Extraction] = []
    assert seconds(lambda: found.append(clean_text(text))) < LONG_INPUT_SECONDS
    assert len(found[0].text.split()) == 8 * 6000  # one paragraph: no word lost at the cuts


def test_a_text_of_tiny_lines_is_scored_in_bounded_memory() -> None:
    text = "0\n\u201c\n" * 5_000  # 10,000 blocks of one character: 110 MB when scored at once
    assert peak_memory(lambda: clean_text(text)) < 40 * 2**20


def test_more_lines_or_tags_than_a_page_has_are_refused_at_once() -> None:
    # Before: the lines took 1.7 GB and 14 s to clean, the tags 750 MB and 28 s.
    for clean, data, reason in [(clean_text, "0\n\u201c\n" * 75_000, "text of 150,001 lines, over the 100,000"),
                                (clean_html, "<p>a" * 400_000, "HTML with 400,000 tags, over the 200,000")]:
        with pytest.raises(InputProblem, match=reason):
            started = time.perf_counter()
            clean(data)
        assert time.perf_counter() - started < 1.0
