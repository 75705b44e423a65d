"""The one writer's story filing alone, as the store grows: CPU per document, by hundreds.

    python benchmarks/filing.py [DATA] [--docs N] [--batches 50,200] [--cache FILE]

An ingest's writer files each batch of stored documents into found stories
(``StoryAssigner.file``: candidates from the nearest-neighbour index, the window of recent
documents clustered again, the merge pass, storylines, the store transaction). A cluster's
workers make the documents' features, so this is the share no number of workers shortens.

N synthetic documents are made as ``benchmarks/scale.py`` makes them (Timeline17 pools in
DATA, seeded), stored in a fresh SQLite database, their features made beforehand (``--cache``
keeps them between runs); then they are filed in batches of each size of ``--batches`` (a fresh
database each), and the CPU time of filing (this process, ``time.process_time``) is printed
per document for each hundred, with the stories found at the end. The window of recent
documents (400 in ``data/stories.json``) fills at the 400th document: the hundreds after it
are the steady cost of a long ingest. The first size given is the baseline (50: the writer's
batch before ``Settings.filing_batch`` became 200; 16, the annotation batch, was the one before
that); run the same command
with another checkout's sources first on ``PYTHONPATH`` to compare code.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import tempfile
import time
from pathlib import Path

from common import DEFAULT_DATA
from scale import load_pools, synthesise
from storyline.context import FILING_BATCH
from storyline.model import Document
from storyline.pipeline.assign import StoryAssigner
from storyline.pipeline.duplicates import store_document
from storyline.store import open_store
from storyline.story.dedupe import content_hash
from storyline.story.detect import DetectConfig, Features, features_of


def corpus(data: Path, count: int, cache: Path | None) -> tuple[list[Document], list[Features]]:
    if cache is not None and cache.is_file():
        documents, features = pickle.loads(cache.read_bytes())
        if len(documents) == count:
            return documents, features
    pools = load_pools(data)
    documents = []
    for number in range(count):
        record = synthesise(pools, number)
        document = Document(origin=record["url"], text=record["text"], title=record["title"],
                            outlet=record["outlet"], published=record["published"],
                            url=record["url"])
        document.content_hash = content_hash(document.text)
        documents.append(document)
    features = features_of(documents, config=DetectConfig.packaged())
    if cache is not None:
        cache.write_bytes(pickle.dumps((documents, features)))
    return documents, features


def file_in_batches(documents: list[Document], features: list[Features], batch: int
                    ) -> tuple[list[float], int]:
    """CPU seconds of filing each document (its batch's share), and the stories found."""
    with tempfile.TemporaryDirectory(prefix="storyline-filing-") as folder:
        with open_store(str(Path(folder) / "filing.db")) as store:
            for document in documents:
                document.id = store_document(store, document).id
            assigner = StoryAssigner(store)
            cost: list[float] = []
            stories: dict[str, int] = {}
            for start in range(0, len(documents), batch):
                part = documents[start:start + batch]
                began = time.process_time()
                with assigner.filing():
                    stories.update(assigner.file(part, features[start:start + batch]))
                cost += [(time.process_time() - began) / len(part)] * len(part)
            assigner.save_index()
            return cost, len(set(stories.values()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--docs", type=int, default=600, help="documents filed (default 600)")
    parser.add_argument("--batches", default=f"50,{FILING_BATCH}",
                        help=f"batch sizes, the baseline first (default 50,{FILING_BATCH})")
    parser.add_argument("--cache", type=Path, default=None, help="keep the features here")
    args = parser.parse_args()
    documents, features = corpus(args.data, args.docs, args.cache)
    sizes = [int(size) for size in args.batches.split(",")]
    print(f"{args.docs} synthetic documents filed on SQLite; CPU ms per document of filing")
    hundreds = range(0, args.docs, 100)
    print(f"{'batch':>6} " + " ".join(f"{f'{h}-{h + 99}':>9}" for h in hundreds)
          + f" {'from 400':>9} {'stories':>8}")
    for size in sizes:
        cost, stories = file_in_batches(documents, features, size)
        parts = [sum(cost[h:h + 100]) / len(cost[h:h + 100]) * 1000 for h in hundreds]
        late = cost[400:]
        steady = f"{sum(late) / len(late) * 1000:9.1f}" if late else f"{'-':>9}"
        print(f"{size:>6} " + " ".join(f"{part:9.1f}" for part in parts)
              + f" {steady} {stories:>8}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
