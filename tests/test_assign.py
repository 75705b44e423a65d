"""Story detection at ingest: found stories kept in real SQLite and PostgreSQL stores
(``conftest.db_url``), across runs and kills. The index cache file is kept beside a SQLite
database and, for a PostgreSQL database, in the user's cache folder (``Store.client_cache``;
the session's own under the tests); the tests that damage it run on SQLite, whose file they
find beside the database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from storyline.pipeline.assign import INDEX_CACHE, StoryAssigner
from storyline.pipeline.curation import move
from storyline.context import Settings
from storyline.model import Document
from storyline.pipeline.documents import ingest, ingest_sources
from storyline.read.readers import read_inputs
from storyline.store import open_store
from storyline.story.dedupe import content_hash
from storyline.story.detect import StoryProfile
from tests.conftest import is_postgres
from tests.test_detect import STORIES

LATE_FERRY = {"title": "Skarholm ferry sails again",
              "text": "The night ferry to Skarholm sailed again on Friday after the Veldhaven yard "
                      "rebuilt both cracked engines, and the harbour authority ended the buses."}
MUSEUM = {"title": "Glass museum opens in Lindgrove",
          "text": "A museum of blown glass opened in the old Lindgrove station, with a furnace where "
                  "visitors watch the glassmakers at work."}


def _write(path: Path, records: list[dict[str, str]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return str(path)


def _pile(path: Path) -> str:
    return _write(path, [{"id": f"{story}-{n}", "title": title, "text": text}
                         for story, reports in STORIES.items() for n, (title, text) in enumerate(reports)])


def _found(db: str | Path) -> dict[int, list[str]]:
    """Found story id -> the origins of its documents."""
    with open_store(str(db)) as store:
        return {s.id: sorted(d.origin for d in store.story_documents(s.id))
                for s in store.stories() if s.kind == "found"}


def _ingest(db: str | Path, *inputs: str) -> dict[str, int]:
    with open_store(str(db)) as store:
        report = ingest(list(inputs), store, annotate=False, find_stories=True)
        assert report.ok, report.failed
        return report.stories


def test_ingest_files_each_new_document_into_its_story(tmp_path: Path, db_url: str) -> None:
    db = db_url
    filed = _ingest(db, _pile(tmp_path / "pile.jsonl"))
    assert len(filed) == 9 and len(set(filed.values())) == 3
    stories = _found(db)
    assert sorted(len(origins) for origins in stories.values()) == [3, 3, 3]
    by_line = {origin: story for story, origins in stories.items() for origin in origins}
    lines = sorted(by_line, key=lambda o: int(o.rsplit(":", 1)[1]))
    assert len({by_line[o] for o in lines[:3]}) == 1 and len({by_line[o] for o in lines[3:6]}) == 1
    with open_store(db) as store:
        cached = store.client_cache(INDEX_CACHE)
        assert cached is not None and cached.is_file()
        if not is_postgres(db):
            assert cached == Path(f"{db}.{INDEX_CACHE}")
    later = _ingest(db, _write(tmp_path / "more.jsonl", [LATE_FERRY, MUSEUM]))
    after = _found(db)
    ferry_story = by_line[lines[0]]
    assert len(after) == 4 and len(after[ferry_story]) == 4
    assert len(set(later.values())) == 2


# SQLite only: the index cache file beside the database file (PostgreSQL keeps none).
def test_a_lost_or_lagging_or_broken_index_is_caught_up_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    index = tmp_path / f"s.db.{INDEX_CACHE}"
    _ingest(db, _pile(tmp_path / "pile.jsonl"))
    old = tmp_path / "old.usearch"
    shutil.copy(index, old)
    _ingest(db, _write(tmp_path / "museum.jsonl", [MUSEUM]))
    shutil.copy(old, index)  # as if killed after the store's commit, before the index was saved
    with open_store(str(db)) as store:
        assert StoryAssigner(store).detector.index is not None
        assert len(StoryAssigner(store).detector.index or []) == 10
    index.write_bytes(b"torn")
    _ingest(db, _write(tmp_path / "ferry.jsonl", [LATE_FERRY]))
    assert sorted(len(o) for o in _found(db).values()) == [1, 3, 3, 4]
    index.unlink()
    with open_store(str(db)) as store:
        assert len(StoryAssigner(store).detector.index or []) == 11


def test_documents_moved_by_hand_leave_the_profile_of_their_story(tmp_path: Path, db_url: str) -> None:
    db = db_url
    _ingest(db, _pile(tmp_path / "pile.jsonl"))
    with open_store(str(db)) as store:
        stories = [s for s in store.stories() if s.kind == "found"]
        source, target = stories[0], stories[1]
        moved = store.story_documents(source.id)[0].id or ""
        move(store, [moved], source.id, target.id)
        profiles = store.story_profiles([source.id, target.id])
        assert StoryProfile.from_bytes(profiles[source.id]).size == 2
        assert StoryProfile.from_bytes(profiles[target.id]).size == 4


def test_named_stories_and_no_stories_file_nothing_found(tmp_path: Path, db_url: str) -> None:
    db = db_url
    with open_store(str(db)) as store:
        report = ingest([_pile(tmp_path / "pile.jsonl")], store, annotate=False)
        assert report.stories == {}
    assert _found(db) == {}


def test_a_near_copy_goes_with_its_original(tmp_path: Path, db_url: str) -> None:
    db = db_url
    _ingest(db, _pile(tmp_path / "pile.jsonl"))
    title, text = STORIES["drought"][0]
    copy = {"title": title, "text": text + " Updated with a correction."}
    filed = _ingest(db, _write(tmp_path / "copy.jsonl", [copy]))
    stories = _found(db)
    (story,) = filed.values()
    assert any(o.endswith("copy.jsonl:1") for o in stories[story]) and len(stories[story]) == 4


@pytest.mark.parametrize("empty", ["", "\n"])
def test_an_empty_input_files_nothing(tmp_path: Path, empty: str, db_url: str) -> None:
    (tmp_path / "empty.jsonl").write_text(empty, "utf-8")
    with open_store(db_url) as store:
        report = ingest([str(tmp_path / "empty.jsonl")], store, annotate=False, find_stories=True)
    assert report.stories == {}


# SQLite only: a database file deleted beside its index cache file.
def test_an_index_left_by_a_deleted_database_of_the_same_name_is_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    _ingest(db, _pile(tmp_path / "pile.jsonl"))
    db.unlink()  # the index file beside it stays, as after `rm s.db`
    filed = _ingest(db, _write(tmp_path / "other.jsonl", [MUSEUM, LATE_FERRY]))
    assert len(filed) == 2
    with open_store(str(db)) as store:
        assert len(StoryAssigner(store).detector.index or []) == 2


def test_a_stored_storys_briefing_starts_with_the_opening_vectors_kept_at_filing(
    tmp_path: Path, db_url: str
) -> None:
    """The story core of a stored story's briefing reads the opening vectors detection kept,
    rather than embedding the openings again, and ranks the documents as fresh vectors do."""
    from storyline.pipeline.stories import briefing_vectors
    from storyline.story.detect import DetectConfig, opening, typicality

    db = db_url
    _ingest(db, _pile(tmp_path / "pile.jsonl"))
    story, origins = max(_found(db).items(), key=lambda item: len(item[1]))
    assert len(origins) >= 3
    with open_store(str(db)) as store:
        documents = store.story_documents(story)
        vectors = briefing_vectors(store, story, documents)
    chars = DetectConfig.packaged().opening_chars
    assert all(opening(d, chars) in vectors for d in documents)
    kept = typicality(documents, embedder=vectors)
    fresh = typicality(documents)
    assert kept == pytest.approx(fresh, abs=2e-3)
    assert sorted(range(len(kept)), key=lambda k: -kept[k]) == sorted(range(len(fresh)), key=lambda k: -fresh[k])
    with open_store(str(db)) as store:  # a retitled document has another opening: embedded anew
        documents[0].title = "A title given later"
        assert opening(documents[0], chars) not in briefing_vectors(store, story, documents)


def test_a_stored_storys_briefing_is_the_same_with_the_sentence_vectors_kept_at_filing(
    tmp_path: Path, db_url: str
) -> None:
    """Filing an annotated document keeps the vectors of its summary candidates; the briefing
    of its stored story starts with them and embeds none of them again, and is the very
    briefing made with nothing kept."""
    from storyline.annotate.embeddings import SentenceVectors
    from storyline.pipeline.stories import briefing_vectors
    from storyline.story.brief import brief_documents
    from storyline.story.summary import candidate_texts

    with open_store(db_url) as store:
        report = ingest([_pile(tmp_path / "pile.jsonl")], store, find_stories=True)
        assert report.ok, report.failed
        story = max((s for s in store.stories() if s.kind == "found"), key=lambda s: s.documents)
        documents = store.story_documents(story.id, with_annotations=True)
        assert len(documents) >= 3 and all(d.annotations is not None for d in documents)
        kept = store.sentence_vectors([d.id or "" for d in documents])
        assert sorted(kept) == sorted(d.id for d in documents)
        vectors = briefing_vectors(store, story.id, documents)
        texts = [t for d in documents for t in candidate_texts(d)]
        assert texts and all(t in vectors for t in texts)
        with_kept = brief_documents(documents, vectors=vectors).to_dict()
        fresh = store.story_documents(story.id, with_annotations=True)
        without = brief_documents(fresh, vectors=SentenceVectors()).to_dict()
    assert with_kept["summary"] and with_kept["conflicts"] is not None
    assert {**with_kept, "generated_at": ""} == {**without, "generated_at": ""}


def test_the_writer_stores_and_files_in_filing_batches_annotating_in_smaller_ones(
        tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With stories filed, the writer stores and files ``filing_batch`` documents together
    (``Settings.filing_batch``), annotating them ``batch_size`` at a time; without, it stores
    ``batch_size`` at a time as before. The stories are those of the pile all the same."""
    filed: list[int] = []  # documents per call of the writer's filing
    file = StoryAssigner.file

    def counted(self: StoryAssigner, documents: Any, features: Any = None) -> dict[str, int]:
        filed.append(len(documents))
        return file(self, documents, features)

    monkeypatch.setattr(StoryAssigner, "file", counted)
    pile = _pile(tmp_path / "pile.jsonl")  # 9 documents, 3 stories
    stored: list[int] = []  # for each document stored: the batches annotated or filed before
    with open_store(db_url) as store:
        report = ingest([pile], store, annotate=False, find_stories=True,
                        settings=Settings(workers=1, batch_size=2, filing_batch=4))
    assert filed == [4, 4, 1]
    assert len(report.stories) == 9 and len(set(report.stories.values())) == 3

    annotated: list[int] = []

    def annotator(documents: list[Document]) -> None:  # leaves the documents unannotated
        annotated.append(len(documents))

    filed.clear()
    with open_store(str(tmp_path / "annotated.db")) as store:
        report = ingest_sources(read_inputs([pile]), store, annotator=annotator, batch_size=2,
                                filing_batch=4, find_stories=True,
                                on_item=lambda item: stored.append(len(filed)))
    assert annotated == [2, 2, 2, 2, 1] and filed == [4, 4, 1]
    assert stored == [0, 0, 0, 0, 1, 1, 1, 1, 2]  # four stored, then filed; four more, ...
    assert len(set(report.stories.values())) == 3
    annotated.clear()
    stored.clear()
    with open_store(str(tmp_path / "unfiled.db")) as store:
        ingest_sources(read_inputs([pile]), store, annotator=annotator, batch_size=2,
                       filing_batch=4, on_item=lambda item: stored.append(len(annotated)))
    assert annotated == [2, 2, 2, 2, 1] and stored == [1, 1, 2, 2, 3, 3, 4, 4, 5]


def _stored(store: Any, title: str, text: str) -> Document:
    document = Document(origin=f"test:{title}", title=title, text=text,
                        content_hash=content_hash(text))
    document.id = store.add_document(document).id
    return document


def _file_as(assigner: StoryAssigner, reports: list[tuple[str, str]],
             stored_before: list[Document] | None = None) -> dict[str, int]:
    """Store and file ``reports`` (title, text) as one writer's batch, under its lock, with
    documents it stored earlier (``stored_before``) first."""
    with assigner.filing():
        batch = [*(stored_before or []), *(_stored(assigner.store, *r) for r in reports)]
        return assigner.file(batch)


def test_a_writer_takes_another_writers_filings_into_the_index_it_holds(db_url: str) -> None:
    # Two writers of one store take turns. Each turn after the other's reads the store again;
    # the index it holds takes the other's documents (building it again from the store cost
    # 3.4 s of CPU at 19,000 filed documents, after every batch of the other writer), also one
    # stored before its own and so numbered below them, and a later report of a story the
    # other writer started finds that story through it.
    ferry, museum, third = STORIES.values()
    with open_store(db_url) as one, open_store(db_url) as other:
        first, second = StoryAssigner(one), StoryAssigner(other)
        early = _stored(other, *third[0])  # stored, filed only later
        _file_as(first, [ferry[0], museum[0]])
        held = first.detector.index
        assert held is not None and held.newest > int((early.id or "")[1:])
        started = _file_as(second, [third[1], ferry[1]], stored_before=[early])
        later = _file_as(first, [third[2]])
        assert first.detector.index is held
        assert sorted(held.keys()) == sorted(first.detector.story_of)
        assert len(held) == 6
        assert set(later.values()) == {started[early.id or ""]}


def test_a_postgresql_stores_index_is_cached_per_server_and_database(
        tmp_path: Path, postgres_url: str, cache_home: Path) -> None:
    # An ingest's writer saves the index where the next writer on this machine reads it (the
    # session's cache folder, a folder per server and database) rather than building it again.
    _ingest(postgres_url, _pile(tmp_path / "pile.jsonl"))
    with open_store(postgres_url) as store:
        cached = store.client_cache(INDEX_CACHE)
        assert cached is not None and cached.is_file() and cached.is_relative_to(cache_home)
        assert cached.parent.name.endswith("-" + postgres_url.rsplit("/", 1)[1])
        index = StoryAssigner(store).detector.index
        assert index is not None and sorted(index.keys()) == list(range(1, 10))


def test_a_writer_holding_few_story_profiles_files_as_one_holding_them_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``PROFILES_KEPT`` the writer keeps only its window's stories' profiles and loads the
    others again when a document comes near them: the same stories, more loads."""
    from dataclasses import replace

    from storyline.story import detect

    small_window = replace(detect.DetectConfig.packaged(), window_documents=2)
    monkeypatch.setattr(detect.DetectConfig, "packaged", classmethod(lambda cls: small_window))
    inputs = [_pile(tmp_path / "pile.jsonl"), _write(tmp_path / "more.jsonl", [LATE_FERRY, MUSEUM])]
    loaded: list[int] = []
    load = StoryAssigner._profiles

    def counted(self: StoryAssigner, stories: Any) -> Any:
        found = load(self, stories)
        loaded.append(len(found))
        return found

    monkeypatch.setattr(StoryAssigner, "_profiles", counted)

    def stories_and_loads(name: str) -> tuple[list[list[str]], int]:
        loaded.clear()
        db = tmp_path / name
        with open_store(str(db)) as store:
            for path in inputs:
                report = ingest([path], store, annotate=False, find_stories=True,
                                settings=Settings(batch_size=2, filing_batch=2))
                assert report.ok, report.failed
        return sorted(_found(db).values()), sum(loaded)

    everything, loads_holding_all = stories_and_loads("all.db")
    monkeypatch.setattr(detect, "PROFILES_KEPT", 1)
    few, loads_holding_few = stories_and_loads("few.db")
    assert few == everything and len(everything) == 4
    assert loads_holding_few > loads_holding_all
