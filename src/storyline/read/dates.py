"""Date parsing for news pages: every common written format, with day/month order decided by evidence.

Public API
----------
* ``parse_date(text)``            the first absolute date written in ``text`` -> ``DateParse`` or None
* ``find_dates(text)``            every absolute date in ``text``, in order
* ``infer_day_first(texts)``      the day/month order the document itself proves, if any
* ``regional_day_first(country, language)``  the order a region/language conventionally writes
* ``find_publication_date(blocks)``  the page's publication date: ``(iso, where)`` or None
* ``date_from_url(url)``          a day-precision date written in a URL path

The day/month rule (all-numeric dates with the year last, e.g. ``10/07/2017``)
------------------------------------------------------------------------------
Never a silent guess. The order is settled by the first of these that applies:

1. the fields themselves: a field above 12 can only be the day (``23.07.18``), equal fields
   read the same either way;
2. ``day_first=`` given by the caller: evidence from the same document (other dates on the page
   whose order is unambiguous, see ``infer_day_first``);
3. the separator: dots (``10.07.2017``) are the day-first convention wherever they are used;
4. ``regional=`` given by the caller: the outlet's country, else the text's language
   (``regional_day_first``);
5. otherwise the date is *ambiguous*: ``DateParse.iso`` is None, ``readings`` holds both
   candidates, and no publication date is taken from it.

A year written first (``2017/7/10``, ``2018-07-23T...``) is always year-month-day. Two-digit years
expand to the latest year not after the current one (``18`` -> 2018, ``99`` -> 1999). Impossible
dates and dates after today (plus a one-day time-zone slack) are rejected. Relative expressions
("Friday", "2 hours ago") are not absolute dates and are never returned.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal

from storyline.resources import read_data

Precision = Literal["day", "month", "year"]


@dataclass(frozen=True)
class DateParse:
    """One date found in text.

    ``iso`` is ``YYYY-MM-DD`` (or ``YYYY-MM`` at month precision); None when ``ambiguous``.
    ``evidence`` says how the reading was settled; ``readings`` lists every candidate reading.
    ``start``/``end`` locate the match in the text given.
    """

    iso: str | None
    precision: Precision
    ambiguous: bool
    evidence: str
    text: str
    start: int
    end: int
    readings: tuple[str, ...] = field(default=())


@lru_cache(maxsize=1)
def _vocab() -> dict[str, Any]:
    data: dict[str, Any] = read_data("metadata_dates.json")
    return data


@lru_cache(maxsize=1)
def _month_numbers() -> dict[str, int]:
    return {name: int(num) for num, names in _vocab()["months"].items() for name in names}


def _alternation(words: Iterable[str]) -> str:
    # Longest first so that "sept" wins over "sep" and "juillet" over "juil".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    months = _alternation(_month_numbers())
    safe_months = _alternation(set(_month_numbers()) - set(_vocab()["ambiguous_month_words"]))
    month = rf"(?P<month>{months})(?![^\W\d_])\.?"
    ordinal = r"(?:st|nd|rd|th|er|e|\.)?"
    flags = re.IGNORECASE
    return {
        # 2018-07-23, 2017/7/10 18:53:40, 2018.07.23, 2018-07-23T10:00:00Z
        "ymd": re.compile(
            r"(?<![\d./-])(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?![\d])"
        ),
        # 2017年7月10日
        "cjk": re.compile(r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"),
        # 10/07/2017, 23.07.18, 7-10-2017 (order to be decided)
        "numeric": re.compile(
            r"(?<![\d./-])(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})"
            r"(?![\d]|[./-]\d)"
        ),
        # 10 July 2017, 10th of July, 2017, 10-Jul-2017, 10 de julio de 2017, 10 июля 2017
        "dmy": re.compile(
            rf"(?<![\w.])(?P<d>\d{{1,2}}){ordinal}[\s/-]*(?:of\s+|de\s+)?{month}"
            rf"(?:\s+de|\s+del)?[\s,/-]*(?P<y>\d{{4}})(?!\d)",
            flags,
        ),
        # July 10, 2017; Jul. 10 2017; July 10th, 2017
        "mdy": re.compile(
            rf"(?<![\w.]){month}\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?!\d)\s*,?\s*(?P<y>\d{{4}})(?!\d)", flags
        ),
        # July 2017 (month precision); words that are also common English words are left out
        "my": re.compile(
            rf"(?<![\w.])(?P<month>{safe_months})(?![^\W\d_])\.?,?\s+(?P<y>\d{{4}})(?!\d)", flags
        ),
    }


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def days_between(earlier: str | None, later: str | None) -> int | None:
    """Days from one ISO date (or timestamp) to another; None unless both name a valid day."""
    if not earlier or not later or len(earlier) < 10 or len(later) < 10:
        return None
    try:
        return (date.fromisoformat(later[:10]) - date.fromisoformat(earlier[:10])).days
    except ValueError:
        return None


def expand_two_digit_year(two_digits: int, today: date) -> int:
    """The latest year ending in these digits that is not after this year ("18" -> 2018, "99" -> 1999)."""
    this_century = today.year // 100 * 100 + two_digits
    return this_century if this_century <= today.year else this_century - 100


def _valid(year: int, month: int, day: int, today: date) -> date | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    too_new = value > today + timedelta(days=int(_vocab()["future_slack_days"]))
    return None if too_new or year < int(_vocab()["earliest_year"]) else value


def _year(text: str, today: date) -> int:
    number = int(text)
    return expand_two_digit_year(number, today) if len(text) == 2 else number


def _resolve_order(
    a: int, b: int, sep: str, day_first: bool | None, regional: bool | None
) -> tuple[bool | None, str]:
    """Which of two numeric fields is the day; see the module docstring for the rule."""
    if a > 12 and b > 12:
        return None, "impossible"
    if a > 12:
        return True, "first field above 12"
    if b > 12:
        return False, "second field above 12"
    if a == b:
        return True, "day equals month"
    if day_first is not None:
        return day_first, "order proven elsewhere in the document"
    if sep == ".":
        return True, "dotted dates are day-first by convention"
    if regional is not None:
        return regional, "regional convention (outlet country or language)"
    return None, "ambiguous day/month order"


def _numeric(
    match: re.Match[str], today: date, day_first: bool | None, regional: bool | None
) -> DateParse | None:
    a, b, sep = int(match["a"]), int(match["b"]), match["sep"]
    year = _year(match["y"], today)
    readings = tuple(
        d.isoformat() for d in (_valid(year, b, a, today), _valid(year, a, b, today)) if d is not None
    )
    if not readings:
        return None
    order, evidence = _resolve_order(a, b, sep, day_first, regional)
    if order is None:
        if evidence == "impossible":
            return None
        unique = tuple(dict.fromkeys(readings))
        if len(unique) == 1:  # only one reading is a real, non-future date
            return _make(unique[0], "day", "the other reading is impossible or in the future", match, unique)
        return DateParse(None, "day", True, evidence, match.group(0), match.start(), match.end(), unique)
    chosen = _valid(year, b, a, today) if order else _valid(year, a, b, today)
    if chosen is None:
        return None
    return _make(chosen.isoformat(), "day", evidence, match, readings)


def _make(
    iso: str, precision: Precision, evidence: str, match: re.Match[str], readings: tuple[str, ...] = ()
) -> DateParse:
    readings = readings or (iso,)
    return DateParse(iso, precision, False, evidence, match.group(0), match.start(), match.end(), readings)


def _named(match: re.Match[str], today: date, kind: str) -> DateParse | None:
    month = _month_numbers().get(match["month"].lower().rstrip("."))
    if month is None:
        return None
    year = int(match["y"])
    if kind == "my":
        first = _valid(year, month, 1, today)
        return _make(f"{year:04d}-{month:02d}", "month", "month name", match) if first else None
    value = _valid(year, month, int(match["d"]), today)
    return _make(value.isoformat(), "day", "month name", match) if value else None


def _year_first(match: re.Match[str], today: date) -> DateParse | None:
    value = _valid(int(match["y"]), int(match["m"]), int(match["d"]), today)
    return _make(value.isoformat(), "day", "year first: year-month-day", match) if value else None


def find_dates(
    text: str,
    *,
    day_first: bool | None = None,
    regional: bool | None = None,
    now: date | None = None,
) -> list[DateParse]:
    """Every absolute date written in ``text``, in text order (ambiguous ones included, flagged)."""
    today = now or today_utc()
    found: list[DateParse] = []
    for kind, pattern in _patterns().items():
        for match in pattern.finditer(text):
            parsed = _parse_match(kind, match, today, day_first, regional)
            if parsed is not None:
                found.append(parsed)
    return _without_overlaps(found)


def _parse_match(
    kind: str, match: re.Match[str], today: date, day_first: bool | None, regional: bool | None
) -> DateParse | None:
    if kind in ("ymd", "cjk"):
        return _year_first(match, today)
    if kind == "numeric":
        return _numeric(match, today, day_first, regional)
    return _named(match, today, kind)


def _without_overlaps(found: list[DateParse]) -> list[DateParse]:
    # Longer matches first: "10 July 2017" beats the "July 2017" inside it.
    kept: list[DateParse] = []
    for item in sorted(found, key=lambda p: (-(p.end - p.start), p.start)):
        if all(item.end <= k.start or item.start >= k.end for k in kept):
            kept.append(item)
    return sorted(kept, key=lambda p: p.start)


def parse_date(
    text: str,
    *,
    day_first: bool | None = None,
    regional: bool | None = None,
    now: date | None = None,
) -> DateParse | None:
    """The first absolute date written in ``text``, or None.

    ``day_first``: order proven by the same document (beats the dotted-date convention);
    ``regional``: order conventional for the outlet's country or language (used last).
    An undecidable numeric date comes back with ``ambiguous=True`` and ``iso=None``.
    """
    found = find_dates(text, day_first=day_first, regional=regional, now=now)
    return found[0] if found else None


def infer_day_first(texts: Iterable[str], *, now: date | None = None) -> bool | None:
    """The day/month order the document proves with numeric dates that can only be read one way.

    None when the document proves nothing or contradicts itself.
    """
    votes: set[bool] = set()
    for text in texts:
        for match in _patterns()["numeric"].finditer(text):
            a, b = int(match["a"]), int(match["b"])
            if (a > 12) != (b > 12):
                votes.add(a > 12)
    return votes.pop() if len(votes) == 1 else None


def regional_day_first(country: str | None, language: str | None) -> bool | None:
    """The order a country (ISO 3166 alpha-2), else a language (ISO 639-1), conventionally writes.

    English alone proves nothing (US month-first vs. most of the world day-first).
    """
    vocab = _vocab()
    if country:
        code = country.upper()
        if code in vocab["month_first_countries"]:
            return False
        if code in vocab["no_order_evidence_countries"]:
            return None
        if len(code) == 2 and code.isalpha():
            return True
    if language and language.lower() in vocab["day_first_languages"]:
        return True
    return None


# --- publication date -----------------------------------------------------------------------

@lru_cache(maxsize=1)
def _label_pattern() -> re.Pattern[str]:
    vocab = _vocab()
    labels = _alternation(vocab["published_labels"] + vocab["updated_labels"])
    return re.compile(rf"(?<![\w])(?P<label>{labels})(?![\w])(?:\s+on)?\s*[:：]?", re.IGNORECASE)


_BYLINE_START = re.compile(r"\s*by\s", re.IGNORECASE)
# "10:53", "8:03 am", "18:53:40", "2:16 AM EST": a timestamp marks a line as the page's own.
_TIME_OF_DAY = re.compile(r"\b\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?|[A-Z]{2,4}\b)?", re.IGNORECASE)


@dataclass(frozen=True)
class _Candidate:
    iso: str
    score: int
    order: int
    where: str


@dataclass(frozen=True)
class _Labels:
    """The date labels of one line, found once: a line may hold thousands of dates, and finding
    its labels again for each would cost time quadratic in the line's length."""

    matches: list[re.Match[str]]
    ends: list[int]

    @classmethod
    def of(cls, line: str) -> _Labels:
        matches = list(_label_pattern().finditer(line))
        return cls(matches, [match.end() for match in matches])

    def nearest_before(self, position: int) -> re.Match[str] | None:
        index = bisect_right(self.ends, position)
        return self.matches[index - 1] if index else None


def _label_before(line: str, position: int, labels: _Labels | None = None) -> str | None:
    """The date label closest before ``position`` in ``line`` ("Published:", "Updated"), if any.
    ``labels``: the line's labels when the caller has found them already."""
    nearest = (labels if labels is not None else _Labels.of(line)).nearest_before(position)
    # A label governs the date right after it ("Published: Tuesday, 2:16 AM EST Nov 20, 2019"),
    # not one further along the line.
    if nearest is None or position - nearest.end() > int(_vocab()["label_reach_chars"]):
        return None
    between = _TIME_OF_DAY.sub(" ", line[nearest.end() : position])
    between = " ".join(w for w in re.findall(r"[^\W\d_]+|\d+", between) if w.lower() not in _weekdays())
    return nearest["label"].lower() if len(between) <= 3 else None


def date_label(line: str, position: int) -> Literal["published", "updated"] | None:
    """Whether the date at ``position`` in ``line`` follows a publication label ("Published:",
    "Erschienen am") or an update label ("Updated", "Aktualisiert"), or neither."""
    label = _label_before(line, position)
    if label is None:
        return None
    return "updated" if label in _vocab()["updated_labels"] else "published"


@lru_cache(maxsize=1)
def _weekdays() -> frozenset[str]:
    return frozenset(_vocab()["weekdays"])




@dataclass(frozen=True)
class _Place:
    """Where a line sits on the page, as far as publication dates care."""

    in_head: bool  # before the body: headline, byline and dateline area
    just_after_head: bool  # the first lines of the body area, where some sites put the timestamp
    in_menu: bool  # between one-to-three-word lines: a navigation bar (its date is today's banner)


def _score(line: str, parsed: DateParse, label: str | None, place: _Place) -> int:
    """How much a date on this line looks like the page's own publication date (0: not at all).

    In the head: "published" label 5 > byline or timestamped dateline 4 > bare dateline 3 > other
    short line 2 > a bare dateline inside a navigation menu (today's banner) 1. After the head,
    where related-article teasers carry their own dates: "published" label, byline, or a
    timestamped dateline in the first lines 2; other bare dates nothing. "Updated" is 1 anywhere.
    """
    vocab = _vocab()
    if label is not None:
        if label in vocab["updated_labels"]:
            return 1
        return 5 if place.in_head else 2
    short = len(line) <= int(vocab["short_line_max_chars"])
    byline = _BYLINE_START.match(line) is not None and short
    dateline = len(line) - (parsed.end - parsed.start) <= int(vocab["date_line_max_extra_chars"])
    timestamped = dateline and _TIME_OF_DAY.search(line[parsed.end :]) is not None
    if not place.in_head:
        return 2 if byline or (place.just_after_head and timestamped) else 0
    if byline or timestamped:
        return 4
    if dateline:
        return 1 if place.in_menu else 3
    if short and not line.rstrip().endswith("."):
        return 2  # a short head line ("Jane Roe | Example Daily | 10 July 2017")
    return 0  # a date mentioned inside prose is about events, not the page


def _line_candidates(
    line: str, order: int, place: _Place, context: tuple[bool | None, bool | None], today: date
) -> list[_Candidate]:
    day_first, regional = context
    long_unlabelled = len(line) > int(_vocab()["short_line_max_chars"]) and not _label_pattern().search(line)
    if long_unlabelled or not re.search(r"\d", line):
        return []  # prose mentions events, not the page's date; and no digit, no absolute date
    found = []
    labels = _Labels.of(line)
    for parsed in find_dates(line, day_first=day_first, regional=regional, now=today):
        if parsed.iso is None or parsed.precision != "day":
            continue
        if int(parsed.iso[:4]) < int(_vocab()["earliest_publication_year"]):
            continue
        label = _label_before(line, parsed.start, labels)
        score = _score(line, parsed, label, place)
        if score:
            where = f"{label}: {parsed.text}" if label else parsed.text
            found.append(_Candidate(parsed.iso, score, order, where.strip()))
    return found


def _places(lines: list[tuple[str, bool]]) -> list[_Place]:
    head_end = next((i for i, (_text, in_head) in enumerate(lines) if not in_head), len(lines))
    window = int(_vocab()["after_head_window_lines"])

    def menu_word(i: int) -> bool:
        return 0 <= i < len(lines) and len(lines[i][0].split()) <= 3 and not find_dates(lines[i][0])

    return [
        _Place(in_head, head_end <= i < head_end + window, menu_word(i - 1) and menu_word(i + 1))
        for i, (_text, in_head) in enumerate(lines)
    ]


def find_publication_date(
    blocks: list[str],
    *,
    country: str | None = None,
    language: str | None = None,
    head: int | None = None,
    now: date | None = None,
) -> tuple[str, str] | None:
    """The publication date a page's text states: ``(YYYY-MM-DD, the text it came from)``, or None.

    ``blocks`` are the page's blocks in document order (evidence and body alike). Only dates a
    label names ("Published: ...") or that stand on a dateline, a byline or a short head line
    count (see ``_score``); the highest score wins, ties go to the earliest.
    Ambiguous numeric dates are skipped, never guessed. ``head``: how many leading blocks form the
    page head (headline, byline, dateline); None means all of them.
    ``country``/``language`` give the regional day/month convention (see the module docstring).
    """
    today = now or today_utc()
    context = (infer_day_first(blocks), regional_day_first(country, language))
    lines = [
        (line.strip(), head is None or number < head)
        for number, block in enumerate(blocks)
        for line in block.splitlines()
        if line.strip()
    ]
    candidates = [
        candidate
        for order, ((line, _in_head), place) in enumerate(zip(lines, _places(lines)))
        for candidate in _line_candidates(line, order, place, context, today)
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: (c.score, -c.order))
    return best.iso, best.where


# --- URLs -------------------------------------------------------------------------------------

_URL_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})(?P<sep>[/_-]?)(?P<m>0[1-9]|1[0-2])(?P=sep)(?P<d>0[1-9]|[12]\d|3[01])(?!\d)"
)


def date_from_url(url: str, *, now: date | None = None) -> str | None:
    """A year-month-day date in a URL path (``/2018/07/23/``, ``/2018-07-23-``, ``/20180723/``)."""
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.IGNORECASE)
    today = now or today_utc()
    for match in _URL_DATE.finditer(path):
        value = _valid(int(match["y"]), int(match["m"]), int(match["d"]), today)
        if value is not None:
            return value.isoformat()
    return None
