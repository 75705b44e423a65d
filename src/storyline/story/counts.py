"""Counts and day dates as comparable values, for finding where sources contradict each other.

A count is a number written in digits ("1,200", "3") or words ("three", "twenty-one", "two
dozen", "a third", "half") and the thing it counts: the next few content words, as agenda keys
("boats" and "boat" are one key). "three boats" and "3 boats" are then the same value about the
same thing, "two boats" and "three boats" are not. A day date is a month and a day of the
month ("March 21", "21 March"). Constants: ``data/agenda.json``, ``perspectives.conflicts.counts``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from storyline.story.agenda import config as agenda_config
from storyline.story.agenda import key_of
from storyline.text import stop_words

# A number is a token of its own: "12th" and "G20" are words, not counts.
_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?(?!\w)|[A-Za-z\d][\w'\u2019-]*|[^\s\w]")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_DAY_DATE = re.compile(r"\b(?:(%s)\s+(\d{1,2})(?!\d)(?!\s*(?:%%|per))|(\d{1,2})\s+(%s))\b" % (
    "|".join(_MONTHS), "|".join(_MONTHS)), re.IGNORECASE)


@lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    data: dict[str, Any] = agenda_config()["perspectives"]["conflicts"]["counts"]
    return data


@lru_cache(maxsize=1)
def _hedges() -> tuple[str, ...]:
    return tuple(h.lower() for h in agenda_config()["perspectives"]["conflicts"]["hedges"])


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


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
    if token in fractions:  # "half" alone: a bare fraction
        return fractions[token], i + 1, True
    if value is None:
        return None
    j = i + 1
    while j < len(tokens) and tokens[j] in scales:  # "two dozen", "3 million"
        value, j = value * scales[tokens[j]], j + 1
    if j < len(tokens) and tokens[j] in fractions:  # "a third", "two thirds"
        return value * fractions[tokens[j]], j + 1, True
    if j == i + 1 and token in config()["articles"]:
        return None  # an article on its own counts nothing
    return value, j, False


def _head(tokens: list[str], j: int, fraction: bool) -> str | None:
    """What a count is about: its noun among the next content words (the first plural one,
    "two big objects", else the first, "one boat"); after a fraction, the words after "of
    the" ("a third of the country"). Only one word: the verb after it ("two boats attacked")
    must not make two counts of different things comparable."""
    determiners = set(config()["determiners"])
    if j < len(tokens) and tokens[j] == "of" and not fraction:
        return None  # "one of the three boats": the count is the later number's
    while fraction and j < len(tokens) and tokens[j] in determiners:
        j += 1
    words: list[str] = []
    for token in tokens[j:j + config()["max_head_words"]]:
        if not token[0].isalpha() or token in stop_words():
            break
        words.append(token)
    plural = [w for w in words if w.endswith("s") and not w.endswith("ss")]
    chosen = plural[0] if plural and not fraction else words[0] if words else None
    return key_of(chosen) if chosen else None


def _format(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def _excluded(tokens: list[str], i: int, j: int) -> bool:
    """Estimates ("about 14") and the days and years of dates ("March 21", "21 March 2024")
    are no counts."""
    before = " ".join(tokens[max(0, i - 3):i])
    if before.endswith(_hedges()):
        return True
    near = tokens[max(0, i - 1):i] + tokens[j:j + 1]
    return any(t in _MONTHS for t in near) or bool(re.fullmatch(r"1\d{3}|20\d{2}", tokens[i]))


def counts(text: str) -> dict[str, set[str]]:
    """Key of a counted thing -> the values the text gives for it."""
    tokens = _tokens(text)
    out: dict[str, set[str]] = {}
    i = 0
    while i < len(tokens):
        found = _number_at(tokens, i)
        if found is None:
            i += 1
            continue
        value, j, fraction = found
        head = None if _excluded(tokens, i, j) else _head(tokens, j, fraction)
        if head:
            out.setdefault(head, set()).add(_format(value))
        i = j
    return out


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
