"""Dated events: sentences that say something happened, is scheduled or is expected on a date.

An event is anchored by a DATE (or dated TIME) timex whose value resolves to a day, a month or a
year. The event's date carries only the precision the text gives. Its status comes from the verb
that governs the date: past tense or perfect -> happened; will / is to / is scheduled / a present
tense with a future date -> scheduled; expected / likely / may -> expected. When the date modifies a
noun ("the July 16 summit", "the elections on November 6") the verb says nothing about the
event itself, so the status is the date's position relative to the publication date.

Dates the timex stage could not anchor to a year but whose month and day are explicit
("July 9" in a document without a publication date) are kept as ``XXXX-MM-DD``: the timeline may
attach them to the same event dated by another source, and drops them otherwise; this stage never
invents a year. Without a publication date, other dates count only when the text states their
year. A year-less month-day resolved more than half a year from publication is pulled back to the
nearest year (``nearest_year``).

Not events: durations and sets (only DATE and dated TIME timexes count), dates after "every",
"since", "until", "before", "after", "by" (recurrences, span bounds and deadlines), publication
lines, verbless lines, questions, doubted events ("unlikely"), hedged statements about the past
("could not recover last winter") and a present tense inside a coarse current period ("needs to
win this autumn"). The text is the sentence, cut at line breaks and trimmed. Vocabulary lives in
``data/events_vocab.json``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import date as _date
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from spacy.tokens import Doc, Span, Token

from storyline.annotate.parsed import doc_text, span_text
from storyline.annotate.timex import resolve_date
from storyline.model import Event, EventStatus, Timex
from storyline.resources import read_data

ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
YEARLESS = re.compile(r"^XXXX-(\d{2})-(\d{2})")
HALF_YEAR_DAYS = 183


@lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    data: dict[str, Any] = read_data("events_vocab.json")
    return data


def _resolve_date(value: str) -> str | None:
    """The ISO prefix of a TimeML value, as the timex stage resolves it ("2018-SU" -> "2018")."""
    resolved = resolve_date(value)
    if resolved is None:
        return None
    prefix = resolved[0]
    # Only what the contract can carry: YYYY, YYYY-MM, YYYY-MM-DD.
    return prefix if ISO_DATE.match(prefix) else None


def timex_date(timex: Timex) -> str | None:
    """The date a DATE/TIME timex names (``YYYY[-MM[-DD]]`` or year-less ``XXXX-MM-DD``)."""
    if timex.type not in ("DATE", "TIME"):
        return None
    resolved = _resolve_date(timex.value)
    if resolved:
        return resolved
    yearless = YEARLESS.match(timex.value)
    return f"XXXX-{yearless.group(1)}-{yearless.group(2)}" if yearless else None


def compare_dates(a: str, b: str) -> int | None:
    """-1/0/1 comparing two ISO prefixes on their common precision; None for year-less dates.

    Equal on the common precision counts as 0 ("2018" vs "2018-11-06"): neither is before.
    """
    if a.startswith("XXXX") or b.startswith("XXXX"):
        return None
    size = min(len(a), len(b))
    left, right = a[:size], b[:size]
    return (left > right) - (left < right)


def sentence_units(doc: Doc) -> list[Span]:
    """The document's sentences, cut at line breaks: the parser sometimes runs a heading or a
    byline into the next paragraph's first sentence, and a citation must not cross paragraphs.

    Events and forecasts both read them: they are cut once per Doc (their token bounds kept,
    the spans made again on each call)."""
    bounds = _UNITS.get(doc)
    if bounds is None:
        units = _sentence_units(doc)
        _UNITS[doc] = [(unit.start, unit.end) for unit in units]
        return units
    return [doc[start:end] for start, end in bounds]


# A Doc's units as token bounds. Why not the spans: each span holds its Doc, so spans kept as
# the value of a weakly keyed entry keep the Doc alive, and a worker held the parse of every
# document it had annotated (some 400 KB each, without end).
_UNITS: WeakKeyDictionary[Doc, list[tuple[int, int]]] = WeakKeyDictionary()


def _sentence_units(doc: Doc) -> list[Span]:
    units: list[Span] = []
    text = doc_text(doc)
    for sentence in doc.sents:
        start = sentence.start
        # Its tokens with their trailing spaces run up to the next sentence's first character.
        end_with_space = doc[sentence.end].idx if sentence.end < len(doc) else len(text)
        if "\n" not in text[sentence.start_char:end_with_space]:
            units.append(doc[start:sentence.end])  # no line break: the sentence as it is
            continue
        for token in sentence:
            if "\n" in token.text or "\n" in token.whitespace_:
                end = token.i + (0 if "\n" in token.text else 1)
                if end > start:
                    units.append(doc[start:end])
                start = token.i + 1
        if start < sentence.end:
            units.append(doc[start:sentence.end])
    return [u for u in units if span_text(u).strip()]


def find_events(doc: Doc, *, timexes: list[Timex], published: str | None) -> list[Event]:
    """Events of one parsed document, one per (sentence, date), in text order."""
    events: list[Event] = []
    seen: set[tuple[int, str]] = set()
    text = doc_text(doc)  # Doc.text joins every token on each access: shared
    units = sentence_units(doc)
    starts = [u.start_char for u in units]
    dated_units = {id(u) for t in timexes if t.type == "DATE" and
                   (u := _unit_at(units, starts, t.start)) is not None}
    ranges = _range_ends(text, timexes)
    candidates: dict[int, list[tuple[int, Event]]] = {}  # sentence start -> (depth, event)
    for timex in sorted(timexes, key=lambda t: t.start):
        if (timex.start, timex.end) in ranges:
            continue  # "22 April - 15 May", "from March to June": a span's bounds, no event
        date = anchored_date(timex, published)
        sentence = _unit_at(units, starts, timex.start)
        if date is None or sentence is None or (sentence.start_char, date) in seen:
            continue
        if timex.type == "TIME" and id(sentence) in dated_units:
            continue  # "midday ... on July 9": the calendar date speaks, not the clock time
        if not _is_event_sentence(sentence, timex):
            continue
        depth = _clause_depth(sentence, timex, date)
        if depth is None:
            continue
        status = _status(sentence, timex, date, published)
        if status is None or not _speaks_for_itself(text, sentence, timex, status):
            continue
        seen.add((sentence.start_char, date))
        start, end = trimmed(text, sentence.start_char, sentence.end_char)
        event = Event(date=date, text=text[start:end], start=start, end=end, status=status)
        candidates.setdefault(sentence.start_char, []).append((depth, event))
    for found in candidates.values():
        events.extend(_governing_dates(found))
    events.sort(key=lambda e: e.start)
    return events


# Dependency labels of a clause inside another: a date there dates the inner clause, which is
# not what the sentence reports when its main clause has a date of its own.
INNER_CLAUSES = frozenset({"advcl", "ccomp", "pcomp", "csubj", "csubjpass", "parataxis"})
# A clause that describes a noun: with a year or month only ("claims first made in 2003", "the
# plant, which opened in 1998") background about the noun, never the sentence's event; with a
# day ("the commission, which meets on June 1", "the tariffs it imposed on April 22") an event
# of its own, one clause deeper than the sentence's main one.
NOUN_CLAUSES = frozenset({"relcl", "acl"})
DEICTIC = re.compile(r"^(?:to(?:day|night|morrow)|yesterday|this (?:morning|afternoon|evening))$",
                     re.IGNORECASE)


def _clause_depth(sentence: Span, timex: Timex, date: str) -> int | None:
    """How many clauses deep the date sits below the sentence's main clause (coordinated clauses
    count as main); None when it is no event date: inside a clause that describes a noun, or a
    bare year that only names a thing ("the 2016 election")."""
    tokens = _timex_tokens(sentence, timex)
    inside = {t.i for t in tokens}
    token = next((t for t in tokens if t.head.i not in inside), None)
    if token is None:
        return None
    depth = 0
    if len(date) == 4 and _governing(tokens)[1]:
        return None
    for _ in range(40):
        if token.dep_ in NOUN_CLAUSES and len(date) < len("YYYY-MM-DD"):
            return None
        if token.dep_ in INNER_CLAUSES or token.dep_ in NOUN_CLAUSES:
            depth += 1
        if token.head.i == token.i or token.head.i < sentence.start or token.head.i >= sentence.end:
            return depth
        token = token.head
    return depth


def _governing_dates(found: list[tuple[int, Event]]) -> list[Event]:
    """The events of one sentence that its main clause dates: those least deep; of dates one
    containing another ("in 2010" ... "on April 20"), only the finer."""
    least = min(depth for depth, _ in found)
    kept = [event for depth, event in found if depth == least]
    return [e for e in kept if not any(o is not e and len(o.date) > len(e.date)
                                       and o.date.startswith(e.date) for o in kept)]


def _speaks_for_itself(text: str, sentence: Span, timex: Timex, status: EventStatus) -> bool:
    """Not a date inside a direct quote that looks back ("'We signed it in 2015,' she said": the
    speaker's past, told later) or that counts from the day of speaking ("starts tomorrow", said
    on a day the document may not give), and not an interviewer's question line."""
    line_start = text.rfind("\n", 0, sentence.start_char) + 1
    line = text[line_start:sentence.end_char].lstrip()
    if re.match(vocab()["question_line"], line):
        return False
    if not _inside_quote(text[line_start:timex.start]):
        return True
    return status != "happened" and not DEICTIC.match(timex.text.strip())


def _inside_quote(before: str) -> bool:
    """Whether the end of ``before`` (a paragraph up to a date) is inside quotation marks."""
    curly = before.count("\u201c") - before.count("\u201d")
    if curly:
        return curly > 0
    return before.count('"') % 2 == 1


_RANGE_JOIN = re.compile(r"\s*(?:-|\u2013|\u2014|to|until|till|through|and)\s*", re.IGNORECASE)


def _range_ends(text: str, timexes: list[Timex]) -> set[tuple[int, int]]:
    """The (start, end) of dates that bound a span ("22 April - 15 May", "between May and June"),
    where two dates stand joined by a dash, "to", "until" or "through" ("and" after "between")."""
    dates = sorted((t for t in timexes if t.type in ("DATE", "TIME")), key=lambda t: t.start)
    found: set[tuple[int, int]] = set()
    for first, second in zip(dates, dates[1:]):
        join = text[first.end:second.start]
        if not _RANGE_JOIN.fullmatch(join):
            continue
        if join.strip().lower() == "and" and not text[max(0, first.start - 9):first.start].lower().rstrip().endswith("between"):
            continue  # "on May 2 and May 16": two events, not a span
        found.update({(first.start, first.end), (second.start, second.end)})
    return found


def anchored_date(timex: Timex, published: str | None) -> str | None:
    """The date a timex gives an event of a document published on ``published``: the timex's
    own date, a year-less month-day pulled near publication, and without a publication date only
    a date whose year the text states (or a year-less day, which never starts an entry)."""
    date = timex_date(timex)
    if date is None:
        return None
    if published is None:
        # Without a publication date only dates the text states with their year are trusted: a
        # relative expression ("Friday", "last year") has no anchor, whatever value it carries.
        return date if date.startswith("XXXX") or date[:4] in timex.text else None
    return nearest_year(date, timex.text, published)


def nearest_year(date: str, text: str, published: str) -> str:
    """A year-less month-day placed within half a year of publication.

    A writer leaves the year out only when it is obvious, i.e. the date is near the publication.
    A tense-based resolution can throw a reported announcement a year ahead ('Lavrov said "there
    will be a ceasefire on July 9"' in a July 10 article); this pulls such dates back.
    """
    if len(date) != 10 or date[:4] in text or not ISO_DATE.match(published[:10]):
        return date
    try:
        day = _date.fromisoformat(date)
        anchor = _date.fromisoformat(published[:10])
    except ValueError:
        return date
    candidates = []
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            candidates.append(day.replace(year=year))
        except ValueError:  # February 29
            continue
    if abs((day - anchor).days) <= HALF_YEAR_DAYS or not candidates:
        return date
    return min(candidates, key=lambda d: abs((d - anchor).days)).isoformat()


def _unit_at(units: list[Span], starts: list[int], char: int) -> Span | None:
    """The unit holding ``char`` (``starts``: the units' start offsets, in text order)."""
    index = bisect_right(starts, char) - 1
    if index >= 0 and char < units[index].end_char:
        return units[index]
    return None


def _timex_tokens(sentence: Span, timex: Timex) -> list[Token]:
    return [t for t in sentence if timex.start <= t.idx < timex.end]


def _is_event_sentence(sentence: Span, timex: Timex) -> bool:
    """Sentences with a predication, not publication lines, not generic or open-ended spans."""
    words = vocab()
    if not any(t.pos_ in ("VERB", "AUX") for t in sentence if not t.is_punct):
        return False  # a bare date line ("12.03.19") or a heading
    if span_text(sentence).rstrip().endswith("?"):
        return False  # a question asserts nothing about the date
    tokens = _timex_tokens(sentence, timex)
    if not tokens:
        return False
    doc = sentence.doc
    before = [t.lower_ for t in doc[max(sentence.start, tokens[0].i - 4):tokens[0].i]]
    lowered = {t.lower_ for t in sentence}
    if lowered & set(words["doubt_words"]):
        return False  # "is unlikely to reopen in May": not something the timeline can state
    if lowered & set(words["generic_words"]):
        return False  # "in an average May", "usually peaks in August": a norm, not an event
    if set(before) & set(words["publication_cues"]):
        return False  # "Published: 2017/7/10 18:53", "Updated on ..."
    if before and before[-1] in words["generic_cues"] + words["non_event_preps"]:
        return False  # "every July" recurs; "since 2010" / "until May" bound a span
    return True


def _governing(tokens: list[Token]) -> tuple[Token | None, bool]:
    """The verb governing the date, and whether the date belongs to a noun instead (a nominal
    event: "the July 16 summit", "the elections on November 6")."""
    root = next((t for t in tokens if t.head.i not in {x.i for x in tokens}), None)
    while root is not None and root.dep_ == "appos" and root.head.i != root.i:
        root = root.head  # "on Sunday (July 9)": the bracketed date leans on the first one
    if root is None or root.head.i == root.i:
        return None, False
    head = root.head
    if root.dep_ == "pobj":
        if head.head.pos_ in ("NOUN", "PROPN"):
            return None, True
        head = head.head
    elif head.pos_ in ("NOUN", "PROPN") and root.dep_ != "npadvmod":
        return None, True
    for _ in range(12):
        if head.pos_ in ("VERB", "AUX"):
            return head, False
        if head.head.i == head.i:
            return None, False
        head = head.head
    return None, False


def _lemmas_around(verb: Token) -> list[str]:
    """The verb and its auxiliaries / marker chain, lower-cased lemmas in order."""
    words = [c for c in verb.children if c.dep_ in ("aux", "auxpass", "neg")] + [verb]
    head = verb
    # "is expected to meet": the marker sits on the head of the xcomp.
    while head.dep_ == "xcomp" and head.head.i != head.i:
        head = head.head
        words += [c for c in head.children if c.dep_ in ("aux", "auxpass")] + [head]
    return [w.lemma_.lower() for w in sorted(words, key=lambda t: t.i)]


def _status(sentence: Span, timex: Timex, date: str,
            published: str | None) -> EventStatus | None:
    """The event's status, or None when the sentence cannot place it (a hedged past, a vague
    present)."""
    words = vocab()
    verb, nominal = _governing(_timex_tokens(sentence, timex))
    relative = compare_dates(date, published) if published else None
    if verb is None or nominal:
        return _status_by_date(relative, date, sentence)
    lemmas = _lemmas_around(verb)
    # Hedges anywhere in the sentence ("probably", "likely"), but not the month "May".
    lowered = {t.lower_ for t in sentence if t.pos_ != "PROPN" and t.tag_ != "NNP"}
    if set(lemmas) & set(words["expected_lemmas"]) or lowered & set(words["expected_words"]):
        # "could not recover last winter": a hedged past is no timeline fact.
        return None if relative is not None and relative < 0 else "expected"
    if set(lemmas) & set(words["scheduled_lemmas"]) or _be_to(verb):
        return "scheduled"
    if verb.tag_ in ("VBD", "VBN") or "have" in lemmas:
        return "happened"
    if verb.tag_ in ("VBZ", "VBP") and relative is not None:
        if relative == 0 and len(date) < 10:
            return None  # "needs to win this autumn": present tense inside the period
        return "scheduled" if relative > 0 else "happened"
    if verb.lemma_.lower() in words["scheduling_verbs"] and verb.tag_ in ("VBZ", "VBP"):
        return "scheduled"
    return _status_by_date(relative, date, sentence)


def _be_to(verb: Token) -> bool:
    """ "is to meet": a plan, which the infinitive marker alone ("to ease") is not."""
    has_to = any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)
    return has_to and verb.dep_ == "xcomp" and verb.head.lemma_.lower() == "be"


def _status_by_date(relative: int | None, date: str, sentence: Span) -> EventStatus | None:
    """Status of a nominal event ("the July 16 summit") from where its date lies."""
    if relative is not None and relative > 0:
        return "scheduled"
    if relative == 0 and len(date) < 10:
        return None  # "this autumn's marathon" in an autumn article: before or after?
    if relative is None and any(t.lower_ in ("will", "'ll", "shall") for t in sentence):
        return "scheduled"
    return "happened"


OPENING = "\"\u201c\u2018\u00ab'"
CLOSING = "\"\u201d\u2019\u00bb'"
SPACE = " \t\r\n\u00a0"


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip surrounding whitespace, and quote marks that the span leaves unbalanced."""
    while start < end and text[start] in SPACE:
        start += 1
    while end > start and text[end - 1] in SPACE:
        end -= 1
    if start < end and text[start] in OPENING and not any(
            c in CLOSING for c in text[start + 1:end] if c != "'"):
        start += 1
    if end > start and text[end - 1] in CLOSING and not any(
            c in OPENING for c in text[start:end - 1] if c != "'"):
        end -= 1
    while start < end and text[start] in SPACE:
        start += 1
    return start, end
