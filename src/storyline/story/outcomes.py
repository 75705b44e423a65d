"""Outcomes a sentence states, for finding sources that contradict each other on how something
ended: won or lost, approved or rejected, died or survived, convicted or acquitted, held or
released.

Each kind of outcome (``data/agenda.json``, ``perspectives.conflicts.outcomes``) has two sides,
each a list of phrases ("was defeated", "won"). The longest phrases are matched first and a
matched span is not matched again, so "was defeated" is a loss and never also the win
"defeated". A phrase with a negation just before it ("did not win", "was never charged") is no
outcome: a negated outcome is not simply the other side.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from storyline.story.agenda import config as agenda_config

_NEGATION = re.compile(r"\b(?:not|no|never|n't|nor|neither)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """One outcome phrase in a text: its kind, its side (0 or 1), the phrase and its span."""

    kind: str
    side: int
    phrase: str
    start: int
    end: int


@lru_cache(maxsize=1)
def config() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = agenda_config()["perspectives"]["conflicts"]["outcomes"]["kinds"]
    return data


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, int, re.Pattern[str]]]:
    """(kind, side, pattern) for every phrase, longest first."""
    phrases = [(kind["name"], side, phrase) for kind in config()
               for side, forms in enumerate(kind["sides"]) for phrase in forms]
    phrases.sort(key=lambda x: -len(x[2]))
    return [(k, s, re.compile(r"\b%s\b" % re.escape(p).replace(r"\ ", r"\s+"), re.IGNORECASE))
            for k, s, p in phrases]


def outcomes(text: str) -> list[Outcome]:
    """The outcomes a text states, in text order."""
    taken: list[tuple[int, int]] = []
    found = []
    for kind, side, pattern in _patterns():
        for match in pattern.finditer(text):
            if any(match.start() < e and s < match.end() for s, e in taken):
                continue
            taken.append((match.start(), match.end()))
            if not _negated(text, match.start()):
                found.append(Outcome(kind, side, match.group(0).lower(), match.start(), match.end()))
    return sorted(found, key=lambda o: o.start)


def _negated(text: str, start: int) -> bool:
    """A negation among the few words before the phrase."""
    before = text[:start].split()[-3:]
    return bool(_NEGATION.search(" ".join(before)))


def sequential(kind: str) -> bool:
    """Whether the two sides of a kind can follow each other (held, then released): then two
    reports from different times are no contradiction."""
    return any(bool(k.get("sequential")) for k in config() if k["name"] == kind)
