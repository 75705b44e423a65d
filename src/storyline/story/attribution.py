"""Who argues a summary sentence: an opinion is never stated as a fact.

A sentence of an opinion or analysis piece (the document's ``kind``), or an evaluative sentence
of any piece (a judgement word of ``attribution.evaluative`` in ``data/summarize.json``:
"skillfully", "a blunder" ...), says what its author thinks. In the summary it is said to be
theirs: "Harbour Gazette commentator Mara Lund argues: “…”". The words around the sentence are
drawn from the document's metadata only (its outlet, authors, their roles and its kind); the
sentence itself is quoted as the source wrote it, so its citation stays faithful.

Not attributed: a sentence of an argued piece that reports a dated event as happened (a fact
any source could state) and judges nothing, a sentence that already says who speaks (a reporting cue such as "said" or
"according to", or a quote the annotate stage found), an interview's sentence (its speaker is
the interviewee, whom the metadata does not name), and a sentence of a document with no outlet
and no author when nothing but the evaluative word marks it (there is nobody to name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from storyline.model import Document

OPEN_QUOTE, CLOSE_QUOTE = "\u201c", "\u201d"
SEPARATOR = ": "


@dataclass(frozen=True)
class AttributionRules:
    """The ``attribution`` section of ``data/summarize.json``, compiled once."""

    argued: dict[str, tuple[str, str, str]]  # kind -> (noun, verb for one, verb for several)
    reported: tuple[str, str]  # verb for one author, for several
    cues: re.Pattern[str]
    evaluative: re.Pattern[str]
    max_role_words: int


@lru_cache(maxsize=4)
def _compiled(cues: tuple[str, ...], evaluative: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    def words(items: tuple[str, ...]) -> re.Pattern[str]:
        return re.compile(r"\b(?:" + "|".join(items) + r")\b", re.IGNORECASE)

    return words(cues), words(evaluative)


def attribution_rules(config: dict[str, Any]) -> AttributionRules:
    raw = config["attribution"]
    cues, evaluative = _compiled(tuple(raw["cues"]), tuple(raw["evaluative"]))
    return AttributionRules(
        argued={kind: (spec["noun"], spec["verb"], spec["verb_plural"]) for kind, spec in raw["argued"].items()},
        reported=(raw["reported"]["verb"], raw["reported"]["verb_plural"]),
        cues=cues, evaluative=evaluative, max_role_words=int(raw["max_role_words"]),
    )


def needs_attribution(document: Document, start: int, end: int, rules: AttributionRules) -> bool:
    """An opinion or an assessment the sentence states in its author's own voice."""
    text = document.text[start:end]
    if document.kind == "interview" or rules.cues.search(text) or _quoted(document, start, end):
        return False
    if document.kind in rules.argued:
        # A dated event it reports ("On July 7, the summit was held in Hamburg.") is a fact
        # any source could state, unless the sentence judges it.
        return not _dated_fact(document, start, end) or rules.evaluative.search(text) is not None
    return rules.evaluative.search(text) is not None and bool(document.outlet or document.authors)


def _dated_fact(document: Document, start: int, end: int) -> bool:
    events = document.annotations.events if document.annotations else []
    return any(e.start < end and start < e.end and e.status == "happened" for e in events)


def _quoted(document: Document, start: int, end: int) -> bool:
    """A quote the annotate stage found lies in the sentence: someone else's words, attributed."""
    quotes = document.annotations.quotes if document.annotations else []
    return any(q.start < end and start < q.end for q in quotes)


def attribution(document: Document, rules: AttributionRules, *, again: bool = False) -> str:
    """Who argues it, and how: "Harbour Gazette commentator Mara Lund argues". ``again``: the
    summary named this source's author already, so the name and the verb suffice."""
    authors = _joined(document.authors)
    several = len(document.authors) > 1
    if document.kind in rules.argued:
        noun, verb, plural = rules.argued[document.kind]
        verb = plural if several else verb
        if again and (authors or document.outlet):
            return f"{authors or document.outlet} {verb}"
        if authors and document.outlet:
            return f"{document.outlet} {noun} {authors} {verb}"
        if authors:
            role = _short_role(document, rules)
            return f"{authors}, {role}, {verb}" if role else f"{noun.capitalize()} {authors} {verb}"
        article = "An" if noun[0] in "aeiou" else "A"
        return f"{article} {noun} in {document.outlet} {verb}" if document.outlet else f"{article} {noun} {verb}"
    verb = rules.reported[1] if several else rules.reported[0]
    if again or not (authors and document.outlet):
        return f"{authors or document.outlet} {verb}"
    return f"{authors} of {document.outlet} {verb}"


def _joined(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and others"


def _short_role(document: Document, rules: AttributionRules) -> str:
    """The only author's role, up to its first comma, when short enough to read in passing."""
    if len(document.authors) != 1:
        return ""
    role = document.author_roles.get(document.authors[0], "").split(",")[0].strip()
    return role if 0 < len(role.split()) <= rules.max_role_words else ""


def attributed_text(who: str, sentence: str) -> str:
    """The sentence as the summary shows it: its source's words, quoted whole."""
    return f"{who}{SEPARATOR}{OPEN_QUOTE}{sentence}{CLOSE_QUOTE}"


def source_words(text: str, who: str | None) -> str:
    """The source's own words of a summary sentence (the inverse of ``attributed_text``)."""
    if not who:
        return text
    prefix = f"{who}{SEPARATOR}{OPEN_QUOTE}"
    if not (text.startswith(prefix) and text.endswith(CLOSE_QUOTE)):
        raise ValueError(f"not an attributed sentence of {who!r}: {text!r}")
    return text[len(prefix):-len(CLOSE_QUOTE)]
