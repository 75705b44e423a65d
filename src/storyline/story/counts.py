"""Counts, proportions and day dates as comparable values, for finding where sources contradict
each other.

A count is a number written in digits ("1,200", "3") or words ("three", "twenty-one", "two
dozen") and the thing it counts: its noun among the next content words, as an agenda key
("boats" and "boat" are one key). Each count is an ``Amount``, an interval: "three boats" is
[3, 3]; a range ("three to five", "3-5", "between three and five", "three or four") is its
span; a bound ("at least three", "more than 3") is open on one side; an estimate ("about 14") is
widened by ``estimate_tolerance``; a part of a whole ("two of the four boats") gives both the
part and the whole, and a part alone ("two of the boats") only says there were at least that
many. Two sources contradict each other on a thing only when none of one's amounts meets any
of the other's.

A proportion ("a third of the forest", "half", "two thirds", "most of", "33 percent of", "the
entire forest") is an ``Amount`` with ``share`` set, a fraction of 1 compared with an absolute
tolerance (``share_tolerance``: "a third" and "33 percent" agree, "a third" and "half" do
not). Counts and proportions are never compared with each other.

A day date is a month and a day of the month ("March 21", "21 March").

Constants: ``data/agenda.json``, ``perspectives.conflicts.counts``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from storyline.story.agenda import config as agenda_config
from storyline.story.agenda import key_of
from storyline.text import stop_words

# A number is a token of its own: "12th" and "G20" are words, not counts.
_TOKEN = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?(?![\w,])|\d[\d,]*\d(?!\w)|\d(?!\w)|[A-Za-z\d][\w'\u2019-]*|[^\s\w]")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAY_DATE = re.compile(r"\b(?:(%s)\s+(\d{1,2})(?!\d)(?!\s*(?:%%|per))|(\d{1,2})\s+(%s))\b" % (
    "|".join(_MONTHS), "|".join(_MONTHS)), re.IGNORECASE)
_PERCENT = ("%", "percent")
_MEASURE = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(?:-|\u2013)?\s*)(per cent|percent|%|[A-Za-z]+(?:\s[A-Za-z]+)?)")
# What may join the parts of one duration: "7 years, 1 month", "2 hours and 30 minutes".
_RESTATED = re.compile(r"\s*[(\[]\s*")
_COMPOUND = re.compile(r"\s*(?:,|,?\s*and)\s*")
_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"})
# The words of bounds and estimates ("at least", "about") are not what happens to a count.
_BOUND_WORDS = frozenset({"least", "most", "about", "around", "nearly", "almost", "roughly", "some",
                          "approximately", "estimated", "over", "under", "than", "up", "more", "fewer",
                          "less", "between", "topping", "exceeding", "just"})


@dataclass(frozen=True)
class Amount:
    """How many (or, with ``share``, what part of a whole): the interval [low, high]."""

    low: float
    high: float
    share: bool = False

    def meets(self, other: Amount, tolerance: float) -> bool:
        """Whether both can be true: a count and a share say nothing of each other; two
        shares may differ by ``tolerance``; two counts must overlap."""
        if self.share != other.share:
            return True
        slack = tolerance if self.share else 0.0
        return self.low <= other.high + slack and other.low <= self.high + slack

    def __str__(self) -> str:
        if self.low == self.high:
            return _format(self.low)
        if math.isinf(self.high):
            return f">={_format(self.low)}"
        if self.low <= 0:
            return f"<={_format(self.high)}"
        return f"{_format(self.low)}-{_format(self.high)}"


@dataclass
class Counted:
    """A thing a text counts: the word it uses (for comparing meaning), its amounts, the
    content words just before its counts ("found" in "found two big objects": what happened to
    the things counted) and the words that say which ones: between the number and the noun
    and after "of" ("two robbery charges", "flybys of Venus")."""

    word: str
    amounts: set[Amount]
    leads: set[str] = field(default_factory=set)
    qualifiers: set[str] = field(default_factory=set)


@lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    data: dict[str, Any] = agenda_config()["perspectives"]["conflicts"]["counts"]
    return data


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _names(text: str) -> frozenset[int]:
    """Indices of the tokens written with a capital inside a sentence: names, which modify the
    noun after them ("the Halden forest": the forest)."""
    found = _TOKEN.findall(text)
    return frozenset(i for i, t in enumerate(found)
                     if i > 0 and t[:1].isupper() and found[i - 1] not in (".", "!", "?", '"', "\u201c"))


def _word_value(token: str) -> float | None:
    """A number word or a digit string ("twenty-one" -> 21, "1,200" -> 1200)."""
    if token[0].isdigit():
        try:
            return float(token.replace(",", ""))
        except ValueError:
            return None
    parts = token.split("-")
    numbers = config()["numbers"]
    if all(p in numbers for p in parts) and len(parts) <= 2:
        return float(sum(numbers[p] for p in parts))
    return None


def _number_at(tokens: list[str], i: int) -> tuple[float, int, bool] | None:
    """The number starting at token i: (value, index after it, whether it is a fraction)."""
    scales, fractions = config()["scales"], config()["fractions"]
    token = tokens[i]
    value = 1.0 if token in config()["articles"] else _word_value(token)
    if token in fractions:  # "half" alone: a bare fraction ("third" alone only before "of")
        if token not in config()["bare_fractions"] and tokens[i + 1:i + 2] != ["of"]:
            return None
        return fractions[token], i + 1, True
    if value is None:
        return None
    j = i + 1
    while j < len(tokens) and tokens[j] in scales:  # "two dozen", "3 million"
        value, j = value * scales[tokens[j]], j + 1
    if j < len(tokens) and tokens[j] in fractions:  # "a third of", "two thirds of"
        if tokens[j] not in config()["bare_fractions"] and tokens[j + 1:j + 2] != ["of"]:
            return None  # "a fifth route", "the third time": an ordinal
        return value * fractions[tokens[j]], j + 1, True
    if j == i + 1 and token in config()["articles"]:
        return None  # an article on its own counts nothing
    return value, j, False


def _head_word(tokens: list[str], j: int, fraction: bool, i: int, names: frozenset[int] = frozenset()) -> str | None:
    """What a count is about: its noun among the next content words (the first plural one,
    "two big objects", else the first, "one boat"); after a fraction, the words after "of
    the" ("a third of the country"), or the possessive before it ("the forest's eastern
    half"). Only one word: the verb after it ("two boats attacked") must not make two counts
    of different things comparable."""
    determiners = set(config()["determiners"])
    while fraction and j < len(tokens) and (tokens[j] in determiners or _modifying_name(tokens, j, names)):
        j += 1
    words: list[str] = []
    for token in tokens[j:j + config()["max_head_words"]]:
        if not token[0].isalpha() or token in stop_words():
            break
        words.append(token)
    if not words and fraction:
        return _possessive_before(tokens, i)
    plural = [w for w in words if w.endswith("s") and not w.endswith("ss")]
    return plural[0] if plural and not fraction else words[0] if words else None


def _modifying_name(tokens: list[str], j: int, names: frozenset[int]) -> bool:
    """Whether the name at j is a run of names before a common noun ("the West African
    country": the country)."""
    if j not in names:
        return False
    k = j
    while k in names:
        k += 1
    return k < len(tokens) and tokens[k][:1].isalpha() and tokens[k] not in stop_words()


def _possessive_before(tokens: list[str], i: int) -> str | None:
    determiners = set(config()["determiners"])
    k = i - 1
    while k >= 0 and tokens[k] in determiners:
        k -= 1
    if k >= 0 and re.fullmatch(r"[a-z]+['\u2019]s", tokens[k]):
        return tokens[k][:-2]
    return None


def _age_or_ratio(tokens: list[str], i: int, j: int) -> bool:
    """An age ("a 36-year-old climber", "36 years old") or a ratio ("1 in 500 users", "one in
    five") is no count of things."""
    after = [t for t in tokens[j:j + 4] if t != "-"]
    if after[:2] in (["year", "old"], ["years", "old"]) or after[:1] in (["year-old"], ["years-old"]):
        return True
    return tokens[j:j + 1] == ["in"] and j + 1 < len(tokens) and _word_value(tokens[j + 1]) is not None


def _label(tokens: list[str], i: int, names: frozenset[int]) -> bool:
    """A number after a name is part of the name ("Category 4", "Flight 8501"), unless the
    name is a weekday ("on Monday 12 people"); so is one after "No." or "number"."""
    if tokens[i][0].isdigit() and (tokens[max(0, i - 2):i] == ["no", "."] or tokens[i - 1:i] in (["number"], ["#"])):
        return True  # "No. 5", "number 5"
    return tokens[i][0].isdigit() and i - 1 in names and tokens[i - 1] not in _WEEKDAYS


def _format(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def _is_date_part(tokens: list[str], i: int, j: int) -> bool:
    """The days and years of dates ("March 21", "21 March 2024") and the parts of a time of
    day ("10:20 p.m.") are no counts."""
    if ":" in tokens[max(0, i - 1):i] + tokens[i + 1:i + 2]:
        return True
    near = tokens[max(0, i - 1):i] + tokens[j:j + 1]
    return any(t in _MONTHS for t in near) or bool(re.fullmatch(r"1\d{3}|20\d{2}", tokens[i]))


def _bounded(tokens: list[str], i: int, value: float) -> Amount:
    """A count with what comes before it: "at least 3" is [3, inf), "up to 3" [0, 3],
    "about 14" 14 give or take ``estimate_tolerance``, "nearly 14" a little under 14."""
    before = " ".join(tokens[max(0, i - 3):i])
    bounds, spread = config()["bounds"], config()["estimate_tolerance"]
    if before.endswith(tuple(bounds["at_least"])):
        return Amount(value, math.inf)
    if before.endswith(tuple(bounds["at_most"])):
        return Amount(0.0, value)
    if before.endswith(tuple(bounds["nearly"])):
        return Amount(value * (1 - spread), value)
    if before.endswith(tuple(bounds["about"])):
        return Amount(value * (1 - spread), value * (1 + spread))
    return Amount(value, value)


def _range_end(tokens: list[str], i: int, j: int) -> tuple[float, int] | None:
    """The upper end of a range starting with the number at i ("three to five", "3-5",
    "three or four", "between three and five"): (its value, index after it)."""
    joins = set(config()["range_words"]) | ({"and"} if i > 0 and tokens[i - 1] == "between" else set())
    if j + 1 >= len(tokens) or tokens[j] not in joins:
        return None
    found = _number_at(tokens, j + 1)
    if found is None or found[2] or tokens[j + 1] in config()["articles"]:
        return None
    return found[0], found[1]


@dataclass
class _Found:
    word: str
    amount: Amount


def amounts(text: str) -> dict[str, Counted]:
    """Key of a counted thing -> the word the text uses for it and the amounts it gives."""
    tokens, names = _tokens(text), _names(text)
    out: dict[str, Counted] = {}
    i = 0
    while i < len(tokens):
        start = i
        found, i = _read_at(tokens, i, names)
        for item in found:
            counted = out.setdefault(key_of(item.word), Counted(item.word, set()))
            counted.amounts.add(item.amount)
            counted.leads.update(_lead(tokens, start))
            counted.qualifiers.update(_qualifiers(tokens, start, item.word))
    return out


def _lead(tokens: list[str], start: int) -> list[str]:
    """The content word just before a count (within ``lead_words`` tokens), as a key."""
    for token in reversed(tokens[max(0, start - config()["lead_words"]):start]):
        if token[0].isalpha() and token not in stop_words() and token not in _BOUND_WORDS:
            return [key_of(token)]
    return []


def _qualifiers(tokens: list[str], start: int, word: str) -> list[str]:
    """The content words between a count and its noun, and the one after "of (the)" right
    after the noun, as keys."""
    at = next((k for k in range(start, min(len(tokens), start + 8)) if tokens[k] == word), None)
    if at is None:
        return []
    skip = set(config()["determiners"]) | set(config()["scales"]) | set(config()["fractions"]) | _BOUND_WORDS
    out = [key_of(t) for t in tokens[start + 1:at] if t[0].isalpha() and t not in stop_words()
           and t not in skip and _word_value(t) is None]
    if tokens[at + 1:at + 2] == ["of"]:
        k = at + 2
        while k < len(tokens) and (tokens[k] in config()["determiners"] or tokens[k] in stop_words()):
            k += 1
        if k < len(tokens) and tokens[k][0].isalpha():
            out.append(key_of(tokens[k]))
    return out


def _read_at(tokens: list[str], i: int, names: frozenset[int]) -> tuple[list[_Found], int]:
    """The counts read at token i, and where to read on (``names``: see ``_names``)."""
    whole = _whole_at(tokens, i, names)
    if whole is not None:
        return whole
    number = _number_at(tokens, i)
    if number is None or _label(tokens, i, names):
        return [], i + 1
    value, j, fraction = number
    if fraction:
        word = _head_word(tokens, j, True, i, names)
        return ([_Found(word, Amount(value, value, share=True))] if word else []), j
    if _is_date_part(tokens, i, j) or _age_or_ratio(tokens, i, j):
        return [], j + 2 if tokens[j:j + 1] == ["in"] else j  # "1 in 500": both numbers
    if j < len(tokens) and tokens[j] in _PERCENT or tokens[j:j + 2] == ["per", "cent"]:
        return _percent(tokens, i, j, value, names)
    if j < len(tokens) and tokens[j] == "of":
        return _part_of(tokens, i, j, value)
    amount = _bounded(tokens, i, value)
    upper = _range_end(tokens, i, j)
    if upper is not None:
        amount, j = Amount(min(value, upper[0]), max(value, upper[0])), upper[1]
    word = _head_word(tokens, j, False, i)
    return ([_Found(word, amount)] if word else []), j


def _whole_at(tokens: list[str], i: int, names: frozenset[int]) -> tuple[list[_Found], int] | None:
    """Proportions in words: "most of the forest", "the majority of ..." (``of_proportions``,
    which must be followed by "of"), "the entire forest", "the whole town" (``whole_words``);
    a fraction or number after them ("the entire northern half") is read as its own."""
    token = tokens[i]
    parts: dict[str, list[float]] = config()["of_proportions"]
    if token in parts and tokens[i + 1:i + 2] == ["of"]:
        low, high = parts[token]
    elif token in config()["whole_words"]:
        low, high = 1.0, 1.0
    else:
        return None
    j = i + 1
    determiners = set(config()["determiners"])
    while j < len(tokens) and tokens[j] in determiners:
        j += 1
    if j < len(tokens) and (tokens[j] in config()["fractions"] or _word_value(tokens[j]) is not None):
        return None
    word = _head_word(tokens, j, True, i, names)
    return ([_Found(word, Amount(low, high, share=True))] if word else []), j + 1


def _percent(tokens: list[str], i: int, j: int, value: float, names: frozenset[int]) -> tuple[list[_Found], int]:
    """"33 percent of the forest" is a share of the forest; a percentage of nothing named
    ("rose 3 percent") is left to the numbers with units."""
    j += 2 if tokens[j] == "per" else 1
    if j >= len(tokens) or tokens[j] != "of":
        return [], j
    word = _head_word(tokens, j, True, i, names)
    return ([_Found(word, Amount(value / 100, value / 100, share=True))] if word else []), j


def _part_of(tokens: list[str], i: int, j: int, value: float) -> tuple[list[_Found], int]:
    """"two of the four boats": two boats and four boats both stated; "two of the boats":
    at least two boats."""
    k = j + 1
    while k < len(tokens) and tokens[k] in config()["determiners"]:
        k += 1
    whole = _number_at(tokens, k) if k < len(tokens) else None
    if whole is not None and not whole[2]:
        word = _head_word(tokens, whole[1], False, k)
        if not word:
            return [], whole[1]
        return [_Found(word, Amount(value, value)), _Found(word, Amount(whole[0], whole[0]))], whole[1]
    word = _head_word(tokens, k, False, i)
    return ([_Found(word, Amount(value, math.inf))] if word else []), k


def numbers_in(text: str) -> set[float]:
    """Every number a text writes, in digits or words, counted or not ("he won 304."), and the
    sums of two joined by "and"."""
    tokens, names = _tokens(text), _names(text)
    found = [(i, v) for i, v in enumerate(_word_value(t) if t[0].isalnum() else None for t in tokens)
             if v is not None and not _label(tokens, i, names)]
    # "12 Somali and 11 Yemeni pirates" also says 23 pirates: numbers joined by "and" add up.
    sums = {x + y for (i, x), (k, y) in zip(found, found[1:]) if k - i <= 4 and "and" in tokens[i + 1:k]}
    return {v for _, v in found} | sums


def states_either(a: set[Amount], numbers: set[float]) -> bool:
    """Whether a text that writes ``numbers`` also states one of the exact counts ``a``."""
    return any(x.low == x.high and not x.share and x.low in numbers for x in a)


def counts(text: str) -> dict[str, set[str]]:
    """Key of a counted thing -> the amounts the text gives for it, written out ("2", "3-5",
    ">=3", "0.33")."""
    return {key: {str(a) for a in counted.amounts} for key, counted in amounts(text).items()}


def compatible(a: set[Amount], b: set[Amount]) -> bool:
    """Whether two texts' amounts for one thing can both be true: some amount of one meets
    some amount of the other (a text that also states the other's value does not contradict
    it)."""
    tolerance = float(config()["share_tolerance"])
    return any(x.meets(y, tolerance) for x in a for y in b)


def day_dates(text: str) -> dict[str, set[str]]:
    """Month -> the days of that month a text names ("March 21" and "21 March" alike)."""
    out: dict[str, set[str]] = {}
    for match in _DAY_DATE.finditer(text):
        month = (match.group(1) or match.group(4)).lower()
        out.setdefault(month, set()).add(str(int(match.group(2) or match.group(3))))
    return out


def differing(a: dict[str, set[str]], b: dict[str, set[str]]) -> list[str]:
    """The keys both give values for, with no value in common: a contradiction (a text that
    also states the other's value does not contradict it)."""
    return sorted(k for k in a.keys() & b.keys() if not a[k] & b[k])


def differing_counts(a: dict[str, Counted], b: dict[str, Counted]) -> list[str]:
    """The things (keys) both count, with amounts that cannot both be true."""
    return sorted(k for k in a.keys() & b.keys() if not compatible(a[k].amounts, b[k].amounts))


@dataclass(frozen=True)
class Measure:
    """A number with a unit: its value in the unit's dimension's base (days, kilometres, ...;
    a unit with no conversion is its own dimension) and the words the text gives it in."""

    value: float
    written: str


def measures(text: str) -> dict[str, list[Measure]]:
    """Dimension -> the numbers with units a text states (``perspectives.conflicts.units``),
    converted (``counts.conversions``: "85-month" and "7 years, 1 month" are one duration),
    with a scale folded in ("3.9 million miles"). Approximate values ("about", "more than":
    ``conflicts.hedges``) are left out, since two approximations rarely contradict each other."""
    limits = agenda_config()["perspectives"]["conflicts"]
    units = sorted({u.lower() for u in limits["units"]}, key=len, reverse=True)
    hedges = tuple(h.lower() for h in limits["hedges"])
    out: dict[str, list[Measure]] = {}
    last: tuple[str, int] | None = None  # the dimension and end of the measure just read
    for match in _MEASURE.finditer(text):
        found = _measure(match, units)
        if found is None or re.match(r"[\s-]*old\b", text[found[2]:]):
            continue  # no unit, or an age ("36-year-old", "36 years old")
        if text[:match.start()].lower().rstrip().endswith(hedges):
            last = (found[0], found[2])  # an estimate: what restates it in brackets is one too
            out.setdefault(found[0], [])
            continue
        dimension, measure, end = found
        if last and _RESTATED.fullmatch(text[last[1]:match.start()]):
            last = (dimension, end)  # "20 miles (32 kilometers)": one value in two units
            continue
        if last and last[0] == dimension == "duration" and _COMPOUND.fullmatch(text[last[1]:match.start()]):
            before = out[dimension][-1]
            out[dimension][-1] = Measure(before.value + measure.value, f"{before.written}, {measure.written}")
        else:
            out.setdefault(dimension, []).append(measure)
        last = (dimension, end)
    return {dimension: values for dimension, values in out.items() if values}


def _measure(match: re.Match[str], units: list[str]) -> tuple[str, Measure, int] | None:
    """The dimension, the converted measure and where its unit ends in the text."""
    value = float(match.group(1).replace(",", ""))
    words = match.group(2).lower().split()
    scale = config()["scales"].get(words[0]) if len(words) > 1 else None
    phrase = words[1] if scale else " ".join(words)
    unit = next((u for u in units if phrase.startswith(u)), None)
    if unit is None:
        return None
    used = len(unit.split()) + (1 if scale else 0)
    written = re.match(r"\S+(?:\s+\S+){%d}" % (used - 1), match.group(2))
    assert written is not None  # the unit was read from these words
    dimension, factor = config()["conversions"].get(unit, [unit, 1.0])
    measure = Measure(value * (scale or 1) * factor, f"{match.group(1)} {written.group(0)}")
    return dimension, measure, match.start(2) + written.end()
