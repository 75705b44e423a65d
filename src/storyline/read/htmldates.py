"""Publication date of an HTML page: every clue the page gives, weighed by fitted weights.

``find_published_date`` gathers the clues (``date_evidence``), each naming a day:

* ``url``: a full date in the URL path (``/2019/11/18/``, ``/2017/7/12/``);
* ``time_pub``: a single ``<time pubdate>``/``itemprop=datePublished`` (not when a page marks
  many, as lists do); ``time_first``: the first ``<time datetime>`` of the page;
* ``markup_local`` / ``markup`` / ``markup_modified``: the structured metadata (JSON-LD
  ``datePublished``/``dateCreated``/``dateModified``, OpenGraph and Dublin Core ``<meta>``), each
  field by its first occurrence (the page's own item, not a list's teasers); a timestamp with a
  non-zero UTC offset states the site's own clock (``markup_local``), a UTC one (``23:15Z``)
  is moved to the site's day when its zone is known (host suffix or language,
  ``data/html_dates.json``);
* ``htmldate``: htmldate's pick (markup-only search first, its extensive text search when that
  finds nothing) with our corrections: a ``/2011/12/`` URL month that contradicts it re-runs
  the search inside that month, a UTC timestamp is moved to the site's day, and a numeric date
  such as ``05/10/2018`` is re-read day-first or month-first from evidence on the page (never
  swapped without evidence);
* ``head`` / ``head_wide``: the byline-near date, the first date shown on a short line just
  under the headline (the ``<h1>`` that matches the declared title, not a logo's), which is
  the date a reader sees;
* ``labelled`` / ``labelled_updated``: the first date the page introduces with a publication
  label ("Published:", "Erschienen am") or an update label ("Updated").

Each candidate day scores the weighted sum of its features (``FEATURES``: the clues that name
it, whether it lies in a ``/2019/11/`` URL month, and how many lines of the page show it, the
page's date distribution); the best-scoring day wins, ties to the earlier day. The weights are
fitted, as a conditional logit over the candidate days of the htmldate-eval dev pages, by
``benchmarks/dates.py --write-weights``, which also reports them cross-validated by site.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from collections.abc import Iterator
from typing import Any, Literal

from lxml.html import HtmlElement

from storyline.outlets import url_host
from storyline.resources import read_data

DateOrigin = Literal["meta", "text", "url", "inferred"]

_ISO_PREFIX = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T|$)")
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})(?:[_-]?(0[1-9]|1[0-2])[_-]?(0[1-9]|[12]\d|3[01])"
    r"|/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01]))(?:/|[_-]|\.|$)"
)
_URL_YEAR_MONTH = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/")
# Numeric dates whose day/month order needs evidence: a-b-year with one separator kind.
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2((?:19|20)\d{2})\b")


@dataclass(frozen=True)
class DateRules:
    """The data of ``html_dates.json``: the markup fields that carry the publication and the
    update date (schema.org, OpenGraph, Dublin Core names), the locales that write month
    first, time zones, where the byline-near date is looked for, and the fitted weights."""

    json_ld_keys: tuple[str, ...]
    modified_json_ld_keys: tuple[str, ...]
    meta_names: frozenset[str]
    modified_meta_names: frozenset[str]
    month_first_locales: tuple[str, ...]
    min_year: int
    host_suffix_offsets: tuple[tuple[str, float], ...]
    language_offsets: dict[str, float]
    head_after: int
    head_short: int
    wide_after: int
    wide_short: int
    head_above: int
    dated_line_max: int
    weights: dict[str, float]


@lru_cache(maxsize=1)
def date_rules() -> DateRules:
    raw = read_data("html_dates.json")
    head = raw["head_window"]
    return DateRules(
        json_ld_keys=tuple(raw["json_ld_keys"]),
        modified_json_ld_keys=tuple(raw["modified_json_ld_keys"]),
        meta_names=frozenset(name.lower() for name in raw["meta_names"]),
        modified_meta_names=frozenset(name.lower() for name in raw["modified_meta_names"]),
        month_first_locales=tuple(raw["month_first_locales"]),
        min_year=int(raw["min_year"]),
        host_suffix_offsets=tuple(sorted(
            ((k, float(v)) for k, v in raw["host_suffix_offsets"].items()), key=lambda kv: -len(kv[0]))),
        language_offsets={k: float(v) for k, v in raw["language_offsets"].items()},
        head_after=int(head["after"]),
        head_short=int(head["short"]),
        wide_after=int(head["wide_after"]),
        wide_short=int(head["wide_short"]),
        head_above=int(head["above"]),
        dated_line_max=int(head["dated_line_max"]),
        weights={k: float(v) for k, v in raw["weights"].items()},
    )


def _valid_iso(year: int, month: int, day: int) -> str | None:
    if year < date_rules().min_year or year > date.today().year + 1:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_iso_like(value: str) -> str | None:
    """An ISO-8601-ish timestamp (``2019-11-19T08:57:40+01:00``, ``20191119``) -> YYYY-MM-DD."""
    value = value.strip()
    match = _ISO_PREFIX.match(value) or _COMPACT.match(value)
    if not match:
        return None
    return _valid_iso(int(match[1]), int(match[2]), int(match[3]))


# --- structured markup -------------------------------------------------------------------

def _json_ld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """All dict nodes of every JSON-LD block in document order, an object before what it
    holds (``@graph`` flattened); broken blocks skipped."""
    found: list[dict[str, Any]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, TypeError):
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(reversed(node))
            elif isinstance(node, dict):
                found.append(node)
                stack.extend(reversed([value for value in node.values() if isinstance(value, (list, dict))]))
    return found


def _is_page_item(node: dict[str, Any]) -> bool:
    """Skip JSON-LD of things that are not the page (a person's birthDate, an event, a video)."""
    kind = node.get("@type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    skip = {"Person", "Event", "VideoObject", "ImageObject", "Organization", "Comment"}
    return not any(str(k) in skip for k in kinds)


def date_from_time_element(tree: HtmlElement) -> str | None:
    """The one ``<time>`` marked as publication time (pubdate / itemprop=datePublished).

    Written in the site's local time, it beats UTC timestamps of the markup, but only when it
    is unique: list pages and sidebars mark every teaser's time the same way.
    """
    found: set[str] = set()
    for elem in tree.iterfind(".//time[@datetime]"):
        marked = "pubdate" in elem.attrib or elem.get("itemprop", "").lower() == "datepublished"
        if marked and (parsed := parse_iso_like(elem.get("datetime", ""))):
            found.add(parsed)
    return found.pop() if len(found) == 1 else None


def month_from_url(url: str | None) -> tuple[int, int] | None:
    """(year, month) of a ``/2011/12/`` URL path, a weaker clue than a full date."""
    match = _URL_YEAR_MONTH.search(url or "")
    return (int(match[1]), int(match[2])) if match else None


def date_from_url(url: str | None) -> str | None:
    if not url:
        return None
    match = _URL_DATE.search(url)
    if not match:
        return None
    month, day = (match[2], match[3]) if match[2] else (match[4], match[5])
    return _valid_iso(int(match[1]), int(month), int(day))


# --- UTC timestamps and the local day ---------------------------------------------------

_UTC_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::\d{1,2}(?:\.\d+)?)?(Z|[+-]00:?00)$")


def _utc_published_timestamp(tree: HtmlElement, objects: list[dict[str, Any]]) -> datetime | None:
    """The markup's publication timestamp when it is written in UTC (``...Z``, ``+00:00``);
    ``objects``: the page's JSON-LD objects."""
    values = [node.get(key) for node in objects if _is_page_item(node)
              for key in date_rules().json_ld_keys[:1]]
    values += [elem.get("content") for elem in tree.iterfind(".//meta[@content]")
               if (elem.get("property") or elem.get("name") or "").lower() == "article:published_time"]
    for value in values:
        match = _UTC_TIMESTAMP.match(value.strip()) if isinstance(value, str) else None
        if match:
            try:
                return datetime(int(match[1]), int(match[2]), int(match[3]), int(match[4]), int(match[5]))
            except ValueError:
                continue
    return None


def site_utc_offset(url: str | None, language: str | None) -> float | None:
    """The likely standard-time UTC offset of a site, from its host suffix, then its language."""
    host = url_host(url) if url else ""
    for suffix, offset in date_rules().host_suffix_offsets:
        if host.endswith(suffix):
            return offset
    lang = (language or "").lower()
    offsets = date_rules().language_offsets
    return offsets.get(lang, offsets.get(lang.split("-")[0])) if lang else None


def local_day_of_utc(
    candidate: str, tree: HtmlElement, objects: list[dict[str, Any]], offset: float | None
) -> str:
    """A UTC timestamp near midnight belongs to the site's local day: 23:15Z is already the
    next day in Rome, 00:23Z still the previous evening in Montreal. Only the day that the
    timestamp itself gives is moved, and only with a zone inferred from host or language
    (``offset``, from ``site_utc_offset``)."""
    if offset is None:
        return candidate
    stamp = _utc_published_timestamp(tree, objects)
    if stamp is None or stamp.date().isoformat() != candidate:
        return candidate
    return (stamp + timedelta(hours=offset)).date().isoformat()


# --- day/month evidence ------------------------------------------------------------------

def _locale_prefers_month_first(language: str | None) -> bool | None:
    """en-US style locales write month first; None when the locale says nothing decisive."""
    if not language:
        return None
    lang = language.lower().replace("_", "-")
    if lang in date_rules().month_first_locales:
        return True
    if lang == "en":
        return None  # bare English: US or UK, no evidence either way
    return False


def day_first_evidence(
    text: str, url: str | None, language: str | None, separator: str | None = None
) -> bool | None:
    """Decide whether numeric dates on this page are day-first (True), month-first (False).

    Evidence, strongest first: unambiguous numeric dates on the same page written with the
    same separator (a first number above 12 means day-first; "31.12." and "12/31/" styles can
    coexist on one page, so separators are not mixed), then the page locale. None when
    nothing tells.
    """
    votes_day_first = votes_month_first = 0
    for match in _NUMERIC_DATE.finditer(text):
        if separator is not None and match[2] != separator:
            continue
        first, second = int(match[1]), int(match[3])
        if first > 12 >= second:
            votes_day_first += 1
        elif second > 12 >= first:
            votes_month_first += 1
    if votes_day_first != votes_month_first:
        return votes_day_first > votes_month_first
    month_first = _locale_prefers_month_first(language)
    return None if month_first is None else not month_first


def resolve_numeric_date(
    first: int, second: int, year: int, day_first: bool | None, url_date: str | None = None
) -> str | None:
    """``first/second/year`` -> ISO; ambiguous orders need evidence (or a URL date to match)."""
    as_day_first = _valid_iso(year, second, first)
    as_month_first = _valid_iso(year, first, second)
    if as_day_first and as_month_first and as_day_first != as_month_first:
        if url_date in (as_day_first, as_month_first):
            return url_date
        if day_first is None:
            return None  # never a silent guess
        return as_day_first if day_first else as_month_first
    return as_day_first or as_month_first


def fix_day_month_swap(candidate: str, text: str, url: str | None, language: str | None) -> str:
    """htmldate may read ``05/10/2018`` in the wrong order: re-decide it with our evidence.

    Only when the page shows the candidate as an ambiguous numeric date (both orders valid)
    and the evidence for that separator points the other way do we swap; otherwise the
    candidate stands.
    """
    year, month, day = (int(part) for part in candidate.split("-"))
    if day > 12 or month > 12 or day == month or date_from_url(url) == candidate:
        return candidate
    readings: set[str] = set()
    for match in _NUMERIC_DATE.finditer(text):
        if int(match[4]) != year or {int(match[1]), int(match[3])} != {day, month}:
            continue
        day_first = day_first_evidence(text, url, language, separator=match[2])
        if day_first is None:
            return candidate  # no evidence: keep htmldate's reading rather than guess
        readings.add(resolve_numeric_date(int(match[1]), int(match[3]), year, day_first) or candidate)
    # Swap only when every occurrence, read with its own evidence, says so.
    return readings.pop() if len(readings) == 1 else candidate


# --- the evidence of a page ---------------------------------------------------------------

# What a page's publication day can be read from. Each kind names one independent clue; the
# weights of ``data/html_dates.json`` say how far each is trusted (fitted, see the docstring).
EVIDENCE_KINDS = (
    "url", "time_pub", "markup_local", "markup", "markup_modified", "htmldate", "head",
    "head_wide", "time_first", "labelled", "labelled_updated",
)
# Features of a candidate day beyond "this clue names it": whether it lies in the month a
# ``/2019/11/`` URL names (or outside it), and how many lines of the page show it.
FEATURES = (*EVIDENCE_KINDS, "url_month", "off_url_month", "page_count")

_LINE_BREAKING = frozenset({
    "p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "td", "th", "header",
    "footer", "section", "article", "time", "dd", "dt", "span", "aside", "nav", "ul", "ol",
    "table", "main", "figure", "figcaption", "blockquote", "address",
})
_UNSEEN = frozenset({"script", "style", "noscript", "template", "svg"})
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_INLINE_SPACES = re.compile(r"[^\S\n]+")
# A line worth parsing for dates: a four-digit year or a short numeric date (23.07.18).
_MAY_HOLD_DATE = re.compile(r"\d{4}|\d[./-]\d{1,2}[./-]\d{2}")
_EXPLICIT_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})$")


@dataclass(frozen=True)
class DateEvidence:
    """Every clue a page gives about its publication day.

    ``named``: for each kind of ``EVIDENCE_KINDS``, the days it names (empty when silent);
    ``url_month``: the (year, month) of a ``/2019/11/`` URL path; ``page_counts``: for each
    day written on the page, how many of its lines show it.
    """

    named: dict[str, frozenset[str]]
    url_month: tuple[int, int] | None
    page_counts: dict[str, int]

    def candidates(self) -> list[str]:
        """The days some clue names, in calendar order."""
        return sorted({day for days in self.named.values() for day in days})


def _visible_parts(root: HtmlElement) -> Iterator[str]:
    """The text pieces of ``root`` in reading order, a newline around each block. Walked with a
    stack, not recursion: the huge-tree parser keeps up to 2048 levels of nesting, twice
    Python's recursion limit (cleaning refuses pages past 512, but a caller may not)."""
    # Each entry: an element to open, or a string already due (a block's closing newline, a tail).
    stack: list[HtmlElement | str] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
            continue
        tag = item.tag
        if not isinstance(tag, str) or tag in _UNSEEN:  # a comment's text is not shown either
            if item.tail:
                yield item.tail
            continue
        breaks = tag in _LINE_BREAKING
        if breaks:
            yield "\n"
        if item.text:
            yield item.text
        closing = (["\n"] if breaks else []) + ([item.tail] if item.tail else [])
        stack.extend(reversed(closing))
        stack.extend(reversed(list(item)))


def page_lines(tree: HtmlElement) -> list[str]:
    """The page's visible text as a reader sees it, one line per block (scripts dropped)."""
    body = tree.find("body")
    parts = list(_visible_parts(body if body is not None else tree))
    text = _INLINE_SPACES.sub(" ", "".join(parts))
    return [line for raw in text.split("\n") if (line := raw.strip())]


def _page_title(tree: HtmlElement) -> str:
    """The headline the page declares for sharing (og:title), else its ``<title>``."""
    for elem in tree.iterfind('.//meta[@property="og:title"]'):
        if (content := _SPACES.sub(" ", elem.get("content", "")).strip()):
            return content
    return _SPACES.sub(" ", tree.findtext(".//title") or "").strip()


def _headline_index(tree: HtmlElement, lines: list[str]) -> int | None:
    """The line holding the page's headline: the ``<h1>`` that shares most words with the
    declared title (a site's logo is often an ``<h1>`` too), else the first ``<h1>``, else a
    line that is the declared title itself."""
    title_words = set(_WORD.findall(_page_title(tree).lower()))
    headings = [text for heading in tree.iter("h1")
                if (text := _SPACES.sub(" ", heading.text_content()).strip())]
    if headings and title_words:
        shared = [len(title_words & set(_WORD.findall(text.lower()))) for text in headings]
        headings = [headings[shared.index(max(shared))]] if max(shared) else headings
    for text in headings:
        for index, line in enumerate(lines):
            if line == text or (len(text) > 10 and text in line):
                return index
    title = _page_title(tree)
    for index, line in enumerate(lines):
        if len(line) > 10 and title.startswith(line):
            return index
    return None


def _line_days(lines: list[str], language: str | None) -> list[list[tuple[str, str | None]]]:
    """The full dates (day precision, order settled) each line shows, each with the label
    before it ("published", "updated" or None)."""
    from storyline.read.dates import date_label, find_dates, infer_day_first, regional_day_first

    # Lines of prose are read for no date: a long paragraph mentions events, not the page.
    longest = date_rules().dated_line_max
    dated = [len(line) <= longest and bool(_MAY_HOLD_DATE.search(line)) for line in lines]
    day_first = infer_day_first(line for line, may in zip(lines, dated) if may)
    regional = regional_day_first(None, language)
    return [
        [(found.iso, date_label(line, found.start))
         for found in find_dates(line, day_first=day_first, regional=regional)
         if found.iso and found.precision == "day"] if may else []
        for line, may in zip(lines, dated)
    ]


def _head_day(
    lines: list[str], days: list[list[tuple[str, str | None]]], headline: int | None, after: int, short: int
) -> str | None:
    """The byline-near date: the first on a short line within ``after`` lines below the
    headline, else within a few lines above it (some pages put the date over the title)."""
    if headline is None:
        return None
    below = list(range(headline + 1, min(len(lines), headline + 1 + after)))
    above = list(range(headline - 1, max(-1, headline - 1 - date_rules().head_above), -1))
    for index in below + above:
        shown = days[index]
        if shown and len(lines[index]) <= short:
            return shown[0][0]
    return None


def _labelled_day(days: list[list[tuple[str, str | None]]], label: str) -> str | None:
    """The first date of the page that a label of this kind introduces."""
    return next((day for line in days for day, found in line if found == label), None)


def _offset_kind(value: str) -> Literal["local", "other"]:
    """A timestamp written with a non-zero UTC offset states the site's own clock."""
    match = _EXPLICIT_OFFSET.search(value.strip())
    if not match or match[1] in ("Z", "+00:00", "+0000", "-00:00", "-0000"):
        return "other"
    return "local"


def _markup_day(value: str, offset: float | None) -> str | None:
    """The day a markup timestamp names on the site's own clock: a UTC time (``23:15Z``) is
    moved by the site's offset when one is known; other values give their written day."""
    match = _UTC_TIMESTAMP.match(value.strip())
    if match and offset is not None:
        try:
            stamp = datetime(int(match[1]), int(match[2]), int(match[3]), int(match[4]), int(match[5]))
        except ValueError:
            return None
        return _valid_iso(*((stamp + timedelta(hours=offset)).timetuple()[:3]))
    return parse_iso_like(value)


def _markup_days(
    tree: HtmlElement, objects: list[dict[str, Any]], offset: float | None
) -> tuple[set[str], set[str], set[str]]:
    """Days the structured metadata names: (published with a local offset, published, modified).

    Each field counts once, by its first occurrence: a list page's JSON-LD names one date per
    teaser, and only the page's own item (the first) speaks for the page.
    """
    rules = date_rules()
    local: set[str] = set()
    published: set[str] = set()
    modified: set[str] = set()
    values: dict[str, str] = {}
    for node in objects:
        if _is_page_item(node):
            for key in (*rules.json_ld_keys, *rules.modified_json_ld_keys):
                if isinstance(node.get(key), str):
                    values.setdefault(f"ld:{key}", node[key])
    for elem in tree.iterfind(".//meta[@content]"):
        key = (elem.get("property") or elem.get("name") or elem.get("itemprop") or "").lower()
        if key in rules.meta_names or key in rules.modified_meta_names:
            values.setdefault(key, elem.get("content", ""))
    modified_keys = {f"ld:{key}" for key in rules.modified_json_ld_keys} | rules.modified_meta_names
    for key, value in values.items():
        day = _markup_day(value, offset)
        if day is None:
            continue
        if key in modified_keys:
            modified.add(day)
            continue
        published.add(day)
        if _offset_kind(value) == "local":
            local.add(day)
    return local, published, modified


def _first_time_element(tree: HtmlElement) -> str | None:
    for elem in tree.iterfind(".//time[@datetime]"):
        if day := parse_iso_like(elem.get("datetime", "")):
            return day
    return None


def date_evidence(tree: HtmlElement, url: str | None = None, language: str | None = None) -> DateEvidence:
    """Gather every clue (URL, markup, htmldate's pick with our corrections, dates shown near
    the headline, the page's date distribution)."""
    rules = date_rules()
    objects = _json_ld_objects(tree)
    offset = site_utc_offset(url, language)
    local, published, modified = _markup_days(tree, objects, offset)
    found = _date_from_htmldate(tree, url, language)
    picked = local_day_of_utc(found, tree, objects, offset) if found else None
    lines = page_lines(tree)
    days = _line_days(lines, language)
    headline = _headline_index(tree, lines)
    named: dict[str, set[str]] = {
        "url": {d} if (d := date_from_url(url)) else set(),
        "time_pub": {d} if (d := date_from_time_element(tree)) else set(),
        "markup_local": local,
        "markup": published,
        "markup_modified": modified,
        "htmldate": {picked} if picked else set(),
        "head": {d} if (d := _head_day(lines, days, headline, rules.head_after, rules.head_short)) else set(),
        "head_wide": ({d} if (d := _head_day(lines, days, headline, rules.wide_after, rules.wide_short))
                      else set()),
        "time_first": {d} if (d := _first_time_element(tree)) else set(),
        "labelled": {d} if (d := _labelled_day(days, "published")) else set(),
        "labelled_updated": {d} if (d := _labelled_day(days, "updated")) else set(),
    }
    counts: dict[str, int] = {}
    for line in days:
        for day in {day for day, _ in line}:
            counts[day] = counts.get(day, 0) + 1
    return DateEvidence({kind: frozenset(named[kind]) for kind in EVIDENCE_KINDS}, month_from_url(url), counts)


def candidate_features(evidence: DateEvidence) -> dict[str, dict[str, float]]:
    """For each candidate day, the value of every feature of ``FEATURES``."""
    table: dict[str, dict[str, float]] = {}
    month = f"{evidence.url_month[0]}-{evidence.url_month[1]:02d}" if evidence.url_month else None
    for day in evidence.candidates():
        values = {kind: float(day in evidence.named[kind]) for kind in EVIDENCE_KINDS}
        values["url_month"] = float(month is not None and day.startswith(month))
        values["off_url_month"] = float(month is not None and not day.startswith(month))
        values["page_count"] = math.log1p(evidence.page_counts.get(day, 0))
        table[day] = values
    return table


def choose_day(evidence: DateEvidence, weights: dict[str, float]) -> str | None:
    """The candidate day with the highest weighted sum of its features; ties go to the earlier
    day (a publication precedes its updates)."""
    scored = [
        (sum(weights.get(name, 0.0) * value for name, value in features.items()), day)
        for day, features in candidate_features(evidence).items()
    ]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    return min(day for score, day in scored if score == best)


def origin_of(day: str, evidence: DateEvidence) -> DateOrigin:
    """Where the chosen day is written: the URL, the markup, or only the page text."""
    if day in evidence.named["url"]:
        return "url"
    markup = ("time_pub", "markup_local", "markup", "markup_modified", "time_first")
    return "meta" if any(day in evidence.named[kind] for kind in markup) else "text"


def find_published_date(
    tree: HtmlElement,
    url: str | None = None,
    language: str | None = None,
    weights: dict[str, float] | None = None,
) -> tuple[str | None, DateOrigin | None]:
    """The page's publication day as ISO plus where it came from, or (None, None).

    Every clue of ``date_evidence`` votes for the day it names with its fitted weight
    (``weights``, default the packaged ones); the best-supported day wins.
    """
    evidence = date_evidence(tree, url, language)
    day = choose_day(evidence, date_rules().weights if weights is None else weights)
    return (day, origin_of(day, evidence)) if day else (None, None)


def _date_from_htmldate(tree: HtmlElement, url: str | None, language: str | None) -> str | None:
    from htmldate import find_date

    try:
        # Markup-only search first (~2 ms); the extensive text search (~10-20 ms) only when it
        # finds nothing. On the htmldate-eval dev half this order costs no accuracy.
        found = find_date(tree, original_date=True, extensive_search=False, url=url) or find_date(
            tree, original_date=True, extensive_search=True, url=url)
        found = _within_url_month(tree, url, found)
    except Exception:  # htmldate raises on odd trees; a missing date is not an error here
        return None
    if not found:
        return None
    _, month, day = (int(part) for part in found.split("-"))
    if day > 12 or month > 12 or day == month:
        return found  # unambiguous: skip reading the page text
    return fix_day_month_swap(found, visible_text(tree), url, language)


def _within_url_month(tree: HtmlElement, url: str | None, found: str | None) -> str | None:
    """A ``/YYYY/MM/`` URL contradicting htmldate's pick: search again inside that month."""
    from htmldate import find_date

    year_month = month_from_url(url)
    if not year_month or not found or found.startswith(f"{year_month[0]}-{year_month[1]:02d}"):
        return found
    year, month = year_month
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1).toordinal() - 1
    constrained = find_date(
        tree, original_date=True, extensive_search=True, url=url,
        min_date=first.isoformat(), max_date=date.fromordinal(last).isoformat(),
    )
    return constrained or found


def visible_text(tree: HtmlElement) -> str:
    """Page text without scripts and styles (JS variables use their own date formats)."""
    return " ".join(tree.xpath("//text()[not(ancestor::script) and not(ancestor::style)]"))
