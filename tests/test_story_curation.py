"""Story curation on real databases, SQLite and PostgreSQL (``conftest.db_url``): moving documents between stories, merging and splitting
stories, storylines; each curation one transaction, bad requests refused with a clear message
and nothing lost (every document still in exactly the stories it should be)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store import make_doc

from storyline.errors import InvalidValue, UsageError
from storyline.pipeline import curation
from storyline.store import MergedStory, SourceCorrection, Store, StorylineInfo, open_store
from tests.conftest import sql_rows


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """Six stored documents S1..S6: story "a" holds S1-S3, story "b" S4-S5, "c" S6."""
    with open_store(db_url) as opened:
        for i in range(1, 7):
            opened.add_document(make_doc(i))
        for name, ids in {"a": ["S1", "S2", "S3"], "b": ["S4", "S5"], "c": ["S6"]}.items():
            opened.add_to_story(opened.create_story(name).id, ids)
        yield opened


def where(store: Store) -> str | Path:
    """The database of ``store``: its URL (PostgreSQL) or its file (SQLite)."""
    return getattr(store, "url", None) or getattr(store, "path")


def members(store: Store) -> dict[str, set[str]]:
    """Story name -> its document ids, read straight from the tables (merged stories too)."""
    rows = sql_rows(where(store),
                    "SELECT s.name, sd.document FROM stories s JOIN story_documents sd ON sd.story = s.id")
    found: dict[str, set[str]] = {}
    for name, seq in rows:
        found.setdefault(name, set()).add(f"S{seq}")
    return found


def ids(store: Store, name: str) -> list[str]:
    story = store.story(name)
    assert story is not None
    return [doc.id or "" for doc in store.story_documents(story.id)]


# --------------------------------------------------------------------------- move


def test_moved_documents_leave_one_story_and_join_the_other(store: Store) -> None:
    assert store.move_documents(["S2", "S3"], 1, 2) == 2
    assert ids(store, "a") == ["S1"] and ids(store, "b") == ["S2", "S3", "S4", "S5"]
    assert [(s.name, s.documents) for s in sorted(store.stories(), key=lambda s: s.id)] == [
        ("a", 1), ("b", 4), ("c", 1)]


def test_a_document_moved_twice_is_refused_the_second_time_and_stays_put(store: Store) -> None:
    store.move_documents(["S1"], 1, 2)
    before = members(store)
    with pytest.raises(UsageError, match=r"cannot move S1: not in story 1"):
        store.move_documents(["S1"], 1, 3)
    assert members(store) == before
    assert store.move_documents(["S1"], 2, 3) == 1  # onwards from where it is now
    assert members(store)["c"] == {"S1", "S6"} and "S1" not in members(store)["b"]


def test_a_document_already_in_the_target_is_kept_once(store: Store) -> None:
    store.add_to_story(2, ["S1"])  # a document may belong to several stories
    assert store.move_documents(["S1", "S2", "S2"], 1, 2) == 1
    assert members(store)["a"] == {"S3"} and members(store)["b"] == {"S1", "S2", "S4", "S5"}


def test_bad_moves_say_what_is_wrong_and_change_nothing(store: Store) -> None:
    before = members(store)
    with pytest.raises(KeyError, match="no stored document 'S99'"):
        store.move_documents(["S1", "S99"], 1, 2)
    with pytest.raises(KeyError, match="no stored document 'x'"):
        store.move_documents(["x"], 1, 2)
    with pytest.raises(KeyError, match="no story 42"):
        store.move_documents(["S1"], 1, 42)
    with pytest.raises(UsageError, match="in story 1 already"):
        store.move_documents(["S1"], 1, 1)
    with pytest.raises(UsageError, match="nothing to move"):
        store.move_documents([], 1, 2)
    with pytest.raises(UsageError, match="S1, S2: not in story 2"):
        store.move_documents(["S4", "S1", "S2"], 2, 1)
    assert members(store) == before


# --------------------------------------------------------------------------- merge


def test_a_merged_story_leads_to_the_one_it_joined(store: Store) -> None:
    kept = store.merge_stories(1, 2)
    assert (kept.id, kept.documents, kept.merged_into) == (1, 5, None)
    assert sorted(s.name for s in store.stories()) == ["a", "c"]
    merged = store.story(2)
    assert merged is not None and merged.merged_into == 1 and merged.documents == 0
    assert store.story("b") == merged  # by name too
    assert members(store) == {"a": {"S1", "S2", "S3", "S4", "S5"}, "c": {"S6"}}


def test_merging_twice_into_itself_or_into_a_merged_story_is_refused(store: Store) -> None:
    store.merge_stories(1, 2)
    before = members(store)
    with pytest.raises(MergedStory, match="story 2 was already merged into 1") as merged_twice:
        store.merge_stories(3, 2)
    assert merged_twice.value.merged_into == 1
    with pytest.raises(UsageError, match="story 2 was already merged into 1"):
        store.merge_stories(2, 3)
    with pytest.raises(UsageError, match="cannot merge story 3 into itself"):
        store.merge_stories(3, 3)
    with pytest.raises(KeyError, match="no story 9"):
        store.merge_stories(9, 3)
    assert members(store) == before
    assert store.story(3) is not None and store.story(3).merged_into is None  # type: ignore[union-attr]


def test_a_merge_of_a_story_others_were_merged_into_redirects_them_in_one_step(
    store: Store,
) -> None:
    store.merge_stories(2, 3)  # c into b
    store.merge_stories(1, 2)  # b (holding c's documents) into a
    assert [(s.id, s.merged_into) for s in (store.story(2), store.story(3)) if s] == [(2, 1), (3, 1)]
    assert members(store) == {"a": {f"S{i}" for i in range(1, 7)}}
    # An ingest still filing into a merged story files into the story it joined.
    store.add_document(make_doc(7))
    assert store.add_to_story(3, ["S7"]) == 1
    assert "S7" in members(store)["a"]


def test_the_kept_story_takes_the_others_storyline_when_it_has_none(store: Store) -> None:
    line = store.create_storyline("Harbour")
    store.set_storyline(2, line)
    assert store.merge_stories(1, 2).storyline == line
    assert store.storylines() == [StorylineInfo(line, "Harbour", (1,))]


# --------------------------------------------------------------------------- split


def test_split_documents_form_a_new_story_of_the_same_kind(store: Store) -> None:
    found = store.create_story("found 1", kind="found")
    store.move_documents(["S1", "S2"], 1, found.id)
    new = store.split_story(found.id, ["S2"], "  the  second ")
    assert (new.name, new.kind, new.documents, new.storyline) == ("the second", "found", 1, None)
    assert ids(store, "found 1") == ["S1"] and ids(store, "the second") == ["S2"]
    assert members(store)["a"] == {"S3"}


def test_bad_splits_are_refused_and_create_nothing(store: Store) -> None:
    before, stories = members(store), len(store.stories())
    with pytest.raises(UsageError, match="a split needs documents"):
        store.split_story(1, [], "nothing")
    with pytest.raises(UsageError, match="must leave documents in story 1"):
        store.split_story(1, ["S1", "S2", "S3"], "everything")
    with pytest.raises(UsageError, match="cannot split off S4: not in story 1"):
        store.split_story(1, ["S1", "S4"], "strays")
    with pytest.raises(UsageError, match="a story named 'b' exists already"):
        store.split_story(1, ["S1"], "b")
    with pytest.raises(UsageError, match="a story needs a name"):
        store.split_story(1, ["S1"], "  ")
    with pytest.raises(KeyError, match="no stored document 'S77'"):
        store.split_story(1, ["S77"], "ghost")
    store.merge_stories(1, 2)
    with pytest.raises(MergedStory, match="story 2 was already merged into 1"):
        store.split_story(2, ["S4"], "late")
    assert len(store.stories()) == stories - 1
    assert sorted(members(store)["a"]) == sorted(before["a"] | before["b"])


# --------------------------------------------------------------------------- storylines


def test_storylines_list_their_stories_by_period_start(store: Store) -> None:
    # make_doc(i) is published on 2026-(1 + i % 12)-(1 + i % 28): S1 in February, S4 in May, S6 July.
    line = store.create_storyline("  Port  strike ")
    other = store.create_storyline(None)
    for story in (3, 1, 2):
        store.set_storyline(story, line)
    assert store.storylines() == [StorylineInfo(line, "Port strike", (1, 2, 3)),
                                  StorylineInfo(other, None, ())]
    store.set_storyline(2, None)
    assert store.storylines()[0].stories == (1, 3)
    assert store.story(2).storyline is None  # type: ignore[union-attr]
    with pytest.raises(KeyError, match="no storyline 99"):
        store.set_storyline(1, 99)
    with pytest.raises(KeyError, match="no story 99"):
        store.set_storyline(99, line)


def test_a_story_is_created_named_or_found(store: Store) -> None:
    assert store.create_story("hand").kind == "named"
    assert store.create_story("machine", kind="found").kind == "found"
    with pytest.raises(UsageError, match="unknown story kind 'other'"):
        store.create_story("odd", kind="other")


# --------------------------------------------------------------------------- the pipeline's faces


def test_the_pipeline_curations_call_the_hook_with_the_stories_they_changed(
    store: Store, monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(curation, "after_curation", lambda _store, stories: seen.append(tuple(stories)))
    assert curation.move(store, ["S1"], 1, 2) == 1
    new = curation.split(store, 2, ["S4"], "d")
    assert curation.merge(store, 3, 2).id == 3
    assert curation.remove(store, 3, ["S1"]) == 1
    assert seen == [(1, 2), (2, new.id), (3, 2), (3,)]


# --------------------------------------------------------------------------- removing sources


def test_removed_documents_leave_the_story_and_stay_stored(store: Store) -> None:
    store.add_to_story(2, ["S1"])  # S1 is in "a" and "b"
    key = store.story_documents_key(1)
    assert curation.remove(store, 1, ["S1", "S2"]) == 2
    assert ids(store, "a") == ["S3"] and ids(store, "b") == ["S1", "S4", "S5"]
    assert store.count() == 6 and store.get("S2") is not None
    assert store.story_documents_key(1) != key  # its cached briefings are stale


def test_bad_removals_say_what_is_wrong_and_change_nothing(store: Store) -> None:
    before = members(store)
    with pytest.raises(KeyError, match="no stored document 'S9'"):
        store.remove_documents(1, ["S1", "S9"])
    with pytest.raises(UsageError, match="cannot remove S4: not in story 1"):
        store.remove_documents(1, ["S1", "S4"])
    with pytest.raises(InvalidValue, match="cannot remove every source of story 1"):
        store.remove_documents(1, ["S1", "S2", "S3"])
    with pytest.raises(InvalidValue, match="cannot remove the last source of story 3"):
        store.remove_documents(3, ["S6"])
    with pytest.raises(KeyError, match="no story 7"):
        store.remove_documents(7, ["S1"])
    store.merge_stories(1, 2)
    with pytest.raises(MergedStory):
        store.remove_documents(2, ["S4"])
    assert members(store) == {"a": {"S1", "S2", "S3", "S4", "S5"}, "c": {"S6"}}
    assert before["a"] <= members(store)["a"]


# --------------------------------------------------------------------------- correcting sources


def test_a_correction_changes_the_fields_given_and_the_keys_of_the_stories_holding_it(
    store: Store,
) -> None:
    keys = {story: store.story_documents_key(story) for story in (1, 2)}
    corrected = store.correct_document("S2", SourceCorrection(outlet="Harbour Post", published="2025-12-01"))
    assert (corrected.outlet, corrected.published, corrected.published_from) == (
        "Harbour Post", "2025-12-01", "corrected")
    assert corrected.title == make_doc(2).title  # not given: left as it was
    assert store.get("S2") == corrected
    assert store.story_documents_key(1) != keys[1] and store.story_documents_key(2) == keys[2]
    again = store.story_documents_key(1)
    store.correct_document("S2", SourceCorrection(title="A better headline"))
    assert store.story_documents_key(1) != again  # each correction, not only the first
    rows = sql_rows(where(store), "SELECT field, previous, value FROM document_corrections ORDER BY id")
    assert rows == [("outlet", "Example News", "Harbour Post"),
                    ("published", make_doc(2).published, "2025-12-01"),
                    ("title", "Story number 2", "A better headline")]


def test_a_correction_stays_when_the_same_content_is_stored_again(store: Store) -> None:
    store.correct_document("S3", SourceCorrection(outlet="Harbour Post", published="2025-12-01"))
    again = make_doc(3)
    again.origin = "mirror/3.txt"  # the same article from elsewhere, with its old metadata
    result = store.add_document(again)
    assert (result.id, result.created) == ("S3", False)
    stored = store.get("S3")
    assert stored is not None and (stored.outlet, stored.published) == ("Harbour Post", "2025-12-01")
    assert stored.also_at == ["mirror/3.txt"]


def test_a_correction_of_an_unknown_document_is_a_key_error(store: Store) -> None:
    with pytest.raises(KeyError, match="no stored document 'S9'"):
        store.correct_document("S9", SourceCorrection(title="x"))
    with pytest.raises(KeyError):
        store.correct_document("nine", SourceCorrection(title="x"))


@pytest.mark.parametrize(("fields", "message"), [
    ({}, "nothing to correct"),
    ({"published": "2026-02-30"}, "'2026-02-30' is not a date"),
    ({"published": "04/03/2026"}, "give the day as YYYY-MM-DD"),
    ({"published": "2026-3-4"}, "is not a date"),
    ({"title": "   "}, "the title cannot be empty"),
    ({"outlet": ""}, "the outlet cannot be empty"),
    ({"outlet": "x" * 201}, "the outlet is 201 characters long"),
])
def test_a_correction_that_cannot_be_made_changes_nothing(
    store: Store, fields: dict[str, str], message: str,
) -> None:
    before = store.get("S1")
    with pytest.raises(InvalidValue, match=message):
        curation.correct(store, "S1", **fields)
    assert store.get("S1") == before


def test_a_corrected_outlet_is_named_as_the_registry_names_it(store: Store) -> None:
    corrected = curation.correct(store, "S1", title="  The  harbour   reopens ", outlet="bbc news")
    assert (corrected.title, corrected.outlet) == ("The harbour reopens", "BBC News")
    unknown = curation.correct(store, "S1", outlet="Orvik   Evening Star")
    assert unknown.outlet == "Orvik Evening Star"
