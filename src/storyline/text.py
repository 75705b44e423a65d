"""Text utilities the story modules share: lines of a sentence, a light stemmer, stop words, the
test of a sentence that can stand alone in a summary, and a headline drawn from a text's lead
for a story none of whose sources has a title. Rules live in ``data/text.json``.

The summary, the agenda and the perspectives read a story through these, so that they split,
stem and drop stop words the same way (an agenda passage and a summary candidate of one
sentence have the same offsets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from storyline.resources import read_data

DATA_FILE = "text.json"
_TERMINAL = re.compile(r"[.!]['\"\u201d\u2019)]*$")
_QUESTION = re.compile(r"\?['\"\u201d\u2019)]*$")
STARTS_LIKE_SENTENCE = re.compile(r"^[\"'\u201c\u2018(]?[A-Z0-9]")
_BYLINE = re.compile(r"^(?:By|BY|Written by|Posted by)\s+[A-Z]")
# A teaser cut short ("... and ...") or text with broken encoding ("President?s").
# "HAMBURG —", "MOSCOW (Reuters) -", "KESSEL, Norland —": a dateline opening a lead.
_DATELINE = re.compile(r"^[A-Z][A-Z .'\u2019-]+(?:,\s*[A-Z][A-Za-z .]*)*\s*(?:\([^)]{1,40}\)\s*)?[\u2014\u2013-]+\s+")
_CLAUSE_BREAK = re.compile(r"[,;:\u2014\u2013]\s|\s-\s")
_ROUGH_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+['\"\u201d\u2019)]*|$)")
_DAMAGED = re.compile(r"(?:\.\.\.|\u2026)['\"\u201d\u2019)]*$|[a-z]\?[a-z]")


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    data: dict[str, Any] = read_data(DATA_FILE)
    return data


def sentence_rules() -> dict[str, Any]:
    """What ``is_summary_worthy`` reads: ``sentence`` (word limits, upper-case share) and
    ``boilerplate`` (markers of non-article lines). A copy: callers may override entries."""
    rules = _rules()
    return {"sentence": rules["sentence"], "boilerplate": rules["boilerplate"]}


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """spaCy's English stop words plus news words that carry no content ("said", "according")."""
    from spacy.lang.en.stop_words import STOP_WORDS  # the word list alone, not a pipeline

    return frozenset(STOP_WORDS) | frozenset(_rules()["extra_stop_words"])


def split_lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The non-blank lines of ``text[start:end]``, stripped, as (start, end) offsets."""
    spans = []
    for match in re.finditer(r"[^\n]+", text[start:end]):
        piece = match.group()
        left = len(piece) - len(piece.lstrip())
        right = len(piece.rstrip())
        if right > left:
            spans.append((start + match.start() + left, start + match.start() + right))
    return spans


def stem(word: str) -> str:
    """A crude, fast stemmer: enough to match plurals and possessives across sources."""
    word = word.lower()
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def is_summary_worthy(sentence: str, rules: Mapping[str, Any] | None = None) -> bool:
    """Not a question, fragment, caption, byline, headline, dateline or boilerplate line.
    ``rules``: ``sentence_rules()`` unless given (the summary passes its tuning overrides)."""
    rules = rules if rules is not None else sentence_rules()
    limits = rules["sentence"]
    words = sentence.split()
    if not limits["min_words"] <= len(words) <= limits["max_words"]:
        return False
    if _QUESTION.search(sentence) or not _TERMINAL.search(sentence):
        return False
    if not STARTS_LIKE_SENTENCE.match(sentence) or _BYLINE.match(sentence) or _DAMAGED.search(sentence):
        return False
    letters = list(filter(str.isalpha, sentence))
    if not letters or sum(map(str.isupper, letters)) / len(letters) > limits["max_upper_share"]:
        return False
    return _any_marker(tuple(rules["boilerplate"])).search(sentence.lower()) is None


@lru_cache(maxsize=8)
def _any_marker(markers: tuple[str, ...]) -> re.Pattern[str]:
    """Finds any of ``markers`` in a text (one scan, not one per marker)."""
    return re.compile("|".join(map(re.escape, markers)) if markers else "(?!)")


def lead_headline(text: str, sentences: Sequence[tuple[int, int]] | None = None) -> str | None:
    """A headline for a text that has none: its lead (the first sentence that can stand alone,
    see ``is_summary_worthy``), its dateline cut, shortened to its first clause when long and
    to ``headline.max_words`` words at most (then marked "…"). ``sentences``: the text's
    sentence offsets when annotated (else a rough split). None when no sentence qualifies."""
    spans = sentences if sentences is not None else [(m.start(), m.end()) for m in _ROUGH_SENTENCE.finditer(text)]
    rules = sentence_rules()
    for start, end in spans:
        for line_start, line_end in split_lines(text, start, end):
            sentence = text[line_start:line_end]
            if is_summary_worthy(sentence, rules):
                return _shortened(_DATELINE.sub("", sentence, count=1))
    return None


def _shortened(sentence: str) -> str:
    """The sentence as a headline: whole when short, else up to the first clause break that
    leaves ``headline.min_words`` words, else cut after a content word and marked as cut."""
    limits = _rules()["headline"]
    sentence = sentence.strip().rstrip(".!")
    words = sentence.split()
    if len(words) <= limits["max_words"]:
        return sentence
    for match in _CLAUSE_BREAK.finditer(sentence):
        head = sentence[:match.start()].strip()
        if limits["min_words"] <= len(head.split()) <= limits["max_words"]:
            return head
    kept = words[:limits["max_words"]]
    while len(kept) > limits["min_words"] and kept[-1].lower().strip(",;:") in stop_words():
        kept.pop()  # "... a ferry line between…": end on a content word
    return " ".join(kept).rstrip(",;:") + "\u2026"
