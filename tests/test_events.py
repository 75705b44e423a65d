"""storyline.annotate.events and storyline.story.timeline: invented sentences for every rule, then the seeds.

Every text below is ours; seed expectations are dates, source numbers and counts only.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from storyline.annotate.events import (compare_dates, find_events, nearest_year,
                                       sentence_units, timex_date)
from storyline.annotate.nlp import parse
from storyline.briefing import Citation, TimelineItem
from storyline.model import Annotations, Document, Event, Forecast, Timex
from storyline.story.timeline import build_timeline, compatible, content_words

PUBLISHED = "2030-03-04"


def timex(text: str, phrase: str, value: str, kind: str = "DATE", nth: int = 0) -> Timex:
    start = -1
    for _ in range(nth + 1):
        start = text.index(phrase, start + 1)
    return Timex(start, start + len(phrase), phrase, kind, value)  # type: ignore[arg-type]


def events(text: str, timexes: list[Timex], published: str | None = PUBLISHED) -> list[Event]:
    found = find_events(parse(text), timexes=timexes, published=published)
    for event in found:
        assert text[event.start:event.end] == event.text
    return found


def one(text: str, phrase: str, value: str, published: str | None = PUBLISHED,
        kind: str = "DATE") -> Event | None:
    found = events(text, [timex(text, phrase, value, kind)], published)
    assert len(found) <= 1
    return found[0] if found else None


# --- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase", "value", "status"),
    [
        ("The governor visited Brenton on February 12.", "February 12", "2030-02-12", "happened"),
        ("The ferries stopped on May 3, 2029.", "May 3, 2029", "2029-05-03", "happened"),
        ("The ferries had stopped on March 1, 2029.", "March 1, 2029", "2029-03-01", "happened"),
        ("The dam was opened on June 3, 2031 in a short ceremony.", "June 3, 2031",
         "2031-06-03", "happened"),
        ("The commission will meet on March 20.", "March 20", "2030-03-20", "scheduled"),
        ("The commission is to meet on March 20.", "March 20", "2030-03-20", "scheduled"),
        ("The vote is scheduled for March 20.", "March 20", "2030-03-20", "scheduled"),
        ("The new tariff takes effect on March 9.", "March 9", "2030-03-09", "scheduled"),
        ("The truce comes into effect on March 9.", "March 9", "2030-03-09", "scheduled"),
        ("The truce should come into effect on March 9.", "March 9", "2030-03-09", "scheduled"),
        ("The storm is expected to reach the coast on March 8.", "March 8", "2030-03-08",
         "expected"),
        ("The tunnel is likely to open in May.", "May", "2030-05", "expected"),
        # A date that modifies a noun: its position relative to publication decides.
        ("The March 20 referendum has divided the islands.", "March 20", "2030-03-20",
         "scheduled"),
        ("The February 12 visit has divided the islands.", "February 12", "2030-02-12",
         "happened"),
        ("After the election on April 2, the mayor will act.", "April 2", "2030-04-02",
         "scheduled"),
    ],
)
def test_status_from_tense_aspect_and_modality(text: str, phrase: str, value: str,
                                               status: str) -> None:
    event = one(text, phrase, value)
    assert event is not None
    assert event.status == status
    assert event.date == value
    assert event.text == text


def test_the_date_keeps_only_the_precision_the_text_gives() -> None:
    text = "The ferries stopped in March 2029. The port closed in 2027."
    found = events(text, [timex(text, "March 2029", "2029-03"), timex(text, "2027", "2027")])
    assert [(e.date, e.status) for e in found] == [("2029-03", "happened"), ("2027", "happened")]
    assert found[0].text == "The ferries stopped in March 2029."


def test_a_season_is_dated_to_its_year() -> None:
    # The contract has no season precision; the year is the finest date the value supports.
    event = one("The port grew in the spring.", "the spring", "2029-SP")
    assert event is not None and (event.date, event.status) == ("2029", "happened")


def test_time_values_give_their_calendar_date() -> None:
    text = "The storm hit the coast at noon on March 2."
    found = events(text, [timex(text, "noon", "2030-03-02T12:00", "TIME")])
    assert [e.date for e in found] == ["2030-03-02"]


def test_clock_time_yields_to_a_calendar_date_in_the_same_sentence() -> None:
    text = "The truce began at noon on March 2."
    found = events(text, [timex(text, "noon", "2030-03-04TMI", "TIME"),
                          timex(text, "March 2", "2030-03-02")])
    assert [e.date for e in found] == ["2030-03-02"]


def test_event_text_is_the_sentence_within_its_paragraph() -> None:
    text = "Ferry news\nThe ferries stopped on March 1, 2029.\nMore later."
    found = events(text, [timex(text, "March 1, 2029", "2029-03-01")])
    assert [e.text for e in found] == ["The ferries stopped on March 1, 2029."]


def test_one_event_per_sentence_and_date() -> None:
    text = "The council met on March 2 and again on March 2, and it voted on March 3."
    found = events(text, [timex(text, "March 2", "2030-03-02"),
                          timex(text, "March 2", "2030-03-02", nth=1),
                          timex(text, "March 3", "2030-03-03")])
    assert [e.date for e in found] == ["2030-03-02", "2030-03-03"]


# --- what is not an event ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase", "value", "kind"),
    [
        ("The strike lasted three weeks.", "three weeks", "P3W", "DURATION"),
        ("The market opens every Monday.", "every Monday", "XXXX-WXX-1", "SET"),
        ("The fair returns every year in May.", "May", "2030-05", "DATE"),
        ("He has worked at the port since 2010.", "2010", "2010", "DATE"),
        ("The road stays shut until April 30.", "April 30", "2030-04-30", "DATE"),
        ("Published: 2030/3/4 10:15", "2030/3/4", "2030-03-04", "DATE"),
        ("Posted on March 4, 2030 by the desk.", "March 4, 2030", "2030-03-04", "DATE"),
        ("04.03.30", "04.03.30", "2030-03-04", "DATE"),  # a bare date line
        ("Will the ferries run on March 9?", "March 9", "2030-03-09", "DATE"),
        ("The bridge is unlikely to reopen in May.", "May", "2030-05", "DATE"),
        ("Exports could not recover in January.", "January", "2030-01", "DATE"),
        ("The vote happened today.", "today", "PRESENT_REF", "DATE"),
    ],
)
def test_not_events(text: str, phrase: str, value: str, kind: str) -> None:
    assert one(text, phrase, value, kind=kind) is None


def test_a_present_tense_inside_the_period_is_too_vague() -> None:
    assert one("The council needs a win this year.", "this year", "2030") is None


def test_without_publication_date_only_absolute_dates_anchor() -> None:
    text = "The mayor resigned on Friday. The ferries stopped on March 1, 2029."
    # Whatever a relative expression was given, nothing anchors it without a publication date.
    found = events(text, [timex(text, "Friday", "2030-03-01"),
                          timex(text, "March 1, 2029", "2029-03-01")], published=None)
    assert [e.date for e in found] == ["2029-03-01"]
    text = "The mayor resigned on Friday."
    assert events(text, [timex(text, "Friday", "XXXX-WXX-5")], published=None) == []


def test_year_less_month_day_is_kept_for_the_timeline_to_place() -> None:
    text = "The truce takes effect on March 9."
    event = one(text, "March 9", "XXXX-03-09", published=None)
    assert event is not None and event.date == "XXXX-03-09"


def test_nearest_year_pulls_a_year_less_date_back_to_the_publication() -> None:
    # A year-less "March 1" in an article of March 4 cannot be eleven months ahead.
    assert nearest_year("2031-03-01", "March 1", "2030-03-04") == "2030-03-01"
    assert nearest_year("2030-03-01", "March 1", "2030-03-04") == "2030-03-01"
    assert nearest_year("2031-03-01", "March 1, 2031", "2030-03-04") == "2031-03-01"
    assert nearest_year("2031-01-05", "January 5", "2030-12-20") == "2031-01-05"
    text = "The minister said there will be a truce from March 1."
    event = one(text, "March 1", "2031-03-01")
    assert event is not None and event.date == "2030-03-01"


def test_helpers() -> None:
    assert timex_date(Timex(0, 4, "2030", "DATE", "2030")) == "2030"
    assert timex_date(Timex(0, 4, "x", "DURATION", "P2Y")) is None
    assert timex_date(Timex(0, 4, "x", "DATE", "PRESENT_REF")) is None
    assert timex_date(Timex(0, 4, "x", "DATE", "XXXX-07-09")) == "XXXX-07-09"
    assert compare_dates("2030", "2030-03-04") == 0
    assert compare_dates("2030-04", "2030-03-04") == 1
    assert compare_dates("XXXX-04-01", "2030-03-04") is None


# --- timeline ------------------------------------------------------------------------------------


def _doc(source: str, text: str, events_: list[tuple[str, str, str]]) -> Document:
    """A document with hand-made events: (date, sentence, status)."""
    found = []
    for date, sentence, status in events_:
        start = text.index(sentence)
        found.append(Event(date, sentence, start, start + len(sentence), status))  # type: ignore
    document = Document(origin=f"{source}.txt", text=text, id=source)
    document.annotations = Annotations(events=found)
    return document


TRUCE_A = "The truce in the valley took effect on March 9."
TRUCE_B = "A ceasefire began in the northern valley on 9 March, officials said."
TRUCE_C = "The cease-fire should start in the valley on Sunday (March 9)."
VOTE = "The islands voted on a new charter on March 9."
FLOOD = "Floods hit the valley in March."


def test_same_event_from_several_sources_is_one_entry_with_every_citation() -> None:
    docs = [
        _doc("S1", f"Intro. {TRUCE_A}", [("2030-03-09", TRUCE_A, "happened")]),
        _doc("S2", f"{TRUCE_B} More.", [("2030-03-09", TRUCE_B, "scheduled")]),
    ]
    timeline = build_timeline(docs)
    assert len(timeline) == 1
    entry = timeline[0]
    assert entry.date == "2030-03-09"
    assert entry.status == "happened"  # a report of it done outranks the announcement
    assert entry.citations == [Citation(source="S1", start=7, end=7 + len(TRUCE_A)),
                                Citation(source="S2", start=0, end=len(TRUCE_B))]
    assert entry.text == TRUCE_A  # the shorter self-contained sentence


def test_an_event_stated_as_a_forecast_is_expected() -> None:
    guess = "My guess is that the valley road will not reopen in 2031."
    document = _doc("S1", f"Intro. {guess}", [("2031", guess, "scheduled")])
    assert document.annotations is not None
    start = document.text.index(guess)
    document.annotations.forecasts = [
        Forecast("Ana Brell", guess, start, start + len(guess), None, "2031", "possible")]
    assert [entry.status for entry in build_timeline([document])] == ["expected"]


def test_different_events_on_one_day_stay_apart() -> None:
    docs = [_doc("S1", f"{TRUCE_A} {VOTE}", [("2030-03-09", TRUCE_A, "happened"),
                                               ("2030-03-09", VOTE, "happened")])]
    assert [e.text for e in build_timeline(docs)] == [TRUCE_A, VOTE]


def test_year_less_date_joins_the_dated_event_and_is_dropped_alone() -> None:
    docs = [
        _doc("S1", TRUCE_C, [("XXXX-03-09", TRUCE_C, "scheduled")]),
        _doc("S2", TRUCE_A, [("2030-03-09", TRUCE_A, "happened")]),
    ]
    timeline = build_timeline(docs)
    assert len(timeline) == 1
    assert timeline[0].date == "2030-03-09"
    assert [c.source for c in timeline[0].citations] == ["S1", "S2"]
    # Alone, a year-less date would need an invented year: no entry.
    assert build_timeline(docs[:1]) == []


def test_coarser_date_merges_into_the_precise_entry_when_content_agrees() -> None:
    month = "The valley truce took effect in March."
    docs = [
        _doc("S1", month, [("2030-03", month, "happened")]),
        _doc("S2", TRUCE_A, [("2030-03-09", TRUCE_A, "happened")]),
    ]
    timeline = build_timeline(docs)
    assert len(timeline) == 1
    assert timeline[0].date == "2030-03-09"  # the most precise date the sources give
    assert timeline[0].text == TRUCE_A
    # Unrelated content at month precision stays a separate month entry.
    docs.append(_doc("S3", FLOOD, [("2030-03", FLOOD, "happened")]))
    assert [e.date for e in build_timeline(docs)] == ["2030-03", "2030-03-09"]


def test_sorted_by_date_then_first_citation() -> None:
    early = "The mayor resigned on January 5."
    docs = [
        _doc("S2", VOTE, [("2030-03-09", VOTE, "happened")]),
        _doc("S10", early, [("2030-01-05", early, "happened")]),
        _doc("S1", TRUCE_A, [("2030-03-09", TRUCE_A, "happened")]),
        _doc("S3", FLOOD, [("2029", FLOOD, "happened")]),
    ]
    timeline = build_timeline(docs)
    assert [(e.date, e.citations[0].source) for e in timeline] == [
        ("2029", "S3"), ("2030-01-05", "S10"), ("2030-03-09", "S1"), ("2030-03-09", "S2")]


def test_duplicates_and_unannotated_documents_are_skipped() -> None:
    original = _doc("S1", TRUCE_A, [("2030-03-09", TRUCE_A, "happened")])
    copy = _doc("S2", TRUCE_A, [("2030-03-09", TRUCE_A, "happened")])
    copy.duplicate_of = "S1"
    bare = Document(origin="x", text=TRUCE_A, id="S3")
    timeline = build_timeline([original, copy, bare])
    assert [c.source for c in timeline[0].citations] == ["S1"]


def test_entry_text_prefers_a_self_contained_sentence() -> None:
    leaning = "It took effect in the valley on March 9."
    docs = [
        _doc("S1", leaning, [("2030-03-09", leaning, "happened")]),
        _doc("S2", TRUCE_B, [("2030-03-09", TRUCE_B, "happened")]),
    ]
    # "It ..." is shorter but leans on its context; the merge still happens through "valley".
    timeline = build_timeline(docs)
    assert len(timeline) == 1 and timeline[0].text == TRUCE_B


def test_to_dict_matches_the_contract() -> None:
    entry = TimelineItem(date="2030-03-09", text=TRUCE_A, status="happened",
                         citations=[Citation(source="S1", start=0, end=5)])
    assert entry.to_dict() == {"date": "2030-03-09", "text": TRUCE_A, "status": "happened",
                               "citations": [{"source": "S1", "start": 0, "end": 5}]}


def test_merge_helpers() -> None:
    assert compatible("2030-03-09", "2030-03") and compatible("2030", "2030-03-09")
    assert not compatible("2030-03-09", "2030-03-10")
    assert compatible("2030-03-09", "XXXX-03-09") and not compatible("2030-03", "XXXX-03-09")
    # Hyphens, plurals and synonyms fold together; dates and stopwords do not count.
    words = content_words("The cease-fire strikes on March 9")
    assert words == frozenset({"ceasefire", "attack"})
    assert "ceasefire" in content_words("the truce")


# --- seeds ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_documents(seeds_dir: Path) -> list[Document]:
    import storyline
    from storyline.annotate.timex import find_timexes

    paths = sorted(str(p) for p in seeds_dir.glob("00[0-4]_*.txt"))
    documents = []
    for document in storyline.extract(paths):
        assert isinstance(document, Document)
        doc = parse(document.text)
        timexes = find_timexes(document.text, document.published, doc=doc)
        document.annotations = Annotations(
            timexes=timexes, events=find_events(doc, timexes=timexes, published=document.published))
        documents.append(document)
    return documents


def _source_of(documents: list[Document], number: int) -> str:
    document = next(d for d in documents if Path(d.origin).name.startswith(f"{number:03d}_"))
    assert document.id is not None
    return document.id


def _entry(timeline: list[TimelineItem], date: str) -> TimelineItem:
    matches = [e for e in timeline if e.date == date]
    assert len(matches) == 1, [e.date for e in timeline]
    return matches[0]


def test_seed_timeline(seed_documents: list[Document]) -> None:
    timeline = build_timeline(seed_documents)
    texts = {d.id: d.text for d in seed_documents}
    for entry in timeline:
        for citation in entry.citations:
            assert texts[citation.source][citation.start:citation.end]
    source = {n: _source_of(seed_documents, n) for n in range(5)}
    # The first meeting in Hamburg, dated by 004 ("On July 7"); 002 says only "Friday" and has
    # no publication date, so it dates nothing.
    hamburg = _entry(timeline, "2017-07-07")
    assert hamburg.status == "happened"
    assert {c.source for c in hamburg.citations} == {source[4]}
    # The Syrian ceasefire: 004 dates it fully, 003's year-less "July 9" joins it.
    truce = _entry(timeline, "2017-07-09")
    assert {c.source for c in truce.citations} == {source[3], source[4]}
    assert truce.status == "scheduled"
    # The Russian strikes two days before the summit (004).
    strikes = _entry(timeline, "2017-07-05")
    assert strikes.status == "happened" and strikes.citations[0].source == source[4]
    # The Helsinki summit, one week before 000 was published; the midterms after it.
    helsinki = _entry(timeline, "2018-07-16")
    assert helsinki.status == "happened" and helsinki.citations[0].source == source[0]
    midterms = _entry(timeline, "2018-11-06")
    assert midterms.status == "scheduled" and midterms.citations[0].source == source[0]
    # Nothing from 002 carries a day: its weekdays have no anchor.
    assert not any(c.source == source[2] and len(e.date) == 10
                   for e in timeline for c in e.citations)
    assert [e.date for e in timeline] == sorted(e.date for e in timeline)


def test_sentence_units_end_at_line_breaks_and_are_cut_once() -> None:
    doc = parse("Storm Update\nThe ferry sailed at noon. It came back\non Monday.\n\nRain fell.")
    units = sentence_units(doc)
    assert [u.text for u in units] == ["Storm Update", "The ferry sailed at noon.",
                                       "It came back", "on Monday.", "Rain fell."]
    again = sentence_units(doc)  # events and forecasts read the same cut
    assert [(u.start, u.end) for u in again] == [(u.start, u.end) for u in units]


def test_a_parse_is_let_go_once_its_units_were_cut() -> None:
    # A worker annotates documents without end: the units cut for events and forecasts must
    # not keep each document's parse alive (they did, as spans in a weakly keyed table).
    doc = parse("The council met on Monday.\nIt will vote again in June, the mayor said.")
    units = sentence_units(doc)
    assert [u.text for u in sentence_units(doc)] == [u.text for u in units] and len(units) == 2
    held = weakref.ref(doc)
    del doc, units
    gc.collect()
    assert held() is None
