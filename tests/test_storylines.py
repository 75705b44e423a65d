"""Storylines: stories of one thread linked, in a pile, online and in real SQLite and PostgreSQL
stores (``conftest.db_url``, one linked store per module and backend)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from storyline.cli import main
from storyline.pipeline.documents import ingest
from storyline.store import open_store
from storyline.story.detect import StoryProfile
from storyline.story.storylines import (
    RECENT_STORIES,
    SUMMED_FROM,
    StorylineConfig,
    StorylineLinker,
    link_stories,
    pile_storylines,
    thread_affinities,
    thread_affinities_to,
)
from tests.conftest import BACKENDS, EXAMPLES, REPO, database_on

FOLLOW_UP = REPO / "examples" / "followup"


def _profile(words: dict[str, float], day: int | None, axis: int, size: int = 1) -> StoryProfile:
    """A story of ``size`` identical documents: unit word vector ``words``, meaning along ``axis``."""
    norm = sum(v * v for v in words.values()) ** 0.5
    vector = np.zeros(8, dtype=np.float32)
    vector[axis] = 1.0
    return StoryProfile(size, {k: size * v / norm for k, v in words.items()}, {},
                        size * vector, day, day)


RIVER = {"river": 1.0, "dam": 1.0, "tariff": 0.5}
CHESS = {"chess": 1.0, "match": 1.0, "opening": 0.5}


def test_time_wears_the_likeness_down_and_ends_it_past_the_gap() -> None:
    config = replace(StorylineConfig.packaged(), decay_per_year=0.5, max_gap_days=400,
                     names_floor=0.0)
    near = thread_affinities(config, [_profile(RIVER, 0, 0), _profile(RIVER, 30, 0)])[0, 1]
    year = thread_affinities(config, [_profile(RIVER, 0, 0), _profile(RIVER, 365, 0)])[0, 1]
    beyond = thread_affinities(config, [_profile(RIVER, 0, 0), _profile(RIVER, 500, 0)])[0, 1]
    undated = thread_affinities(config, [_profile(RIVER, None, 0), _profile(RIVER, 900, 0)])[0, 1]
    assert near > year > 0.0 and beyond == 0.0
    assert year == pytest.approx(near * np.exp(-0.5 * (365 - 30) / 365.25), rel=1e-6)
    words, _, meaning = config.weights()  # these profiles share words and meaning, no names
    assert undated == pytest.approx(words + meaning)  # an undated story is not held to the gap


def test_a_pile_links_stories_of_one_thread_and_leaves_the_rest_alone() -> None:
    config = replace(StorylineConfig.packaged(), link=0.3, names_floor=0.0)
    profiles = [_profile(RIVER, 0, 0, 3), _profile(CHESS, 10, 1, 2), _profile(RIVER, 200, 0, 2),
                _profile({"volcano": 1.0}, 20, 2)]
    assert link_stories(profiles, config) == [0, 1, 0, 2]
    numbered = pile_storylines(dict(enumerate(profiles)), config)
    assert numbered == {0: 1, 1: None, 2: 1, 3: None}
    assert link_stories([], config) == [] and link_stories(profiles[:1], config) == [0]


def test_online_linking_joins_a_storyline_or_starts_one_with_a_lone_story() -> None:
    config = replace(StorylineConfig.packaged(), link=0.3, names_floor=0.0)
    stories = {1: _profile(RIVER, 0, 0, 3), 2: _profile(CHESS, 5, 1, 2), 3: _profile(RIVER, 150, 0),
               4: _profile(RIVER, 300, 0), 5: _profile({"volcano": 1.0}, 310, 2)}
    present: list[int] = []  # the stories that exist so far (what an index would offer)
    linker = StorylineLinker(config, load=lambda ids: {i: stories[i] for i in ids if i in stories},
                             nearby=lambda story, profile: list(present))
    present += [1, 2]
    assert linker.link([1, 2]) == {}  # the river and the chess match share no thread
    present.append(3)
    assert linker.link([3]) == {3: -1}  # a later river story starts a storyline with the first
    assert linker.line_of == {1: -1, 3: -1} and linker.linked == {1: -1, 3: -1}
    linker.saved({-1: 7})
    present += [4, 5]
    assert linker.link([4, 5]) == {4: 7}
    assert linker.line_of == {1: 7, 3: 7, 4: 7}
    linker.absorb(keep=2, other=4)  # a story merged away hands its storyline to the keeper
    assert linker.line_of == {1: 7, 3: 7, 2: 7}


@pytest.fixture(scope="module", params=BACKENDS)
def linked_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 seeds_dir: Path) -> str:
    """The seeds and the example corpus in one ingest (three seeds are undated, so nothing but
    time keeps the two meetings apart), then the corpus's follow-up, stories found at ingest;
    on each backend."""
    db = database_on(request.param, request, tmp_path_factory.mktemp("storylines"), "s")
    with open_store(db) as store:
        for inputs in ([str(seeds_dir), str(EXAMPLES)], [str(FOLLOW_UP)]):
            report = ingest(inputs, store, annotate=False, find_stories=True)
            assert report.stories
    return db


def test_seeds_and_the_example_corpus_make_two_storylines(linked_store: str) -> None:
    with open_store(linked_store) as store:
        lines = store.storylines()
        year_of = {}
        for story in store.stories():
            for document in store.story_documents(story.id):
                year_of[document.origin] = (story.id, story.storyline, (document.published or "")[:7])
    assert len([line for line in lines if line.stories]) == 2
    seeds = {v for origin, v in year_of.items() if "seeds" in origin}
    assert {year for _, _, year in seeds} >= {"2017-07", "2018-07"}
    assert len({line for _, line, _ in seeds}) == 1 and None not in {line for _, line, _ in seeds}
    by_year = Counter((story, year[:4]) for story, _, year in seeds)
    stories_by_year = {year: {s for s, y in by_year if y == year} for _, year in by_year}
    assert stories_by_year["2017"].isdisjoint(stories_by_year["2018"])  # two meetings, two stories
    example = {v for origin, v in year_of.items() if "examples" in origin}
    assert len({line for _, line, _ in example}) == 1
    assert {line for _, line, _ in example}.isdisjoint({line for _, line, _ in seeds})
    assert {month for _, _, month in example} == {"2025-05", "2025-09"}
    assert len({story for story, _, _ in example}) == 2  # the deal and, months later, its strain


def test_stories_json_names_each_found_story_s_storyline(seeds_dir: Path) -> None:
    result = CliRunner().invoke(main, ["stories", str(seeds_dir), str(FOLLOW_UP), str(EXAMPLES),
                                       "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    stories = json.loads(result.output)
    orla = [s for s in stories if any("examples" in origin for origin in s["documents"])]
    assert sorted(s["period"]["start"][:7] for s in orla) == ["2025-05", "2025-09"]
    assert orla[0]["storyline"] is not None and orla[0]["storyline"] == orla[1]["storyline"]
    assert orla[0]["storyline"]["title"] == min(orla, key=lambda s: s["period"]["start"])["title"]
    seeds = [s for s in stories if any("seeds" in origin for origin in s["documents"])]
    assert seeds and all(s["storyline"] != orla[0]["storyline"] for s in seeds)


def test_one_row_of_affinities_is_the_matrix_row() -> None:
    config = replace(StorylineConfig.packaged(), names_floor=0.0)
    profiles = [_profile(RIVER, 0, 0, 3), _profile(CHESS, 100, 1, 2), _profile(RIVER, 300, 0, 2),
                _profile(RIVER, None, 0)]
    row = thread_affinities_to(config, profiles[0], profiles[1:])
    assert row == pytest.approx(thread_affinities(config, profiles)[0, 1:])


QUAKE = {"earthquake": 1.0, "magnitude": 1.0}


def test_stories_that_share_no_names_are_not_one_thread() -> None:
    config = replace(StorylineConfig.packaged(), names_floor=0.05, names_floor_documents=2)
    first, second = _profile(QUAKE, 0, 0, 2), _profile(QUAKE, 200, 0, 2)
    second.names, first.names = {"chile": 2.0}, {"chile": 1.2, "santiago": 1.6}
    assert thread_affinities_to(config, first, [second])[0] > 0.0
    second.names = {"japan": 2.0}
    assert thread_affinities_to(config, first, [second])[0] == 0.0
    assert thread_affinities(config, [first, second])[0, 1] == 0.0


def test_a_single_document_is_not_held_to_the_names_floor_until_its_story_grows() -> None:
    config = replace(StorylineConfig.packaged(), names_floor=0.05, names_floor_documents=2)
    story = _profile(QUAKE, 0, 0, 2)
    story.names = {"chile": 2.0}
    lone = _profile(QUAKE, 30, 0)  # one document that names nobody the story names
    lone.names = {"japan": 1.0}
    grown = _profile(QUAKE, 30, 0, 2)
    grown.names = {"japan": 2.0}
    free = thread_affinities_to(config, lone, [story])[0]
    assert free > 0.0 and thread_affinities_to(config, story, [lone])[0] == pytest.approx(free)
    assert thread_affinities(config, [story, lone])[0, 1] == pytest.approx(free)
    assert thread_affinities_to(config, grown, [story])[0] == 0.0
    held = replace(config, names_floor_documents=1)  # every part held to the floor
    assert thread_affinities_to(held, lone, [story])[0] == 0.0


def test_a_story_that_grew_into_another_subject_leaves_its_storyline() -> None:
    config = replace(StorylineConfig.packaged(), link=0.3, names_floor=0.0)
    stories = {1: _profile(RIVER, 0, 0, 2), 2: _profile(RIVER, 40, 0)}
    linker = StorylineLinker(config, load=lambda ids: {i: stories[i] for i in ids if i in stories},
                             nearby=lambda story, profile: sorted(stories))
    assert linker.link([2]) == {2: -1} and linker.line_of == {1: -1, 2: -1}
    linker.saved({-1: 3})
    stories[2] = _profile(CHESS, 60, 1, 5)  # its later documents were all about something else
    assert linker.link([2]) == {}
    assert linker.line_of == {} and linker.linked == {2: None, 1: None}


def test_stored_storylines_are_listed_with_their_earliest_story_s_title(linked_store: str) -> None:
    result = CliRunner().invoke(main, ["stories", "--db", linked_store, "--format", "json"])
    assert result.exit_code == 0, result.output
    stories = json.loads(result.output)
    linked = [s for s in stories if s["storyline"] is not None]
    assert len({s["storyline"]["id"] for s in linked}) == 2
    for story in linked:
        line = [s for s in linked if s["storyline"]["id"] == story["storyline"]["id"]]
        earliest = min(line, key=lambda s: s["period"]["start"] or "9999")
        assert story["storyline"]["title"] == earliest["title"]
    markdown = CliRunner().invoke(main, ["stories", "--db", linked_store, "--format", "md"])
    assert markdown.exit_code == 0 and "## Storyline " not in markdown.output


def test_a_pile_of_one_story_has_no_storyline() -> None:
    document = next(p for p in sorted(FOLLOW_UP.iterdir()) if p.suffix == ".txt")
    result = CliRunner().invoke(main, ["stories", str(document), "--format", "json", "--quiet"])
    assert result.exit_code == 0, result.output
    assert [story["storyline"] for story in json.loads(result.output)] == [None]
    assert pile_storylines({}) == {}


def test_every_found_story_is_titled_even_when_its_first_document_has_no_title(
        db_url: str, seeds_dir: Path) -> None:
    # One seed has no headline the reader can find; the story it opens takes the next title.
    with open_store(db_url) as store:
        assert ingest([str(seeds_dir)], store, annotate=False, find_stories=True).stories
        found = [s for s in store.stories() if s.kind == "found"]
        untitled = [d for s in found for d in store.story_documents(s.id) if not d.title]
        assert found and untitled  # the case this test is about is present
        assert all(s.title for s in found), [(s.id, s.name, s.title) for s in found]


def test_two_storylines_that_meet_as_a_story_grows_are_merged() -> None:
    config = replace(StorylineConfig.packaged(), link=0.3, names_floor=0.0)
    dam = {"dam": 1.0}
    stories = {1: _profile({"river": 1.0}, 0, 0), 2: _profile({"river": 1.0}, 5, 0),
               3: _profile(dam, 10, 1), 4: _profile(dam, 15, 1)}
    linker = StorylineLinker(config, load=lambda ids: {i: stories[i] for i in ids if i in stories},
                             nearby=lambda story, profile: sorted(stories))
    linker.link([1, 2])
    linker.link([3, 4])  # the river and the dam share nothing yet: two storylines
    linker.saved({-1: 10, -2: 20})
    assert linker.line_of == {1: 10, 2: 10, 3: 20, 4: 20}
    grown = _profile({"river": 1.0, "dam": 1.0}, 25, 0, 5)  # its later documents tell of both
    grown.meaning = np.full(8, 0.0, dtype=np.float32)
    grown.meaning[:2] = 5 / np.sqrt(2)
    stories[2] = grown
    assert linker.link([2]) == {}  # no story joined a storyline, yet the two now meet
    assert linker.line_of == {1: 10, 2: 10, 3: 10, 4: 10} and linker.linked == {3: 10, 4: 10}


def _profiles_read_to_link_a_grown_story(length: int) -> tuple[int, int]:
    """How many story profiles, and how many nearby look-ups, linking one grown story of a
    storyline of ``length`` stories costs (one batch)."""
    config = replace(StorylineConfig.packaged(), link=0.3, names_floor=0.0)
    stories = {k: _profile(RIVER, 3 * k, 0, 2) for k in range(1, length + 1)}
    read: list[int] = []
    looked_up: list[int] = []

    def load(ids: Sequence[int]) -> dict[int, StoryProfile]:
        read.extend(ids)
        return {i: stories[i] for i in ids if i in stories}

    def nearby(story: int, profile: StoryProfile) -> list[int]:
        looked_up.append(story)  # as an index would: a few stories, the nearest in time
        return sorted(stories, key=lambda other: (abs(other - story), other))[:6]

    linker = StorylineLinker(config, load=load, nearby=nearby, line_of=dict.fromkeys(stories, 50))
    linker.link([length - 1])  # the kept sum of the storyline is made once, on first use
    read.clear()
    looked_up.clear()
    stories[length] = _profile(RIVER, 3 * length, 0, 4)  # the newest story grew
    assert linker.link([length]) == {} and linker.line_of[length] == 50  # it stays in its thread
    return len(read), len(looked_up)


def test_linking_a_grown_story_costs_the_same_however_long_its_storyline() -> None:
    # Storylines grow with the store (a thread followed for years); what one batch reads must
    # not: a bounded number of recent stories is summed, and the regroup asks only about the
    # stories the batch changed.
    short = _profiles_read_to_link_a_grown_story(RECENT_STORIES + SUMMED_FROM)
    long = _profiles_read_to_link_a_grown_story(8 * RECENT_STORIES)
    assert short == long
    assert short[0] <= 2 * RECENT_STORIES + 2 and short[1] == 1
