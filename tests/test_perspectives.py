"""Perspectives: the issue x source matrix, agreement, conflicts, countries and blindspots."""

from __future__ import annotations

from pathlib import Path

import pytest

from storyline.annotate.annotator import annotate
from storyline.briefing import Briefing, CitedText
from storyline.model import Document
from storyline.outlets import Registry, packaged_outlets, read_outlets_file
from storyline.pipeline.stories import _documents, brief
from storyline.story.perspectives import _clash, _compatible, _quantities
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
    assert _quantities("It lasted 3 hours and cost 40 per cent more.") == {"hours": {"3"}, "per cent": {"40"}}
    assert _quantities("It lasted about 3 hours, more than 2 days.") == {}


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
