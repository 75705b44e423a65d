"""Four ``storyline ingest`` processes write one PostgreSQL database at once, with overlapping
inputs (the same files in several processes, and near copies of each other's articles): no
document is lost or stored twice, ids have no gap, every document sits in exactly one found
story, none in a story merged away, and every near copy in its original's story.

Without the store's detection lock (``StoryAssigner.filing``) this fails: measured on this
machine, the four runs then made 11 stories of the five subjects and put 158 of 293 near
copies into a story other than their original's; with it, 4 stories and none astray."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from pile_texts import STORIES, WATER

from storyline.pipeline.documents import extract_one
from storyline.model import Document, Source
from storyline.store import open_store
from tests.conftest import sql_rows

PROCESSES = 4
# Each article and near copies of it (a sentence of its own added): enough documents that the
# four runs overlap whatever their start-up times.
VARIANTS = 24


def write_inputs(folder: Path) -> list[Path]:
    """Every article of the invented piles, and its near copies, one file each."""
    articles = [article for story in STORIES.values() for article in story] + list(WATER)
    files = []
    for number, (title, text) in enumerate(articles):
        for variant in range(VARIANTS):
            extra = (f" Local radio in the region repeated the news in bulletin {variant}"
                     " that evening.") if variant else ""
            path = folder / f"a{number:02d}-v{variant:02d}.txt"
            path.write_text(f"{title}\n\n{text}{extra}\n", encoding="utf-8")
            files.append(path)
    return files


def share_of(files: list[Path], process: int) -> list[Path]:
    """Half the versions of every article (those whose number modulo 4 is ``process``'s or the
    next one's), in reverse order for every other process: each file is read by two processes,
    and an article's near copies by processes other than the one storing its original, at the
    same time."""
    mine = [path for path in files if int(path.stem.rsplit("-v", 1)[1]) % PROCESSES
            in {process, (process + 1) % PROCESSES}]
    return mine[::-1] if process % 2 else mine


def content_hashes(files: list[Path]) -> set[str]:
    hashes = set()
    for path in files:
        document = extract_one(Source(origin=str(path), data=path.read_bytes()))
        assert isinstance(document, Document), document
        hashes.add(document.content_hash or "")
    return hashes


def test_four_ingests_at_once_lose_nothing_double_nothing_and_file_everything_once(
        tmp_path: Path, postgres_url: str) -> None:
    files = write_inputs(tmp_path)
    environment = {**os.environ, "STORYLINE_WORKERS": "1"}
    runs = [subprocess.Popen([sys.executable, "-m", "storyline", "ingest", "--no-annotate",
                              "--quiet", "--db", postgres_url, *map(str, share_of(files, n))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=environment)
            for n in range(PROCESSES)]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err

    expected = content_hashes(files)
    with open_store(postgres_url) as store:
        documents = list(store.iter_documents())
        found = store.found_story_of()
        live = {story.id for story in store.stories()}
    stored = Counter(d.content_hash for d in documents)
    assert set(stored) == expected  # nothing lost
    assert max(stored.values()) == 1  # nothing stored twice
    assert [d.id for d in documents] == [f"S{n}" for n in range(1, len(documents) + 1)]
    # Each file's origin is kept: as a document's own origin or in its also_at.
    origins = {d.origin for d in documents} | {o for d in documents for o in d.also_at}
    assert origins == {str(path) for path in files}

    filings = sql_rows(postgres_url, "SELECT sd.document, s.id, s.merged_into FROM story_documents sd"
                                     " JOIN stories s ON s.id = sd.story WHERE s.kind = 'found'")
    per_document = Counter(document for document, _, _ in filings)
    assert set(per_document) == {int(d.id[1:]) for d in documents if d.id}  # every one filed
    assert max(per_document.values()) == 1  # in exactly one found story
    assert all(merged is None for _, _, merged in filings)  # none in a story merged away
    assert set(found.values()) <= live and set(found) == {d.id for d in documents}
    # Stories consistent: each near copy sits in its original's story (writers filing on a
    # store they read before the others changed it put copies into stories of their own), and
    # the texts' five subjects (three stories, the water main, the wedding) make at most five
    # stories, as one writer alone makes them.
    story_of = {d.id: found[d.id or ""] for d in documents}
    strays = [d.id for d in documents if d.duplicate_of and story_of[d.id] != story_of[d.duplicate_of]]
    assert strays == []
    assert len(set(found.values())) <= len(STORIES) + 2

