"""What is new since a cut (storyline.story.novelty) on invented coverage of a crane accident.

The earlier sources report the collapse; the later ones repeat it and add the cause, the quay's
reopening (which an earlier forecast expected), a union leader's words and a strike threat.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from storyline.annotate.annotator import annotate
from storyline.annotate.embeddings import SentenceVectors
from storyline.briefing import Briefing, Citation, CitedText, NewSince
from storyline.errors import UsageError
from storyline.model import Document
from storyline.story.brief import brief_documents
from storyline.story.novelty import Cut, is_later, new_since, parse_cut, split_at

EARLY_REPORT = (
    "A crane collapsed at the port of Velmar on Tuesday, injuring five dock workers. "
    "The port authority closed the eastern quay while inspectors examined the wreckage. "
    "\"We are shocked, and we will find out what went wrong,\" said harbour master Ilse Varga. "
    "The port authority is expected to reopen the eastern quay next week."
)
EARLY_WIRE = (
    "Five dock workers were hurt on Tuesday when a crane fell at Velmar port. "
    "Inspectors reached the eastern quay within hours of the accident. "
    "Ships bound for the quay were sent to the western berths instead."
)
LATER_REPORT = (
    "A crane collapsed at Velmar port last week, injuring five dock workers. "
    "Investigators found that a snapped steel cable caused the crane to fall. "
    "The eastern quay reopened to ships on Monday after a week of repairs. "
    "\"That cable had not been checked for two years,\" said union leader Tomas Berg. "
    "The union will probably call a strike if the port does not replace its oldest cranes."
)
LATER_NOTE = (
    "Investigators said a broken steel cable brought down the crane at Velmar. "
    "The port has ordered checks of every crane on its quays before the end of the month."
)
CUT = "2024-03-10"


def _story() -> list[Document]:
    return [
        Document(origin="early-report", id="S1", title="Crane collapses at Velmar port",
                 text=EARLY_REPORT, published="2024-03-05"),
        Document(origin="early-wire", id="S2", title="Velmar dock accident", text=EARLY_WIRE,
                 published="2024-03-05T18:20:00+01:00"),
        Document(origin="later-report", id="S3", title="Snapped cable blamed for crane fall",
                 text=LATER_REPORT, published="2024-03-12"),
        Document(origin="later-note", id="S4", title="Velmar orders crane checks",
                 text=LATER_NOTE, published="2024-03-13"),
    ]


@pytest.fixture(scope="module")
def story() -> tuple[list[Document], Briefing, SentenceVectors]:
    documents = _story()
    annotate(documents)
    vectors = SentenceVectors()
    return documents, brief_documents(documents, vectors=vectors), vectors


@pytest.fixture(scope="module")
def section(story: tuple[list[Document], Briefing, SentenceVectors]) -> NewSince:
    documents, briefing, vectors = story
    cut = parse_cut(CUT)
    earlier, later = split_at(documents, cut, {})
    return new_since(earlier, later, cut, quotes=briefing.quotes, forecasts=briefing.forecasts,
                     vectors=vectors)


def _texts(items: list[CitedText]) -> list[str]:
    return [item.text for item in items]


def test_the_cut_splits_by_publication_date(story: tuple[list[Document], Briefing, SentenceVectors]
                                            ) -> None:
    earlier, later = split_at(story[0], parse_cut(CUT), {})
    assert [d.id for d in earlier] == ["S1", "S2"] and [d.id for d in later] == ["S3", "S4"]


def test_a_repeated_fact_is_not_new_and_a_new_one_is(section: NewSince) -> None:
    facts = _texts(section.summary)
    assert not any("collapsed at Velmar port last week" in text for text in facts)
    # The cause, told by both later sources in their own words: one fact citing both.
    [cause] = [item for item in section.summary if "steel cable" in item.text]
    assert sorted(c.source for c in cause.citations) == ["S3", "S4"]
    assert "The eastern quay reopened to ships on Monday after a week of repairs." in facts
    assert section.since == CUT and section.basis == "date" and section.sources == ["S3", "S4"]
    assert section.note is None


def test_every_item_cites_a_later_source_at_its_own_words(
        story: tuple[list[Document], Briefing, SentenceVectors], section: NewSince) -> None:
    texts = {d.id: d.text for d in story[0]}
    for item in [*section.summary, *section.quotes, *section.forecasts]:
        first = item.citations[0]
        assert first.source in {"S3", "S4"}
        assert texts[first.source][first.start:first.end] == item.text


def test_quotes_and_forecasts_after_the_cut_are_new_those_before_are_not(section: NewSince) -> None:
    speakers = [quote.speaker for quote in section.quotes]
    assert "Tomas Berg" in speakers and "Ilse Varga" not in speakers
    assert [f.text for f in section.forecasts] == [
        "The union will probably call a strike if the port does not replace its oldest cranes."]
    # Shown as a forecast, not a second time as a fact.
    assert not any("strike" in text for text in _texts(section.summary))


def test_an_earlier_forecast_is_paired_with_what_came_after(section: NewSince) -> None:
    [bearing] = section.bearing
    assert bearing.forecast.text == "The port authority is expected to reopen the eastern quay next week."
    assert [c.source for c in bearing.forecast.citations] == ["S1"]
    assert bearing.later.text == "The eastern quay reopened to ships on Monday after a week of repairs."
    assert [c.source for c in bearing.later.citations] == ["S3"]


def test_the_section_is_the_same_whatever_the_input_order(
        story: tuple[list[Document], Briefing, SentenceVectors], section: NewSince) -> None:
    documents, briefing, vectors = story
    cut = parse_cut(CUT)
    earlier, later = split_at(list(reversed(documents)), cut, {})
    again = new_since(earlier, later, cut, quotes=briefing.quotes, forecasts=briefing.forecasts,
                      vectors=vectors)
    assert again == section


def test_the_briefing_validates_the_sections_citations(
        story: tuple[list[Document], Briefing, SentenceVectors], section: NewSince) -> None:
    briefing = story[1].with_new_since(section)
    assert briefing.new_since == section
    assert len(briefing._all_citations()) == len(story[1]._all_citations()) + sum(
        len(item.citations) for item in section.cited())
    broken = section.model_copy(update={"summary": [CitedText(
        text="made up", citations=[Citation(source="S3", start=0, end=len(LATER_REPORT) + 5)])]})
    with pytest.raises(ValueError, match="runs past the end"):
        story[1].with_new_since(broken)


def test_a_changed_number_is_news() -> None:
    earlier = Document(origin="a", id="S1", published="2024-05-01",
                       text="The hill fire destroyed 12 homes in the Arlen valley on Friday.")
    later = Document(origin="b", id="S2", published="2024-05-03",
                     text="The hill fire destroyed 19 homes in the Arlen valley by Sunday.")
    repeat = Document(origin="c", id="S3", published="2024-05-03",
                      text="In the Arlen valley the hill fire destroyed 12 homes on Friday.")
    annotate([earlier, later, repeat])
    cut = parse_cut("2024-05-02")
    section = new_since([earlier], [later, repeat], cut)
    assert _texts(section.summary) == [later.text]


def test_nothing_after_the_cut_gives_an_empty_section_that_says_so(
        story: tuple[list[Document], Briefing, SentenceVectors]) -> None:
    documents, briefing, _ = story
    cut = parse_cut("2031-01-01")
    earlier, later = split_at(documents, cut, {})
    section = new_since(earlier, later, cut, quotes=briefing.quotes, forecasts=briefing.forecasts)
    assert section.empty and section.sources == []
    assert section.note == "No source was published or stored after 2031-01-01."


def test_undated_and_coarse_dates_fall_back_to_when_a_document_arrived() -> None:
    cut = parse_cut("2024-03-10T12:00:00")
    undated = Document(origin="u", id="S1", text="x")
    same_day = Document(origin="d", id="S2", text="x", published="2024-03-10")
    month = Document(origin="m", id="S3", text="x", published="2024-02")
    year = Document(origin="y", id="S4", text="x", published="2025")
    assert is_later(undated, cut, "2024-03-11T08:00:00+00:00")
    assert not is_later(undated, cut, "2024-03-09T08:00:00+00:00")
    assert is_later(undated, cut, None)  # unknown: shown rather than missed
    # The cut falls inside the day: when it was stored decides.
    assert not is_later(same_day, cut, "2024-03-10T09:00:00+00:00")
    assert is_later(same_day, cut, "2024-03-10T13:00:00+00:00")
    assert not is_later(month, cut, "2024-04-01T00:00:00+00:00")
    assert is_later(year, cut, "2020-01-01T00:00:00+00:00")
    # A day cut counts the day itself as new.
    assert is_later(same_day, parse_cut("2024-03-10"), None)


def test_filing_cuts_ignore_the_publication_date() -> None:
    cut = Cut(datetime(2024, 3, 10, tzinfo=timezone.utc), "2024-03-10T00:00:00+00:00", "last briefing")
    old_article = Document(origin="o", id="S1", text="x", published="2019-01-01")
    assert is_later(old_article, cut, "2024-03-11T00:00:00.5+00:00")
    assert not is_later(old_article, cut, "2024-03-09T23:59:59+00:00")


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "", "10/03/2024"])
def test_a_bad_cut_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        parse_cut(value)


def test_times_name_their_zone_or_are_utc() -> None:
    assert parse_cut("2024-03-10T09:30").at == datetime(2024, 3, 10, 9, 30, tzinfo=timezone.utc)
    assert parse_cut("2024-03-10T09:30+02:00").at == datetime(2024, 3, 10, 7, 30, tzinfo=timezone.utc)
    assert parse_cut("2024-03-10T09:30Z").since == "2024-03-10T09:30Z"
