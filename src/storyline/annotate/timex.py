"""Temporal expressions: find DATE / TIME / DURATION / SET expressions and normalise them (TimeML).

Public API
----------
* ``find_timexes(text, dct, *, doc=None)``  every temporal expression of ``text``, normalised
  against the document creation time ``dct`` (``YYYY-MM-DD``), as ``Timex`` objects in text order
  with exact offsets (``text[t.start:t.end] == t.text``).
* ``resolve_date(value)``  a TimeML value as a calendar date prefix for the timeline:
  ``(YYYY-MM-DD | YYYY-MM | YYYY, "day" | "month" | "year")`` or None.

How it works (HeidelTime-like)
------------------------------
Extraction rules are regular expressions kept as data (``data/timex_rules.json``), built from a
vocabulary (``data/timex_vocab.json``). Every rule proposes candidates, each normalised by the
function its rule names; where candidates overlap the longest wins (ties: the rule listed first).
Then three passes that need more than one expression: a clock time takes its day from an adjacent
date; a weekday followed by a bracketed date takes that date; a date preceded by a position
("the end of", "early", "mid-") is widened to include it (TimeML keeps the value, the mod apart).

Relative expressions and the tense rule
---------------------------------------
A name that repeats (a weekday, a month, a month-day, a season, a quarter) is resolved in the
direction of its sentence's tense: past -> the latest one not after the DCT ("said Friday" on a
Friday is that very day), future -> the first one not before it, no clear tense -> the nearest one.
The tense comes from the governing verb in the spaCy ``doc`` when one is given (its tag and its
auxiliaries: "will", "is due to", "has"), otherwise from the nearest tense cue in the sentence.
"last"/"next" + name are strict: the one before / after the DCT's own.

Without a DCT (``dct=None``)
----------------------------
Absolute expressions ("July 9, 2017", "2016", "the 1990s") and durations/sets get full values.
Relative ones get the most TimeML allows without an anchor: named but yearless dates keep their
known parts with ``X`` for the rest ("Friday" -> ``XXXX-WXX-5``, "July 9" -> ``XXXX-07-09``,
"spring" -> ``XXXX-SP``, "3 p.m." -> ``XXXX-XX-XXT15:00``); deictic ones become
``PAST_REF`` / ``PRESENT_REF`` / ``FUTURE_REF`` by their direction ("last year", "today",
"next week", "three years ago").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal

from spacy.tokens import Doc

from storyline.annotate.parsed import doc_text
from storyline.model import Timex, TimexType
from storyline.read.dates import expand_two_digit_year, find_dates, infer_day_first
from storyline.resources import read_data

Precision = Literal["day", "month", "year"]
# (start, end, type, value) as a normaliser proposes it; the value may still be a bare clock
# time ("T15:00") that the day-attaching pass completes.
Proposal = tuple[int, int, TimexType, str]

_SENTENCE_BREAK = re.compile(r"[.!?]\s|\n")
_CONTEXT_CHARS = 250  # how far the no-parse tense heuristic looks for cues, either side
_NUMERIC_FUTURE_DAYS = 731


# --- data ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _vocab() -> dict[str, Any]:
    data: dict[str, Any] = read_data("timex_vocab.json")
    return data


def _alternation(words: Any) -> str:
    # Longest first so that "a few" wins over "a", "september" over "sep".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=1)
def _placeholders() -> dict[str, str]:
    v = _vocab()
    numword = _alternation(v["number_words"])
    # "a"/"an" count only on their own ("a month"), never inside a compound ("a four-week ...").
    core = _alternation(w for w in v["number_words"] if w not in ("a", "an"))
    units = v["units"]
    full_months = [m for m in v["months"] if len(m) >= 5 or m in ("may", "june", "july")]
    abbreviations = [m for m in v["months"] if m not in full_months]
    # An abbreviation may carry its dot ("Nov. 5"); a full name never takes the sentence's full stop.
    abbreviated = "|".join(rf"{re.escape(a)}\.?" for a in sorted(abbreviations, key=len, reverse=True))
    return {
        "month": f"{_alternation(full_months)}|{abbreviated}",
        "holiday": _alternation(v["holidays"]),
        "month_full": _alternation(full_months),
        "weekday": _alternation(v["weekdays"]),
        "part": _alternation(v["parts_of_day"]),
        "season": _alternation(v["seasons"]),
        "unit": _alternation(units),
        "unit_plural": _alternation(u for u in units if u.endswith("s") and len(u) > 4),
        "numword": numword,
        "num": rf"(?:\d+(?:\.\d+)?|(?:{core})(?:[\s-]+(?:{core}))*|an?)(?:\s+and\s+a\s+half)?",
        "vague": _alternation(v["vague_numbers"]),
        "ordinal": _alternation(v["ordinals"]),
        "decade_word": _alternation(v["decade_words"]),
        "deictic": _alternation(v["deictic_days"]),
        "reference": _alternation(v["references"]),
        "set_adverb": _alternation(v["set_adverbs"]),
        "position": _alternation(v["period_positions"]),
        "tz": _alternation(v["timezones"]),
        "clock_word": _alternation(v["clock_words"]),
    }


@dataclass(frozen=True)
class _Rule:
    name: str
    norm: str
    regex: re.Pattern[str]
    priority: int


@lru_cache(maxsize=1)
def _rules() -> tuple[_Rule, ...]:
    specs = read_data("timex_rules.json")["rules"]
    places = _placeholders()
    rules = []
    for priority, rule in enumerate(specs):
        body = re.sub(r"<<(\w+)>>", lambda m: places[m.group(1)], rule["pattern"])
        regex = re.compile(rf"(?<![\w'’-])(?:{body})(?![\w])", re.IGNORECASE)
        rules.append(_Rule(rule["name"], rule["norm"], regex, priority))
    return tuple(rules)


@lru_cache(maxsize=1)
def _cue_regexes() -> tuple[re.Pattern[str], re.Pattern[str]]:
    v = _vocab()
    future = re.compile(rf"(?<!\w)(?:{_alternation(v['future_cues'])})(?!\w)", re.IGNORECASE)
    past = re.compile(rf"(?<!\w)(?:{_alternation(v['past_cues'])}|[a-z]{{2,}}ed)(?!\w)", re.IGNORECASE)
    return future, past


# --- calendar helpers ---------------------------------------------------------------------------

def _parse_dct(dct: str | None) -> date | None:
    if not dct:
        return None
    try:
        return date.fromisoformat(dct[:10])
    except ValueError:
        return None


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def _choose(candidates: list[int], ref: int, direction: int, strict: bool = False) -> int:
    """The candidate period index in ``direction`` from ``ref`` (-1 past, +1 future, 0 nearest).

    ``strict`` excludes ``ref`` itself ("last Friday" said on a Friday is a week ago).
    """
    if direction < 0:
        before = [c for c in candidates if c < ref or (c == ref and not strict)]
        return max(before) if before else min(candidates)
    if direction > 0:
        after = [c for c in candidates if c > ref or (c == ref and not strict)]
        return min(after) if after else max(candidates)
    return min(candidates, key=lambda c: (abs(c - ref), c > ref))


def _cyclic(position: int, cycle: int, ref_index: int, direction: int, strict: bool = False) -> int:
    """Resolve a position inside a yearly cycle (month 1-12 -> cycle 12) to an absolute index
    ``year * cycle + position - 1`` nearest ``ref_index`` in ``direction``."""
    year = ref_index // cycle
    candidates = [(year + k) * cycle + position - 1 for k in (-1, 0, 1)]
    return _choose(candidates, ref_index, direction, strict)


def _shift_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


# --- the tense of the sentence around a timex ---------------------------------------------------

def _direction(ctx: _Context, start: int, end: int) -> int:
    """-1 past, +1 future, 0 unknown/present, for the sentence governing text[start:end]."""
    if ctx.doc is not None:
        return _doc_direction(ctx.doc, start, end)
    return _cue_direction(ctx.text, start, end)


def _doc_direction(doc: Doc, start: int, end: int) -> int:
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is None or len(span) == 0:
        return 0
    token = span.root
    for _ in range(12):  # walk up to the governing verb
        if token.pos_ in ("VERB", "AUX") or token.tag_.startswith("VB") or token.tag_ == "MD":
            found = _verb_direction(token)
            if found is not None:
                return found
        elif token.lemma_.lower() in _vocab()["future_heads"] and token.pos_ == "ADJ":
            return 1  # "due in May", "likely next week"
        if token.head is token:
            break
        token = token.head
    return 0


def _verb_direction(verb: Any) -> int | None:
    """The direction a verb's form gives, or None to keep looking further up (infinitives)."""
    auxes = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    words = {a.lower_ for a in auxes}
    if words & {"will", "shall", "'ll", "wo"}:
        return 1
    if words & set(_vocab()["future_auxiliaries"]):
        return -1 if "have" in words else 1
    if any(a.tag_ == "TO" for a in auxes):
        head = verb.head
        return 1 if head is not verb and head.lemma_.lower() in _vocab()["future_heads"] else None
    if verb.tag_ == "VBD" or any(a.tag_ == "VBD" for a in auxes):
        return -1
    if verb.tag_ == "VBN":
        if any(a.lemma_ == "be" and a.tag_ in ("VBZ", "VBP") for a in auxes):
            # present passive: "is planned for March 3" looks ahead, "is reported" does not
            return 1 if verb.lemma_.lower() in _vocab()["future_heads"] else 0
        return -1
    if verb.tag_ == "VBG" and any(a.lemma_ == "be" and a.tag_ in ("VBZ", "VBP") for a in auxes):
        return 1  # present progressive for arrangements: "is meeting on Friday"
    if verb.tag_ == "MD":
        return 1 if verb.lower_ in ("will", "shall", "'ll", "wo") else None
    if verb.tag_ == "VB" and not auxes:
        return None
    return 0


def _cue_direction(text: str, start: int, end: int) -> int:
    """Without a parse: the nearest tense cue before the timex in its sentence decides, else the
    nearest after it ("will be held in April, organisers said": "will", not "said")."""
    left = max(0, start - _CONTEXT_CHARS)
    breaks = list(_SENTENCE_BREAK.finditer(text, left, start))
    left = breaks[-1].end() if breaks else left
    right_break = _SENTENCE_BREAK.search(text, end, min(len(text), end + _CONTEXT_CHARS))
    right = right_break.start() if right_break else min(len(text), end + _CONTEXT_CHARS)
    before = _nearest_cue(text, left, start, from_right=True)
    return before if before is not None else (_nearest_cue(text, end, right, from_right=False) or 0)


def _nearest_cue(text: str, left: int, right: int, *, from_right: bool) -> int | None:
    future, past = _cue_regexes()
    not_past = set(_vocab()["not_past_ed"])
    best: tuple[int, int] | None = None
    for direction, regex in ((1, future), (-1, past)):
        for match in regex.finditer(text, left, right):
            if direction < 0 and (match.group(0).lower() in not_past or _is_participle(text, match.start())):
                continue
            distance = right - match.end() if from_right else match.start() - left
            if best is None or distance < best[0]:
                best = (distance, direction)
    return best[1] if best else None


def _is_participle(text: str, start: int) -> bool:
    """"will be held", "is expected": a participle after "be" takes its tense from the auxiliary."""
    return _previous_word(text, start) in ("be", "being", "is", "are", "am", "to", "get", "gets")


# --- normalisation context ----------------------------------------------------------------------

@dataclass
class _Context:
    text: str
    dct: date | None
    doc: Doc | None
    day_first: bool | None


def _span(match: re.Match[str]) -> tuple[int, int]:
    if "t" in match.re.groupindex and match.group("t") is not None:
        return match.start("t"), match.end("t")
    return match.start(), match.end()


def _g(match: re.Match[str], name: str) -> str | None:
    """A named group's text (lower case), None when the rule has no such group or it is unset."""
    if name not in match.re.groupindex:
        return None
    value = match.group(name)
    return value.lower() if value is not None else None


def _previous_word(text: str, start: int) -> str:
    words = re.findall(r"[\w'-]+", text[max(0, start - 30) : start])
    return words[-1].lower() if words else ""


def _capitalised(match: re.Match[str], group: str) -> bool:
    value = match.group(group)
    return bool(value) and value[0].isupper()


def _year_of(match: re.Match[str], name: str = "year") -> int | None:
    raw = match.group(name) if name in match.re.groupindex else None
    return int(raw) if raw else None


# --- normalisers: each returns the proposals of one match (none = rejected) -------------------

def _norm_ymd(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    try:
        day = date(int(m["year"]), int(m["mon"]), int(m["day"]))
    except ValueError:
        return []
    if m["hour"] is None:
        return [(m.start(), m.end(), "DATE", day.isoformat())]
    clock = f"{int(m['hour']):02d}:{m['minute']}" + (f":{m['second']}" if m["second"] else "")
    return [(m.start(), m.end(), "TIME", f"{day.isoformat()}T{clock}")]


def _norm_numeric(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    # The day/month order rule of storyline.read.dates (evidence, dots, never a silent guess).
    # dates.py rejects dates after "now"; news may name dates ahead, so allow two years more.
    now = max(ctx.dct or date.today(), date.today()) + timedelta(days=_NUMERIC_FUTURE_DAYS)
    found = find_dates(m.group(0), day_first=ctx.day_first, now=now)
    if not found:
        return []
    parsed = found[0]
    if parsed.iso is not None:
        return [(m.start(), m.end(), "DATE", parsed.iso)]
    common = _common_prefix(parsed.readings)
    return [(m.start(), m.end(), "DATE", common)] if common else []


def _common_prefix(readings: tuple[str, ...]) -> str | None:
    """The shared year/month of ambiguous readings ("2017-07-10" / "2017-10-07" -> "2017")."""
    if not readings:
        return None
    for cut in (7, 4):
        prefixes = {r[:cut] for r in readings}
        if len(prefixes) == 1:
            return prefixes.pop()
    return None


def _month_ok(ctx: _Context, m: re.Match[str], has_anchor: bool) -> bool:
    """Month names must be capitalised; words like "May" or "March" need a date context."""
    if not _capitalised(m, "month"):
        return False
    word = m["month"].lower().rstrip(".")
    if word not in _vocab()["ambiguous_months"] or has_anchor:
        return True
    if ctx.doc is not None:
        span = ctx.doc.char_span(m.start("month"), m.end("month"), alignment_mode="expand")
        if span is not None and span.root.tag_ == "MD":
            return False
    return _previous_word(ctx.text, m.start("month")) in _vocab()["month_context_before"]


def _norm_month_day(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    if not _month_ok(ctx, m, has_anchor=True):
        return []
    month = _month_number(m["month"])
    day_number = int(m["day"])
    year = _year_of(m)
    if year is None and ctx.dct is None:
        return _valid_day(m, 2000, month, day_number, f"XXXX-{month:02d}-{day_number:02d}")
    if year is None:
        assert ctx.dct is not None
        direction = _direction(ctx, m.start(), m.end())
        weekday = _vocab()["weekdays"].get(_g(m, "weekday") or "")
        year = _year_for_day(ctx.dct, month, day_number, direction, weekday)
        if year is None:
            return []
    return _valid_day(m, year, month, day_number)


def _month_number(word: str) -> int:
    number: int = _vocab()["months"][word.lower().rstrip(".")]
    return number


def _norm_holiday(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    """Fixed-date holidays: "Christmas" is a month-day whose year the tense picks."""
    if not m["holiday"][0].isupper():
        return []
    month, day_number = (int(x) for x in _vocab()["holidays"][m["holiday"].lower()].split("-"))
    year = _year_of(m)
    if year is None and ctx.dct is None:
        return [(m.start(), m.end(), "DATE", f"XXXX-{month:02d}-{day_number:02d}")]
    if year is None:
        assert ctx.dct is not None
        year = _year_for_day(ctx.dct, month, day_number, _direction(ctx, m.start(), m.end()))
    return _valid_day(m, year or 0, month, day_number)


def _valid_day(m: re.Match[str], year: int, month: int, day_number: int, value: str = "") -> list[Proposal]:
    try:
        day = date(year, month, day_number)
    except ValueError:
        return []
    return [(m.start(), m.end(), "DATE", value or day.isoformat())]


def _year_for_day(
    dct: date, month: int, day_number: int, direction: int, weekday: int | None = None
) -> int | None:
    """The year of a yearless date; a weekday written with it ("Sunday, July 9") picks the year
    where that date falls on that weekday, when one of the candidates does."""
    candidates: dict[int, int] = {}
    for year in (dct.year - 1, dct.year, dct.year + 1):
        try:
            day = date(year, month, day_number)
        except ValueError:
            continue
        candidates[day.toordinal()] = year
    matching = {o: y for o, y in candidates.items() if date.fromordinal(o).isoweekday() == weekday}
    candidates = matching or candidates
    if not candidates:
        return None
    return candidates[_choose(list(candidates), dct.toordinal(), direction)]


def _relative(m: re.Match[str]) -> int | None:
    rel = _g(m, "rel")
    return _vocab()["relative_words"].get(rel) if rel else None


def _norm_month(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    has_anchor = bool(_g(m, "year") or _g(m, "rel") or _g(m, "mod"))
    if not _month_ok(ctx, m, has_anchor):
        return []
    month = _month_number(m["month"])
    year = _year_of(m)
    if year is not None:
        return [(m.start(), m.end(), "DATE", f"{year:04d}-{month:02d}")]
    if ctx.dct is None:
        return [(m.start(), m.end(), "DATE", f"XXXX-{month:02d}")]
    rel = _relative(m)
    ref = ctx.dct.year * 12 + ctx.dct.month - 1
    if rel == 0:
        index = ctx.dct.year * 12 + month - 1
    elif rel is not None:
        index = _cyclic(month, 12, ref, rel, strict=True)
    else:
        index = _cyclic(month, 12, ref, _direction(ctx, m.start(), m.end()))
    return [(m.start(), m.end(), "DATE", f"{index // 12:04d}-{index % 12 + 1:02d}")]


def _weekday_date(ctx: _Context, weekday: int, rel: int | None, start: int, end: int) -> date:
    assert ctx.dct is not None
    ref = ctx.dct.toordinal()
    # Ordinal 1 (0001-01-01) was a Monday: weekday w falls on ordinals = w (mod 7).
    base = ref - (ref - weekday) % 7
    candidates = [base - 7, base, base + 7]
    if rel == 0:  # "this Friday": the one in the DCT's week
        return ctx.dct + timedelta(days=weekday - ctx.dct.isoweekday())
    if rel is not None:
        return date.fromordinal(_choose(candidates, ref, rel, strict=True))
    return date.fromordinal(_choose(candidates, ref, _direction(ctx, start, end)))


def _norm_weekday(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    if not _capitalised(m, "weekday"):
        return []
    weekday = _vocab()["weekdays"][m["weekday"].lower()]
    part = _vocab()["parts_of_day"].get(_g(m, "part") or "")
    if ctx.dct is None:
        value = f"XXXX-WXX-{weekday}"
    else:
        value = _weekday_date(ctx, weekday, _relative(m), m.start(), m.end()).isoformat()
    if part:
        return [(m.start(), m.end(), "TIME", f"{value}T{part}")]
    return [(m.start(), m.end(), "DATE", value)]


def _norm_deictic(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    start, end = _span(m)
    word = _g(m, "deictic") or ""
    rel = _g(m, "rel")
    part = _vocab()["parts_of_day"].get(_g(m, "part") or "")
    if word == "tonight":
        part = part or "NI"
    offset = _vocab()["deictic_days"].get(word, -1 if rel == "last" else 0)
    if ctx.dct is None:
        value = ("PAST_REF", "PRESENT_REF", "FUTURE_REF")[offset + 1]
        return [(start, end, "TIME" if part and offset == 0 else "DATE", value)]
    day = (ctx.dct + timedelta(days=offset)).isoformat()
    if part:
        return [(start, end, "TIME", f"{day}T{part}")]
    return [(start, end, "DATE", day)]


def _year_in_range(year: int) -> bool:
    return int(_vocab()["year_min"]) <= year <= int(_vocab()["year_max"])


def _norm_year_range(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    first = int(m["year"])
    raw = m["year2"]
    second = int(raw) if len(raw) == 4 else first // 100 * 100 + int(raw)
    if not (_year_in_range(first) and _year_in_range(second)) or second <= first:
        return []
    return [
        (m.start("year"), m.end("year"), "DATE", f"{first:04d}"),
        (m.start("year2"), m.end("year2"), "DATE", f"{second:04d}"),
    ]


def _norm_fiscal(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    raw = m["year"]
    year = int(raw) if len(raw) == 4 else expand_two_digit_year(int(raw), ctx.dct or date.today())
    if not _year_in_range(year):
        return []
    return [(m.start(), m.end(), "DATE", f"{year:04d}")]


def _norm_year(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    year = int(m["year"])
    if not _year_in_range(year) or not _looks_like_year(ctx, m):
        return []
    return [(m.start(), m.end(), "DATE", f"{year:04d}")]


def _looks_like_year(ctx: _Context, m: re.Match[str]) -> bool:
    """A bare four-digit number is a year unless its neighbours make it an amount or a code."""
    before = ctx.text[max(0, m.start() - 2) : m.start()]
    after = ctx.text[m.end() : m.end() + 30]
    if re.search(r"[$€£#¥]\s*$|[\d.,]$|No\.\s*$", before) or re.match(r"(?:[.,]\d|\s*%|\d|-\d{3})", after):
        return False
    next_word = re.match(r"\s+([a-z%]+)", after)
    if next_word and next_word.group(1) in _vocab()["year_blockers"]:
        return False
    if next_word and ctx.doc is None and _counted_noun(next_word.group(1)):
        # "sold 2000 tractors": a count, unless a determiner or preposition makes it a year
        # ("the 2016 elections", "in 2016 prices")
        return _previous_word(ctx.text, m.start()) in _vocab()["year_context_before"]
    if ctx.doc is not None:
        span = ctx.doc.char_span(m.start("year"), m.end("year"), alignment_mode="expand")
        if span is not None and span.root.dep_ == "nummod" and span.root.head.tag_ == "NNS":
            return False  # "2000 troops": a count
    return True


def _counted_noun(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _norm_decade(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    if m["decade"]:
        value = m["decade"]
    elif m["dec2"]:
        base = (ctx.dct.year if ctx.dct else date.today().year) // 100
        tens = int(m["dec2"])
        century = base if tens * 10 <= (ctx.dct or date.today()).year % 100 else base - 1
        value = f"{century:02d}{tens}"
    else:
        if not m["the"]:
            return []  # "nineties" alone is usually an age
        value = f"19{_vocab()['decade_words'][m['decword'].lower()]}"
    if not _year_in_range(int(value) * 10 + 9):
        return []
    return [(m.start(), m.end(), "DATE", value)]


def _norm_century(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    number = int(m["cnum"]) if m["cnum"] else _vocab()["ordinals"].get((m["cword"] or "").lower())
    if not number or number > 30:
        return []
    return [(m.start(), m.end(), "DATE", f"{number - 1:02d}")]


def _norm_quarter(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    code = m["qcode"] or m["qcode2"] if "qcode" in m.re.groupindex else None
    if code is not None and not code.startswith("Q"):
        return []  # "q3" in lower case is rarely a quarter
    year = _year_of(m) or (_year_of(m, "year_first") if "year_first" in m.re.groupindex else None)
    quarter = int(code[1]) if code else _vocab()["ordinals"].get(_g(m, "qord") or "")
    rel = _relative(m)
    if quarter is None and rel is None:
        return []
    if year is not None and quarter is not None:
        return [(m.start(), m.end(), "DATE", f"{year:04d}-Q{quarter}")]
    if ctx.dct is None:
        value = f"XXXX-Q{quarter}" if quarter else ("PAST_REF", "PRESENT_REF", "FUTURE_REF")[(rel or 0) + 1]
        return [(m.start(), m.end(), "DATE", value)]
    ref = ctx.dct.year * 4 + (ctx.dct.month - 1) // 3
    if quarter is None:
        index = ref + (rel or 0)
    else:
        index = _cyclic(quarter, 4, ref, _direction(ctx, m.start(), m.end()))
    return [(m.start(), m.end(), "DATE", f"{index // 4:04d}-Q{index % 4 + 1}")]


def _norm_season(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    word = m["season"]
    code = _vocab()["seasons"][word.lower()]
    year = _year_of(m)
    rel = _relative(m)
    if year is None and rel is None and not _season_context(ctx, m):
        return []
    if year is not None:
        return [(m.start(), m.end(), "DATE", f"{year:04d}-{code}")]
    if ctx.dct is None:
        return [(m.start(), m.end(), "DATE", f"XXXX-{code}")]
    order = _vocab()["season_order"]
    ref = _season_index(ctx.dct)
    if rel == 0:
        index = ctx.dct.year * 4 + order[code] - 1
    elif rel is not None:
        index = _cyclic(order[code], 4, ref, rel, strict=True)
    else:
        index = _cyclic(order[code], 4, ref, _direction(ctx, m.start(), m.end()))
    code_of = {n: c for c, n in order.items()}
    return [(m.start(), m.end(), "DATE", f"{index // 4:04d}-{code_of[index % 4 + 1]}")]


def _season_index(day: date) -> int:
    """Absolute season index ``year * 4 + season - 1`` of a day: spring Mar-May .. autumn
    Sep-Nov, winter from December, so January and February belong to the previous year's winter
    (in January, "last summer" is the summer of the year before)."""
    if day.month <= 2:
        return (day.year - 1) * 4 + 3
    return day.year * 4 + (day.month - 3) // 3


def _season_context(ctx: _Context, m: re.Match[str]) -> bool:
    """A bare season word is a date only after a determiner or temporal preposition ("in spring",
    "the autumn"), never inside a name ("Arab Spring"); "the fall" only when no "of" follows
    ("the fall of the wall")."""
    previous_words = re.findall(r"[\w'-]+", ctx.text[max(0, m.start() - 30) : m.start()])
    if m["season"][0].isupper() and previous_words and previous_words[-1][0].isupper():
        return False
    previous = previous_words[-1].lower() if previous_words else ""
    if m["season"].lower() == "fall":
        return bool(m["mod"]) or (bool(m["the"]) and re.match(r"\s+of\b", ctx.text[m.end() :]) is None)
    return bool(m["mod"] or m["the"]) or previous in _vocab()["season_context_before"]


def _period_value(dct: date | None, unit: str, offset: int) -> str:
    """The DCT's week/month/year/... shifted by ``offset`` periods, as a TimeML value."""
    if dct is None:
        return ("PAST_REF", "PRESENT_REF", "FUTURE_REF")[max(-1, min(1, offset)) + 1]
    if unit == "week":
        return _week(dct + timedelta(weeks=offset))
    if unit == "weekend":
        return _week(dct + timedelta(weeks=offset)) + "-WE"
    if unit == "month":
        year, month = _shift_months(dct, offset)
        return f"{year:04d}-{month:02d}"
    if unit == "quarter":
        index = dct.year * 4 + (dct.month - 1) // 3 + offset
        return f"{index // 4:04d}-Q{index % 4 + 1}"
    if unit == "decade":
        return f"{dct.year // 10 + offset:03d}"
    if unit == "century":
        return f"{dct.year // 100 + offset:02d}"
    return f"{dct.year + offset:04d}"


def _norm_relative_unit(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    unit = m["unit"].lower()
    rel_word = _g(m, "rel")
    # "the past decade", "over the next year": spans of time, not calendar periods (TimeML).
    if m["the"] and rel_word in ("past", "next", "coming", "following"):
        return [(m.start(), m.end(), "DURATION", _duration_value(1.0, _unit_key(unit)))]
    if rel_word is None:  # "the weekend": the one the tense points at
        offset = _weekend_offset(ctx, m)
    else:
        offset = _vocab()["relative_words"][rel_word]
    return [(m.start(), m.end(), "DATE", _period_value(ctx.dct, unit, offset))]


def _weekend_offset(ctx: _Context, m: re.Match[str]) -> int:
    if ctx.dct is None or ctx.dct.isoweekday() >= 6:
        return 0
    return -1 if _direction(ctx, m.start(), m.end()) < 0 else 0


def _norm_position(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    unit = m["unit"].lower()
    rel = _relative(m)
    offset = rel or 0
    if rel is None and ctx.dct is not None:
        # "peaked by the end of the year" said in March: the year that has already ended.
        direction = _direction(ctx, m.start(), m.end())
        pos = (_g(m, "pos") or "").split()[-1]
        if direction < 0 and pos in ("end", "close", "half", "part", "remainder", "rest"):
            offset = -1 if not (unit == "year" and ctx.dct.month == 12) else 0
    return [(m.start(), m.end(), "DATE", _period_value(ctx.dct, unit, offset))]


def _norm_clock(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    word = _g(m, "clock")
    if word:
        return [(m.start(), m.end(), "TIME", "T" + _vocab()["clock_words"][word])]
    hour = int(m["hour"])
    ampm = (_g(m, "ampm") or "").replace(".", "").replace(" ", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    clock = f"T{hour:02d}:{m['minute'] or '00'}"
    if "second" in m.re.groupindex and m["second"]:
        clock += f":{m['second']}"
    return [(m.start(), m.end(), "TIME", clock)]


def _unit_key(word: str) -> str:
    key: str = _vocab()["units"][word.lower()]
    return key


def _duration_value(amount: float | None, key: str) -> str:
    """TimeML duration: P3Y, PT2H, PXM (vague), P18M for a year and a half, P10Y for a decade."""
    time_marker, designator, multiplier = _vocab()["unit_values"][key]
    if amount is None:
        vague = {"DE": "DE", "CE": "CE"}.get(key, designator)
        return f"P{time_marker}X{vague}"
    amount *= multiplier
    if amount != int(amount) and key in _vocab()["fraction_units"]:
        smaller, factor = _vocab()["fraction_units"][key]
        if (amount * factor) == int(amount * factor):
            return _duration_value(amount * factor, smaller)
    number = str(int(amount)) if amount == int(amount) else f"{amount:g}"
    return f"P{time_marker}{number}{designator}"


def _number(text: str | None) -> float | None:
    """A written amount: "3", "2.5", "twenty-five", "two hundred", "two and a half"; None if vague."""
    if not text:
        return None
    text = text.lower().strip()
    half = 0.5 if text.endswith("and a half") else 0.0
    text = text.removesuffix("and a half").strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text) + half
    words = _vocab()["number_words"]
    if text in words:
        return float(words[text]) + half
    total = 0
    for part in re.split(r"[\s-]+", text):
        if part not in words:
            return None
        total = total * words[part] if words[part] == 100 and total else total + words[part]
    return float(total) + half


def _norm_duration(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    start, end = _span(m)
    unit_word = m["unit"].lower()
    key = _unit_key(unit_word)
    amount = _duration_amount(m)
    if amount is False or _previous_word(ctx.text, start) in _vocab()["duration_blockers_before"]:
        return []
    if _g(m, "ago"):
        return [(start, end, "DATE", _ago_value(ctx.dct, amount if isinstance(amount, float) else None, key))]
    return [(start, end, "DURATION", _duration_value(amount if isinstance(amount, float) else None, key))]


def _duration_amount(m: re.Match[str]) -> float | None | Literal[False]:
    """The number of units; None when vague ("several"); False when this is no duration."""
    if _g(m, "vague"):
        return None
    if _g(m, "half"):
        return 0.5
    raw = _g(m, "num")
    if raw is None:
        return None  # bare plural "for years"
    if raw in ("a", "an", "one") and m["unit"].lower() in ("second", "sec"):
        return False  # "a second term": an ordinal, not a second of time
    amount = _number(raw)
    if amount is None:
        return False
    if _g(m, "andhalf"):
        amount += 0.5
    return amount


def _ago_value(dct: date | None, amount: float | None, key: str) -> str:
    if dct is None or amount is None or amount != int(amount) or key in ("S", "MIN", "H"):
        return "PAST_REF"
    n = int(amount)
    if key in ("D", "NIGHT"):
        return (dct - timedelta(days=n)).isoformat()
    if key in ("W", "FN", "WE"):
        return _week(dct - timedelta(weeks=n * (2 if key == "FN" else 1)))
    if key in ("M", "Q"):
        year, month = _shift_months(dct, -n * (3 if key == "Q" else 1))
        return f"{year:04d}-{month:02d}"
    if key == "DE":
        return f"{(dct.year - 10 * n) // 10:03d}"
    if key == "CE":
        return f"{(dct.year - 100 * n) // 100:02d}"
    return f"{dct.year - n:04d}"


def _norm_duration_range(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    """"12 to 18 months": two durations, the first borrowing the unit (as TimeML annotates it)."""
    first, second = _number(m["num1"]), _number(m["num"])
    if first is None or second is None or first >= second:
        return []
    key = _unit_key(m["unit"])
    return [
        (m.start("num1"), m.end("num1"), "DURATION", _duration_value(first, key)),
        (m.start("num"), m.end(), "DURATION", _duration_value(second, key)),
    ]


def _norm_set_unit(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    start, end = _span(m)
    key = _unit_key(m["unit"])
    amount = 2.0 if _g(m, "other") else (_number(_g(m, "num")) if _g(m, "num") else 1.0)
    return [(start, end, "SET", _duration_value(amount, key))]


def _norm_set_named(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    v = _vocab()
    if m["weekday"]:
        if not _capitalised(m, "weekday"):
            return []
        value = f"XXXX-WXX-{v['weekdays'][m['weekday'].lower()]}"
    elif _g(m, "month"):
        if not _capitalised(m, "month"):
            return []
        value = f"XXXX-{_month_number(m['month']):02d}"
    elif _g(m, "part"):
        value = f"XXXX-XX-XXT{v['parts_of_day'][m['part'].lower()]}"
    else:
        value = f"XXXX-{v['seasons'][m['season'].lower()]}"
    return [(m.start(), m.end(), "SET", value)]


def _norm_set_adverb(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    if m["adverb"][0].isupper() and m.start() > 0 and ctx.text[m.start() - 2 : m.start()].strip():
        return []  # "the Daily Telegraph": part of a name
    return [(m.start(), m.end(), "SET", _vocab()["set_adverbs"][m["adverb"].lower()])]


def _norm_nth_period(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    return [(m.start(), m.end(), "DATE", "XXXX-XX-XX")]


def _norm_day_ordinal(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    start, end = _span(m)
    day_number = int(m["day"])
    if ctx.dct is None:
        return [(start, end, "DATE", f"XXXX-XX-{day_number:02d}")] if 1 <= day_number <= 31 else []
    ref = ctx.dct.toordinal()
    candidates = []
    for offset in (-1, 0, 1):
        year, month = _shift_months(ctx.dct, offset)
        try:
            candidates.append(date(year, month, day_number).toordinal())
        except ValueError:
            continue
    if not candidates:
        return []
    chosen = _choose(candidates, ref, _direction(ctx, start, end))
    return [(start, end, "DATE", date.fromordinal(chosen).isoformat())]


def _norm_reference(ctx: _Context, m: re.Match[str]) -> list[Proposal]:
    value = _vocab()["references"][re.sub(r"\s+", " ", m["ref"].lower())]
    return [(m.start(), m.end(), "DATE", value)]


_NORMALISERS: dict[str, Callable[[_Context, re.Match[str]], list[Proposal]]] = {
    "ymd": _norm_ymd,
    "numeric": _norm_numeric,
    "month_day": _norm_month_day,
    "holiday": _norm_holiday,
    "month": _norm_month,
    "weekday": _norm_weekday,
    "deictic": _norm_deictic,
    "year_range": _norm_year_range,
    "fiscal": _norm_fiscal,
    "year": _norm_year,
    "decade": _norm_decade,
    "century": _norm_century,
    "quarter": _norm_quarter,
    "season": _norm_season,
    "position": _norm_position,
    "relative_unit": _norm_relative_unit,
    "clock": _norm_clock,
    "duration": _norm_duration,
    "duration_range": _norm_duration_range,
    "set_unit": _norm_set_unit,
    "set_named": _norm_set_named,
    "set_adverb": _norm_set_adverb,
    "nth_period": _norm_nth_period,
    "day_ordinal": _norm_day_ordinal,
    "reference": _norm_reference,
}


# --- candidates, overlaps and the passes across expressions ------------------------------------

def _candidates(ctx: _Context) -> Iterator[tuple[int, Proposal]]:
    for rule in _rules():
        normalise = _NORMALISERS[rule.norm]
        for match in rule.regex.finditer(ctx.text):
            for proposal in _normalised(normalise, ctx, match):
                yield rule.priority, proposal


def _normalised(normalise: Callable[[_Context, re.Match[str]], list[Proposal]], ctx: _Context,
                match: re.Match[str]) -> list[Proposal]:
    """The normaliser's proposals. A date pushed past the calendar's ends (years 1 to 9999:
    "9,999,999 weeks ago", or "tomorrow" on a DCT of 9999-12-31) cannot be written as a day, so
    the expression is normalised as if the text had no DCT ("PAST_REF", "XXXX-WXX-5")."""
    try:
        return normalise(ctx, match)
    except (OverflowError, ValueError):  # date arithmetic out of range (ValueError: ordinal 0)
        return normalise(replace(ctx, dct=None), match)


def _without_overlaps(candidates: list[tuple[int, Proposal]]) -> list[Proposal]:
    """Longest first, then the rule listed first; a kept span blocks every span it overlaps."""
    ordered = sorted(candidates, key=lambda c: (-(c[1][1] - c[1][0]), c[0], c[1][0]))
    kept: list[Proposal] = []
    # One byte per character: a 2 MB text with 100k candidates stays linear.
    taken = bytearray(max((p[1] for _, p in candidates), default=0))
    for _priority, proposal in ordered:
        start, end = proposal[0], proposal[1]
        if taken.find(1, start, end) < 0:
            kept.append(proposal)
            taken[start:end] = b"\x01" * (end - start)
    return sorted(kept)


@lru_cache(maxsize=1)
def _position_prefix() -> re.Pattern[str]:
    positions = _alternation(_vocab()["period_positions"])
    return re.compile(
        rf"(?:(?:the\s+)?(?:very\s+)?(?:{positions})\s+of\s+(?:the\s+)?|(?:early|late|mid)(?:\s+|-)|mid)$",
        re.IGNORECASE,
    )


def _widen(text: str, proposal: Proposal) -> Proposal:
    """Include a position before a date ("the end of March", "mid-2016"): TimeML keeps it in the
    extent; the value stays the period itself."""
    start, end, kind, value = proposal
    if kind != "DATE" or value.endswith("_REF") or value.startswith("P"):
        return proposal
    match = _position_prefix().search(text, max(0, start - 40), start)
    if match is None or (match.start() > 0 and text[match.start() - 1].isalnum()):
        return proposal
    return match.start(), end, kind, value


def _attach_days(ctx: _Context, proposals: list[Proposal]) -> list[Proposal]:
    """A clock time ("3 p.m.") takes the day of a date next to it, else the DCT's."""
    result = []
    for index, (start, end, kind, value) in enumerate(proposals):
        if kind == "TIME" and value.startswith("T"):
            day = _adjacent_day(ctx.text, proposals, index) or (ctx.dct.isoformat() if ctx.dct else "XXXX-XX-XX")
            value = f"{day}{value}"
        result.append((start, end, kind, value))
    return result


def _adjacent_day(text: str, proposals: list[Proposal], index: int) -> str | None:
    start, end = proposals[index][0], proposals[index][1]
    for other in (index - 1, index + 1):
        if 0 <= other < len(proposals):
            o_start, o_end, _kind, value = proposals[other]
            gap = text[o_end:start] if o_end <= start else text[end:o_start]
            if len(gap) <= 6 and re.fullmatch(r"[\s,]*(?:on|,)?[\s,]*", gap) and re.match(r"\d{4}-\d{2}-\d{2}", value):
                return value[:10]
    return None


def _bracketed_dates(text: str, proposals: list[Proposal]) -> list[Proposal]:
    """"on Sunday (July 9)": the weekday is the date in brackets, whatever the tense says."""
    result = list(proposals)
    for index in range(len(result) - 1):
        start, end, kind, value = result[index]
        n_start, _n_end, _n_kind, n_value = result[index + 1]
        is_weekday = re.fullmatch(r"[A-Z][a-z]+day", text[start:end]) is not None
        if is_weekday and re.fullmatch(r"\s*[(,]\s*", text[end:n_start]) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", n_value):
            weekday = _vocab()["weekdays"].get(text[start:end].lower())
            if weekday == date.fromisoformat(n_value).isoweekday():
                result[index] = (start, end, kind, n_value)
    return result


def find_timexes(text: str, dct: str | None, *, doc: Doc | None = None) -> list[Timex]:
    """Every temporal expression of ``text``, normalised against ``dct`` (see the module doc).

    ``doc``: the spaCy parse of this very text (same offsets), used for the tense of relative
    expressions and to tell "May" the month from the verb; without it, cue words decide.
    """
    if not text:
        return []
    if doc is not None and doc_text(doc) != text:
        doc = None  # a parse of some other text would give wrong tenses: fall back to cue words
    ctx = _Context(text, _parse_dct(dct), doc, infer_day_first([text]))
    proposals = _without_overlaps(list(_candidates(ctx)))
    proposals = [_widen(text, p) for p in proposals]
    proposals = _bracketed_dates(text, _attach_days(ctx, proposals))
    return [Timex(start, end, text[start:end], kind, value) for start, end, kind, value in proposals]


# --- for other stages ---------------------------------------------------------------------------

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?![\d])")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})")
_YEAR = re.compile(r"^(\d{4})(?:$|-(?:Q[1-4]|SP|SU|FA|WI|H[12])$)")


def resolve_date(value: str) -> tuple[str, Precision] | None:
    """A TimeML value as a calendar date for the timeline, or None when it names none.

    Days (times included) -> ``("YYYY-MM-DD", "day")``; months -> ``("YYYY-MM", "month")``;
    ISO weeks -> the month of the week's Thursday (the ISO rule for which month/year a week
    belongs to); years, quarters, seasons and halves -> ``("YYYY", "year")``. Decades, centuries,
    durations, sets, ``*_REF`` and values with ``X`` placeholders -> None.
    """
    if not value or "X" in value[:10]:
        return None
    if m := _DAY.match(value):
        try:
            return date(int(m[1]), int(m[2]), int(m[3])).isoformat(), "day"
        except ValueError:
            return None
    if m := _WEEK.match(value):
        try:
            thursday = date.fromisocalendar(int(m[1]), int(m[2]), 4)
        except ValueError:
            return None
        return f"{thursday.year:04d}-{thursday.month:02d}", "month"
    if (m := _MONTH.match(value)) and 1 <= int(m[2]) <= 12:
        return f"{m[1]}-{m[2]}", "month"
    if m := _YEAR.match(value):
        return m[1], "year"
    return None
