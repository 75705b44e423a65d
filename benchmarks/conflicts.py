"""Conflicts on real coverage (Multi-News dev clusters): how many the perspectives stage flags,
and whether the agreed/disputed invariant holds, for a hand check of a sample.

Each cluster's raw articles are cleaned with Storyline's text cleaner and annotated in full
(``storyline.annotate.annotator.annotate``); its issues are the ones the agenda finds, and the
perspectives stage runs as in a briefing (without the summary's citations). There is no gold
standard of contradictions in Multi-News, so the figure is a count, and ``--sample N`` prints N
flagged conflicts chosen by a stable hash for reading by hand (precision = real ones / N).

The baseline is the same harness over an earlier source tree (``PYTHONPATH=BASE/src``): the
conflicts of two versions cannot be computed in one process, since both are ``storyline``.
Annotations are cached under ``--cache`` by text hash so the two runs read the same parses (the
parse does not depend on the conflict rules); ``--fresh`` annotates again.

``--ecbplus`` reads the ECB+ stories of the train and dev splits instead (each a gold story:
one seminal event told by several outlets), a second sample of real coverage.

Usage: python benchmarks/conflicts.py [DATA] [--limit N] [--json FILE] [--sample N] [--cache DIR]
                                     [--fresh] [--ecbplus]
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from storyline.model import Document  # noqa: E402

from common import data_argument_parser  # noqa: E402

DATA_FILE = Path("mds") / "multinews_dev.jsonl"
ECBPLUS_FILE = Path("clustering") / "ecbplus" / "ecbplus_docs.jsonl"
DEFAULT_CACHE = Path("/tmp/storyline-conflicts-cache")


def load_clusters(data: Path, limit: int | None) -> list[dict[str, Any]]:
    path = data if data.is_file() else data / DATA_FILE
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return rows[:limit]


def load_ecbplus(data: Path, limit: int | None) -> list[dict[str, Any]]:
    """ECB+ stories (gold subtopics: one seminal event, several outlets) of the train and dev
    splits (the test split is kept apart), in the shape of a Multi-News cluster."""
    path = data / ECBPLUS_FILE
    stories: dict[str, list[str]] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["split"] in ("train", "dev"):
                stories.setdefault(row["subtopic"], []).append("\n".join(row["sentences"]))
    clusters = [{"id": f"ecbplus-{name}", "documents": texts} for name, texts in sorted(stories.items())]
    return clusters[:limit]


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def documents_of(cluster: dict[str, Any], cache: Path, fresh: bool) -> list[Document]:
    """The cluster's cleaned, annotated articles, S1, S2, ... (annotations cached by text)."""
    from storyline.annotate.annotator import annotate
    from storyline.read.textclean import clean_text

    documents = []
    for raw in cluster["documents"]:
        text = clean_text(raw).text
        if text.strip():
            documents.append(Document(origin=cluster["id"], text=text, id=f"S{len(documents) + 1}"))
    missing = []
    for document in documents:
        path = cache / f"{_hash(document.text)}.pickle"
        if path.exists() and not fresh:
            document.annotations = pickle.loads(path.read_bytes())
        else:
            missing.append(document)
    if missing:
        annotate(missing)
        cache.mkdir(parents=True, exist_ok=True)
        for document in missing:
            (cache / f"{_hash(document.text)}.pickle").write_bytes(pickle.dumps(document.annotations))
    return documents


class CountingEmbedder:
    """``embed``, counting the model calls and the texts embedded (the stage's cost)."""

    def __init__(self) -> None:
        self.calls = 0
        self.texts = 0

    def __call__(self, texts: Any) -> Any:
        from storyline.annotate.embeddings import embed

        self.calls += 1
        self.texts += len(texts)
        return embed(texts)


def cluster_conflicts(cluster: dict[str, Any], cache: Path, fresh: bool,
                      embedder: CountingEmbedder) -> dict[str, Any]:
    from storyline.annotate.embeddings import SentenceVectors
    from storyline.story.agenda import read_agenda
    from storyline.story.perspectives import perspectives

    documents = documents_of(cluster, cache, fresh)
    issues, passages = read_agenda(documents)
    views = perspectives(documents, issues, (), passages, SentenceVectors(embedder=embedder))
    conflicts = [{"kind": c.kind, "topic": c.topic,
                  "sides": [{"text": s.text, "sources": sorted({x.source for x in s.citations})}
                            for s in c.sides]} for c in views.conflicts]
    return {"id": cluster["id"], "conflicts": conflicts, "broken": _broken(views)}


def _broken(views: Any) -> int:
    """Agreed entries that cite a sentence some conflict disputes (the invariant says none)."""
    disputed = {(c.source, c.start) for conflict in views.conflicts for side in conflict.sides
                for c in side.citations}
    return sum(1 for item in views.issues for entry in item.agreed
               if any((c.source, c.start) in disputed for c in entry.citations))


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="annotation cache folder")
    parser.add_argument("--fresh", action="store_true", help="annotate again, ignoring the cache")
    parser.add_argument("--sample", type=int, default=20, help="flagged conflicts to print for a hand check")
    parser.add_argument("--ecbplus", action="store_true",
                        help="ECB+ train and dev stories (one event, several outlets) instead of Multi-News")
    args = parser.parse_args()
    embedder = CountingEmbedder()
    clusters = load_ecbplus(args.data, args.limit) if args.ecbplus else load_clusters(args.data, args.limit)
    rows = [cluster_conflicts(c, args.cache, args.fresh, embedder) for c in clusters]
    flagged = [(row["id"], c) for row in rows for c in row["conflicts"]]
    by_kind: dict[str, int] = {}
    for _, conflict in flagged:
        by_kind[conflict["kind"]] = by_kind.get(conflict["kind"], 0) + 1
    broken = sum(row["broken"] for row in rows)
    print(f"clusters {len(rows)}  conflicts {len(flagged)}  by kind {by_kind}  "
          f"agreed yet disputed {broken}  embedded {embedder.texts} texts in {embedder.calls} calls")
    sample = sorted(flagged, key=lambda x: _hash(x[0] + x[1]["topic"]))[:args.sample]
    for number, (cluster, conflict) in enumerate(sample, start=1):
        print(f"\n[{number}] {cluster} {conflict['kind']}: {conflict['topic']}")
        for side in conflict["sides"]:
            print(f"  {','.join(side['sources'])}: {side['text'][:300]}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"clusters": len(rows), "conflicts": len(flagged),
                                             "by_kind": by_kind, "agreed_yet_disputed": broken,
                                             "rows": rows}, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
