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

    python benchmarks/filing.py [DATA] --db URL --first K [--docs N] [--batches 200]

With ``--db`` the documents are filed into that store as it is (a PostgreSQL database filled by
``scale.py --fill``, say: the writer at a store's real size, its story profiles loaded from the
server), each batch stored first (``store_document``: the duplicate verdict and the document's
row, as an ingest's writer does under its detection lock), then filed; the CPU of storing and
of filing is printed per batch and for the batches after the first two (the first holds the
near-duplicate index's catching up). Storing here also makes each text's fingerprint (a
cluster's workers make it) and stores no annotations (none are made). The documents are the
synthetic ones numbered from K (``--first``): each run needs numbers no run before it used, or
it stores exact copies, which file nothing. Only the first size of ``--batches`` is used.
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


def corpus(data: Path, count: int, cache: Path | None, *, first: int = 0
           ) -> tuple[list[Document], list[Features]]:
    if cache is not None and cache.is_file():
        # The cache names the documents it holds (first number and count): checking it reads
        # no pools (the Timeline17 pools take seconds to read, again if the cache is stale).
        kept = pickle.loads(cache.read_bytes())
        if len(kept) == 3 and kept[0] == (first, count):
            return kept[1], kept[2]
    pools = load_pools(data)
    documents = []
    for number in range(first, first + count):
        record = synthesise(pools, number)
        document = Document(origin=record["url"], text=record["text"], title=record["title"],
                            outlet=record["outlet"], published=record["published"],
                            url=record["url"])
        document.content_hash = content_hash(document.text)
        documents.append(document)
    features = features_of(documents, config=DetectConfig.packaged())
    if cache is not None:
        cache.write_bytes(pickle.dumps(((first, count), documents, features)))
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


def file_into_store(url: str, documents: list[Document], features: list[Features], batch: int
                    ) -> None:
    """Store and file ``documents`` into the store at ``url`` in batches, as an ingest's one
    writer does; print the CPU a document of each batch's storing and filing."""
    with open_store(url) as store:
        began = time.process_time()
        assigner = StoryAssigner(store)
        print(f"{len(documents)} synthetic documents stored and filed into {store.count()} "
              f"(reading detection's state: {time.process_time() - began:.1f} s CPU); "
              f"CPU ms per document")
        costs: list[tuple[float, float]] = []
        for start in range(0, len(documents), batch):
            part = documents[start:start + batch]
            began = time.process_time()
            with assigner.filing():
                for document in part:
                    document.id = store_document(store, document).id
                stored = time.process_time()
                assigner.file(part, features[start:start + batch])
            costs.append(((stored - began) / len(part), (time.process_time() - stored) / len(part)))
            print(f"  batch {len(costs)}: storing {costs[-1][0] * 1000:5.1f}  filing "
                  f"{costs[-1][1] * 1000:5.1f}")
            sys.stdout.flush()
        assigner.save_index()
    late = costs[2:] or costs
    storing, filing = (sum(c[k] for c in late) / len(late) * 1000 for k in (0, 1))
    print(f"from batch 3: storing {storing:.1f} + filing {filing:.1f} = {storing + filing:.1f} "
          f"ms per document")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--docs", type=int, default=600, help="documents filed (default 600)")
    parser.add_argument("--batches", default=None,
                        help=f"batch sizes, the baseline first (default 50,{FILING_BATCH}; "
                             f"with --db one size, default {FILING_BATCH})")
    parser.add_argument("--cache", type=Path, default=None, help="keep the features here")
    parser.add_argument("--db", default=None,
                        help="file into this store as it is (SQLite path or PostgreSQL URL)")
    parser.add_argument("--first", type=int, default=0,
                        help="with --db: the synthetic documents' first number (unused before)")
    args = parser.parse_args()
    default = str(FILING_BATCH) if args.db else f"50,{FILING_BATCH}"
    sizes = [int(size) for size in (args.batches or default).split(",")]
    if args.db:
        documents, features = corpus(args.data, args.docs, args.cache, first=args.first)
        file_into_store(args.db, documents, features, sizes[0])
        return
    documents, features = corpus(args.data, args.docs, args.cache)
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
