"""Perspectives: the issue x source matrix, agreement, conflicts, countries and blindspots."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyline.annotate.annotator import annotate
from storyline.briefing import Briefing, CitedText
from storyline.model import Document
from storyline.outlets import Registry, packaged_outlets, read_outlets_file
from storyline.pipeline.stories import _documents, brief
from storyline.story.agenda import Issue, passages_of
from storyline.story.counts import counts, day_dates, differing, measures
from storyline.story.perspectives import _clash, _compatible, blindspots
from storyline.story.source_times import SourceTime, source_time
from tests.conftest import EXAMPLES, REPO, seed_path

OUTLETS_FILE = REPO / "examples" / "outlets.json"


def example_registry() -> Registry:
    """The packaged registry plus the example corpus's outlets, as `make run` imports them."""
    outlets, problems = read_outlets_file(OUTLETS_FILE)
    assert not problems, problems
    return Registry(packaged_outlets(), outlets)


@pytest.fixture(scope="module")
def seeds_briefing(seeds_dir: Path) -> Briefing:
    return brief([str(seeds_dir)])


@pytest.fixture(scope="module")
def example_briefing() -> Briefing:
    return brief([str(EXAMPLES)], registry=example_registry())


def _source(briefing: Briefing, origin_end: str) -> str:
    return next(s.id for s in briefing.sources if s.origin.endswith(origin_end))


def _cited_sources(item: CitedText) -> set[str]:
    return {c.source for c in item.citations}


def _countries(briefing: Briefing) -> dict[str, str | None]:
    return {s.id: s.country for s in briefing.sources}


# --- the matrix ----------------------------------------------------------------------------------

def test_matrix_lists_every_original_source_and_no_duplicate(example_briefing: Briefing) -> None:
    originals = [s.id for s in example_briefing.sources if not s.duplicate_of]
    duplicates = {s.id for s in example_briefing.sources if s.duplicate_of}
    assert duplicates  # the syndicated copy of the Courier
    for issue in example_briefing.issues:
        assert list(issue.by_source) == originals
        for view in issue.by_source.values():
            assert (view.sentences == 0) == (view.position == [])
            assert len(view.position) <= 2


def test_positions_and_summaries_cite_their_own_words(seeds_briefing: Briefing) -> None:
    for issue in seeds_briefing.issues:
        assert 1 <= len(issue.summary) <= 3
        cited = [*issue.summary, *issue.agreed, *(p for v in issue.by_source.values() for p in v.position)]
        for item in cited:
            first = item.citations[0]
            assert seeds_briefing.cited_text(first) == item.text
        for source, view in issue.by_source.items():
            assert all(_cited_sources(p) == {source} for p in view.position)


# --- agreement -----------------------------------------------------------------------------------

def test_hamburg_meeting_is_agreed_across_us_russian_and_chinese_sources(seeds_briefing: Briefing,
                                                                         seeds_dir: Path) -> None:
    valdai = _source(seeds_briefing, seed_path(seeds_dir, 3).name)
    washington_post = _source(seeds_briefing, seed_path(seeds_dir, 2).name)
    global_times = _source(seeds_briefing, seed_path(seeds_dir, 4).name)
    countries = _countries(seeds_briefing)
    hamburg = [a for i in seeds_briefing.issues for a in i.agreed
               if "G20" in a.text and {valdai, global_times} <= _cited_sources(a)]
    assert hamburg, [a.text for i in seeds_briefing.issues for a in i.agreed]
    # The Post says it in other words (Hamburg, "the Group of 20", on the sidelines).
    assert washington_post in _cited_sources(hamburg[0])
    assert {countries[s] for s in _cited_sources(hamburg[0])} >= {"US", "RU", "CN"}
    for citation in hamburg[0].citations:
        assert seeds_briefing.cited_text(citation)  # each side's own words, inside its text


def test_agreed_entries_cite_independent_sources(example_briefing: Briefing) -> None:
    duplicates = {s.id for s in example_briefing.sources if s.duplicate_of}
    agreed = [a for i in example_briefing.issues for a in i.agreed]
    assert agreed
    for item in agreed:
        sources = [c.source for c in item.citations]
        assert len(set(sources)) == len(sources) >= 2
        assert not set(sources) & duplicates


# --- conflicts -----------------------------------------------------------------------------------

def test_planted_date_conflict_sets_the_ledger_against_the_others(example_briefing: Briefing) -> None:
    ledger = _source(example_briefing, "corvenia-ledger.txt")
    assert len(example_briefing.conflicts) == 1  # the corpus plants exactly one
    conflict = example_briefing.conflicts[0]
    assert conflict.kind == "date" and "commission" in conflict.topic.lower()
    sides = {frozenset(_cited_sources(side)): side for side in conflict.sides}
    assert len(sides) == 2
    ledger_side = next(side for cited, side in sides.items() if ledger in cited)
    other_side = next(side for cited, side in sides.items() if ledger not in cited)
    assert _cited_sources(ledger_side) == {ledger} and "June 15" in ledger_side.text
    assert len(_cited_sources(other_side)) >= 2 and "June 1" in other_side.text
    for side in conflict.sides:
        for citation in side.citations:
            assert "commission" in example_briefing.cited_text(citation).lower()
    disputed = [i for i in example_briefing.issues if i.disputed]
    assert disputed and all("commission" in i.label.lower() for i in disputed)


def test_seed_story_has_no_false_conflicts(seeds_briefing: Briefing) -> None:
    assert seeds_briefing.conflicts == []
    assert all(i.disputed == [] for i in seeds_briefing.issues)


def test_different_numbers_for_the_same_thing_conflict(tmp_path: Path) -> None:
    texts = {
        "S1": "The warehouse fire in Dunmore killed 12 people on Monday, the fire service said.",
        "S2": "The warehouse fire in Dunmore killed 15 people on Monday, the fire service said.",
        "S3": "The warehouse fire in Dunmore killed about 14 people on Monday, officials said.",
    }
    documents = [Document(origin=f"{i}.txt", text=t, id=i, country=c)
                 for (i, t), c in zip(texts.items(), ["Aland", "Borvia", "Aland"])]
    annotate(documents)
    briefing = brief(documents, issues=["Warehouse fire: fire, Dunmore"])
    numbers = [c for c in briefing.conflicts if c.kind == "number"]
    assert len(numbers) == 1  # 12 against 15; "about 14" is an estimate, not a contradiction
    assert {s for side in numbers[0].sides for s in _cited_sources(side)} == {"S1", "S2"}


def test_dates_clash_only_at_the_same_precision() -> None:
    assert _clash("2025-06-01", "2025-06-15")
    assert not _clash("2025-06", "2025-06-15") and _compatible("2025-06", "2025-06-15")
    assert not _clash("XXXX-07-09", "2017-07-09")
    assert _clash("2017", "2018")


def test_hedged_numbers_are_left_out() -> None:
    found = measures("It lasted 3 hours and cost 40 per cent more.")
    assert {k: [m.written for m in v] for k, v in found.items()} == {"duration": ["3 hours"], "percent": ["40 per cent"]}
    assert measures("It lasted about 3 hours, more than 2 days.") == {}


def test_units_are_converted_and_durations_added_up() -> None:
    [seven] = measures("He will serve 7 years, 1 month in prison.")["duration"]
    [months] = measures("He got an 85-month prison term.")["duration"]
    assert abs(seven.value - months.value) < 1 and seven.written == "7 years, 1 month"
    [miles] = measures("It came within 3 million miles of the sun.")["distance"]
    [kilometres] = measures("It came within 4.83 million kilometres of the sun.")["distance"]
    assert abs(miles.value - kilometres.value) / kilometres.value < 0.01


# --- countries and blindspots --------------------------------------------------------------------

def test_seed_sources_are_grouped_by_country(seeds_briefing: Briefing, seeds_dir: Path) -> None:
    groups = {g.country: g for g in seeds_briefing.countries}
    think_tanks = {_source(seeds_briefing, seed_path(seeds_dir, n).name) for n in (0, 1, 3)}
    chinese = _source(seeds_briefing, seed_path(seeds_dir, 4).name)
    american = _source(seeds_briefing, seed_path(seeds_dir, 2).name)
    assert think_tanks <= set(groups["RU"].sources)
    assert groups["CN"].sources == [chinese] and groups["US"].sources == [american]
    syria = next(i for i in seeds_briefing.issues if i.label == "Syria")
    for group in seeds_briefing.countries:
        assert group.issues["Syria"] == sum(syria.by_source[s].sentences for s in group.sources)


def test_planted_blindspot_is_the_detained_journalist(example_briefing: Briefing) -> None:
    courier = _source(example_briefing, "aldmark-courier.html")
    institute = _source(example_briefing, "riverine-institute-interview.txt")
    hollen = [b for b in example_briefing.blindspots if "Hollen" in b.issue]
    assert len(hollen) == 1
    assert hollen[0].country == "Aldmark"
    assert set(hollen[0].sources) == {courier, institute}
    assert "Aldmark" in hollen[0].note and "Hollen" in hollen[0].note
    assert all(b.country == "Aldmark" for b in example_briefing.blindspots), example_briefing.blindspots


def test_no_blindspots_when_all_sources_share_a_country(tmp_path: Path) -> None:
    documents = _documents([str(EXAMPLES)], None)
    for document in documents:
        document.country = "Aldmark"
    briefing = brief(documents)
    assert briefing.blindspots == []
    assert [g.country for g in briefing.countries] == ["Aldmark"]


# --- blindspots respect time (invented text) ------------------------------------------------------

SUMMIT = ("The leaders of Aldmark and Estmark met at the Varnholm summit on 10 June 2024.\n\n"
          "At the Varnholm summit the two leaders signed a fisheries accord for the northern waters.\n\n"
          "Crews in the harbour towns said the Varnholm summit had finally settled the quota quarrel.")
SUMMIT_AGAIN = ("Delegations arrived at the Varnholm summit after a week of talks by the two fisheries ministers.\n\n"
                "Observers said the Varnholm summit on 10 June 2024 ended with a signed fisheries accord.\n\n"
                "Opposition deputies called the Varnholm summit a hurried affair with little scrutiny.")
FERRIES = ("Ferry operators in Estmark raised their winter fares on 28 April 2023.\n\n"
           "Commuters on the island routes said the higher fares would push them onto the bridge.\n\n"
           "The transport board promised a review of the ferry fares before the autumn.")
HARBOUR = ("The harbour of Lune reopened to cargo ships on 3 March 2023 after two years of dredging.\n\n"
           "Dock workers said the deeper channel had brought back the larger grain carriers.\n\n"
           "The port authority counted the first ships from the southern routes in January 2023.")
LATE = ("Estmark's fishing fleet returned to port early this season because of the autumn storms.\n\n"
        "Skippers said the storms had cost them the last weeks of the herring season.\n\n"
        "The coast guard rescued the crew of a trawler that lost its engine off the northern cape.")


def _time_story(*specs: tuple[str, str, str | None]) -> tuple[list[Document], list[Issue]]:
    """Annotated documents (text, country, published) and the one issue: the Varnholm summit."""
    documents = [Document(origin=f"s{n}.txt", text=text, id=f"S{n}", country=country, published=published)
                 for n, (text, country, published) in enumerate(specs, start=1)]
    annotate(documents)
    passages = [p for p in passages_of(documents) if "Varnholm" in p.text]
    return documents, [Issue(label="Varnholm summit", keywords=["Varnholm", "summit"], passages=passages)]


def test_a_source_written_before_the_event_is_not_blamed_for_missing_it() -> None:
    documents, issues = _time_story((SUMMIT, "Aldmark", "2024-06-12"), (SUMMIT_AGAIN, "Aldmark", "2024-06-13"),
                                    (FERRIES, "Estmark", "2023-05-02"))
    assert blindspots(documents, issues) == []


def test_an_undated_source_is_bounded_by_the_latest_event_it_reports() -> None:
    documents, issues = _time_story((SUMMIT, "Aldmark", "2024-06-12"), (SUMMIT_AGAIN, "Aldmark", "2024-06-13"),
                                    (HARBOUR, "Estmark", None))
    assert source_time(documents[2]) == SourceTime("2023-03-03", inferred=True)
    assert source_time(documents[0]) == SourceTime("2024-06-12", inferred=False)
    assert blindspots(documents, issues) == []


def test_an_event_the_silent_source_could_have_covered_is_still_a_blindspot() -> None:
    documents, issues = _time_story((SUMMIT, "Aldmark", "2024-06-12"), (SUMMIT_AGAIN, "Aldmark", "2024-06-13"),
                                    (FERRIES, "Estmark", "2023-05-02"), (LATE, "Estmark", "2024-10-20"))
    [found] = blindspots(documents, issues)
    assert found.country == "Aldmark" and found.sources == ["S1", "S2"]
    assert "(S4) does not mention it" in found.note
    assert "Not counted: S3, which was written before it happened." in found.note


def test_without_dated_news_the_covering_sources_date_places_it() -> None:
    # No date in the summit passages: the news came at most 30 days before the first report.
    undated_news = SUMMIT.replace(" on 10 June 2024", "")
    other = SUMMIT_AGAIN.replace(" on 10 June 2024", "")
    for silent_on, blamed in (("2024-05-20", True), ("2024-04-01", False)):
        documents, issues = _time_story((undated_news, "Aldmark", "2024-06-12"), (other, "Aldmark", "2024-06-13"),
                                        (LATE, "Estmark", silent_on))
        assert bool(blindspots(documents, issues)) is blamed, silent_on


def test_the_briefing_marks_an_inferred_time(tmp_path: Path) -> None:
    documents = [Document(origin="harbour.txt", text=HARBOUR, id="S1"),
                 Document(origin="ferries.txt", text=FERRIES, id="S2", published="2023-05-02")]
    briefing = brief(documents)
    times = {s.id: (s.effective_date, s.effective_date_inferred) for s in briefing.sources}
    assert times == {"S1": ("2023-03-03", True), "S2": ("2023-05-02", False)}


def test_an_undated_preview_does_not_move_the_news_earlier() -> None:
    # The preview covers the summit before it happens; its inferred date (a lower bound from
    # the March 2023 meeting it reports) says nothing about when the summit took place.
    preview = ("The fisheries ministers met in Lune on 3 March 2023 to draft the quota plan.\n\n"
               "The Varnholm summit will decide whether the quota plan becomes a binding accord.\n\n"
               "Diplomats expect the Varnholm summit to be short and to end with a signing.")
    documents, issues = _time_story((SUMMIT, "Aldmark", "2024-06-12"), (preview, "Aldmark", None),
                                    (FERRIES, "Estmark", "2023-05-02"))
    assert source_time(documents[1]) == SourceTime("2023-03-03", inferred=True)
    assert blindspots(documents, issues) == []


# --- counts in words or digits, day dates, and the agreed/disputed invariant ----------------------

def _story(texts: dict[str, str], issue: str) -> Briefing:
    documents = [Document(origin=f"{i}.txt", text=t, id=i, country=c)
                 for (i, t), c in zip(texts.items(), ["Aland", "Borvia", "Aland", "Borvia"])]
    annotate(documents)
    return brief(documents, issues=[issue])


def _all_cited(briefing: Briefing, kind: str) -> set[str]:
    return {s for c in briefing.conflicts if c.kind == kind for side in c.sides for s in _cited_sources(side)}


def test_counts_are_read_in_words_and_digits() -> None:
    assert counts("Pirates in two boats raided the Veldhaven harbour.")["boat"] == {"2"}
    assert counts("Pirates in 3 boats raided the Veldhaven harbour.")["boat"] == {"3"}
    assert counts("The rebels hold a third of the country.")["country"] == {"0.33"}
    assert counts("They hold the entire northern half of the country.")["country"] == {"0.50"}
    crossing = counts("Two dozen tanks and 1,200 lorries crossed.")
    assert crossing["tank"] == {"24"} and crossing["lorry"] == {"1200"}
    assert counts("The 12th summit of the G20 opened.") == {}  # ordinals and names are no counts
    # An estimate is a range, a part of a whole a lower bound, the day of a date no count.
    assert counts("About 14 boats and one of the ferries left on March 21.") == {
        "boat": {"10.50-17.50"}, "ferry": {">=1"}}
    assert not differing(counts("three boats sank"), counts("3 boats sank"))
    assert differing(day_dates("the coup on March 21"), day_dates("the coup on 22 March")) == ["march"]


def _raid(first: str, second: str) -> Briefing:
    """Two reports of one pirate raid that differ only in how they count the boats."""
    report = "Pirates in {} boats raided the fishing harbour of Veldhaven on Tuesday night, the coastguard said."
    return _story({"S1": report.format(first), "S2": report.format(second)},
                  "Veldhaven raid: pirates, Veldhaven, harbour")


def test_a_count_in_words_against_digits_conflicts_and_is_not_agreed() -> None:
    briefing = _raid("two", "3")
    assert _all_cited(briefing, "number") == {"S1", "S2"}
    assert all(not item.agreed for item in briefing.issues)


def test_the_same_count_written_differently_is_no_conflict() -> None:
    briefing = _raid("three", "3")
    assert briefing.conflicts == []


def test_different_days_of_the_same_event_conflict() -> None:
    briefing = _story({
        "S1": "Army officers led by Colonel Ilse Varga seized the presidential palace in Osterdal on March 21 in a coup.",
        "S2": "Army officers led by Colonel Ilse Varga seized the presidential palace in Osterdal on March 22 in a coup.",
    }, "Osterdal coup: coup, Osterdal, Varga")
    assert _all_cited(briefing, "date") == {"S1", "S2"}
    assert all(not item.agreed for item in briefing.issues)


def test_a_contradicted_claim_is_never_agreed_and_no_sentence_is_both() -> None:
    briefing = _story({
        "S1": "Rebel militias now control a third of the country, the Osterdal defence ministry said on Friday.",
        "S2": "Rebel militias now control a third of the country, the Osterdal defence ministry said on Friday.",
        "S3": "Rebel militias now control the entire northern half of the country, the Osterdal defence ministry said.",
    }, "Osterdal rebels: rebel, militias, Osterdal")
    assert {c.kind for c in briefing.conflicts} == {"number"}
    for item in briefing.issues:
        disputed = {(c.source, c.start) for side in item.disputed for c in side.citations}
        for entry in item.agreed:
            assert not {(c.source, c.start) for c in entry.citations} & disputed
            assert not _cited_sources(entry) & _all_cited(briefing, "number")
