"""A stored story's place in its storyline: computed from the store (``pipeline.catalogue``),
carried by the briefing of ``brief_story``, ``storyline brief --db --story`` and the web app, and
never kept in the briefing cache. Real SQLite and PostgreSQL stores (one linked store per module
and backend, copied for the tests that change it); one real briefing per backend (of the middle story),
the rest served from the cache it fills. The storylines are linked by hand here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from storyline.briefing import Briefing
from storyline.cli import main
from storyline.model import Document
from storyline.pipeline.catalogue import storyline_place
from storyline.pipeline.stories import brief_story
from storyline.store import Store, open_store
from storyline.story.dedupe import content_hash

from test_api import client_for
from tests.conftest import BACKENDS, copy_database, database_on

# Invented articles (our own words): three steps of one thread, and an unrelated story.
CLOSING = ("Wren bridge closes for repairs", "2026-03-03",
           "The old stone bridge over the Wren river in Millbrook closed on Tuesday for two "
           "years of repairs. Engineers found cracks in two of its arches last winter.")
FERRY = ("A ferry crosses the Wren while the bridge is shut", "2026-04-10",
         "A small ferry began carrying foot passengers and bicycles across the Wren river in "
         "Millbrook on Friday, while the old bridge is closed for repairs. The harbour office "
         "said the boat would run every twenty minutes from six in the morning. Traders on Mill "
         "Street said the crossing brought back some of the customers they had lost. \"It is "
         "slower than the bridge, but it is a lot better than the detour,\" said Ida Holm, who "
         "runs a bakery near the landing.")
REOPENING = ("Wren bridge reopens a month early", "2027-05-02",
             "The stone bridge over the Wren river reopened on Sunday, a month before the date "
             "the council had given. The ferry will stop running next week.")
FROST = ("Orchard owners count frost damage", "2026-04-12",
         "A late frost destroyed most of the apple blossom in the valley above Millbrook, the "
         "growers' cooperative said on Monday.")
STORYLINE_TITLE = "Crossing the Wren"


def add_story(store: Store, article: tuple[str, str, str]) -> int:
    """A story named after the article's headline, holding that one dated document."""
    title, published, body = article
    text = f"{title}\n\n{body}"
    stored = store.add_document(Document(origin=f"{published}.txt", text=text, title=title,
                                         published=published, content_hash=content_hash(text)))
    story = store.create_story(title)
    store.add_to_story(story.id, [stored.id])
    return story.id


def linked_store(db: str, title: str | None) -> dict[str, int]:
    """The thread's three stories, stored out of time order (the last one first), linked into
    one storyline, and the frost story in none; their ids by role."""
    with open_store(db) as store:
        ids = {role: add_story(store, article) for role, article in
               [("last", REOPENING), ("middle", FERRY), ("first", CLOSING), ("alone", FROST)]}
        line = store.create_storyline(title)
        for role in ("last", "middle", "first"):
            store.set_storyline(ids[role], line)
    return ids


@pytest.fixture(scope="module", params=BACKENDS)
def thread(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, int], Briefing]:
    """The linked store, and the real briefing of its middle story (which fills the cache); on
    each backend."""
    db = database_on(request.param, request, tmp_path_factory.mktemp("storyline"), "thread")
    ids = linked_store(db, STORYLINE_TITLE)
    with open_store(db) as store:
        briefing = brief_story(store, ids["middle"])
    return db, ids, briefing


# --------------------------------------------------------------------------- from the store


def test_stories_are_placed_by_the_period_of_their_documents(db_url: str) -> None:
    ids = linked_store(db_url, STORYLINE_TITLE)
    with open_store(db_url) as store:
        first, last = storyline_place(store, ids["first"]), storyline_place(store, ids["last"])
        alone = storyline_place(store, ids["alone"])
    assert first is not None and last is not None
    assert (first.place, first.stories, first.previous) == (1, 3, None)
    assert first.next is not None and first.next.id == ids["middle"]
    assert (last.place, last.next) == (3, None)
    assert last.previous is not None and last.previous.title == FERRY[0]
    assert alone is None


def test_a_storyline_without_a_title_takes_its_earliest_story_s(db_url: str) -> None:
    ids = linked_store(db_url, None)
    with open_store(db_url) as store:
        place = storyline_place(store, ids["last"])
    assert place is not None and place.title == CLOSING[0]


# --------------------------------------------------------------------------- in the briefing


def test_the_middle_story_s_briefing_is_part_2_of_3(thread: tuple[str, dict[str, int], Briefing]) -> None:
    _, ids, briefing = thread
    assert briefing.to_dict()["storyline"] == {
        "id": 1, "title": STORYLINE_TITLE, "place": 2, "stories": 3,
        "previous": {"id": ids["first"], "title": CLOSING[0],
                     "period": {"start": "2026-03-03", "end": "2026-03-03"}},
        "next": {"id": ids["last"], "title": REOPENING[0],
                 "period": {"start": "2027-05-02", "end": "2027-05-02"}},
    }


def test_the_command_line_briefs_the_stored_story_in_its_place(
        thread: tuple[str, dict[str, int], Briefing]) -> None:
    db, ids, _ = thread
    result = CliRunner().invoke(main, ["brief", "--db", db, "--story", str(ids["middle"]),
                                       "--format", "json", "-q"])
    assert result.exit_code == 0, result.output
    place = json.loads(result.stdout)["storyline"]
    assert (place["place"], place["stories"], place["next"]["id"]) == (2, 3, ids["last"])


def test_a_story_taken_out_of_its_storyline_briefs_with_none(
        thread: tuple[str, dict[str, int], Briefing], tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    db, ids, briefing = thread
    db = copy_database(db, request, tmp_path, "unlinked")
    with open_store(db) as store:
        store.set_storyline(ids["middle"], None)
        again = brief_story(store, ids["middle"])
    assert again.generated_at == briefing.generated_at, "served from the cache"
    assert again.storyline is None and again.to_dict()["storyline"] is None


# --------------------------------------------------------------------------- in the web app


def test_the_story_page_links_the_previous_and_next_stories(
        thread: tuple[str, dict[str, int], Briefing]) -> None:
    db, ids, _ = thread
    with client_for(db) as client:
        page = client.get(f"/stories/{ids['middle']}").text
        answer = client.get(f"/api/stories/{ids['middle']}/briefing").json()
    assert "Part 2 of 3 of the storyline <strong>Crossing the Wren</strong>" in page
    assert f'<a href="/stories/{ids["first"]}" rel="prev">{CLOSING[0]}</a> (3 March 2026)' in page
    assert f'<a href="/stories/{ids["last"]}" rel="next">{REOPENING[0]}</a> (2 May 2027)' in page
    assert (answer["storyline"]["place"], answer["storyline"]["previous"]["id"]) == (2, ids["first"])


def test_the_story_page_follows_a_new_link_of_its_storyline(
        thread: tuple[str, dict[str, int], Briefing], tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    """The rendered page is kept while the story's documents are unchanged; a story linked into
    the storyline (this one's documents untouched) must still show on it as the next one."""
    db, ids, _ = thread
    db = copy_database(db, request, tmp_path, "relinked")
    with client_for(db) as client:
        assert "Part 2 of 3" in client.get(f"/stories/{ids['middle']}").text
        with open_store(db) as store:
            store.set_storyline(ids["alone"], 1)  # dated two days after the ferry story
        page = client.get(f"/stories/{ids['middle']}").text
    assert "Part 2 of 4" in page
    assert f'<a href="/stories/{ids["alone"]}" rel="next">{FROST[0]}</a>' in page
