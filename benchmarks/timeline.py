"""Timeline summarisation benchmark (Timeline17 dev half): ours beside the README's two baselines.

Protocol (``tls/README.md``, the T17 setting of Gholipour Ghalandari & Ifrim 2020): for each
reference timeline, T = its number of dates, K = round(mean sentences per date), the window its
first to its last date; the input is the folder's non-empty articles published inside the
window, detokenised (NLTK's Treebank detokenizer after ``-LRB-`` -> ``(``), one sentence a line.
Only the first T dates and the first K sentences of each count.

Systems, all in one run on the same articles:

* ``storyline timeline``: ``storyline.pipeline.timelines.timeline_documents`` on the window's
  documents (read from the JSONL file the scorer would write, through the product's reader,
  cleaner and annotator; annotations cached on disk by text, ``--cache``), with the constants
  of ``data/timeline.json``;
* ``first-sentence`` and ``mention-count``: ``timeline_baselines.py``.

Metrics (``timeline_metrics.py``, our code after the README and tilse): AR-1 / AR-2 (alignment
ROUGE F1, many-to-one), concat R-1 / R-2, date F1, averaged over the 11 timelines as news-tls
does (mean P and mean R, then F1).

Learned and tuned constants: ``--cv`` runs leave-one-topic-out over the 4 dev topics: for each
topic the date ranker's weights are learned on the other three (``timeline_dates.py``) and the
sentence rules chosen on them (a small grid judged by AR-2, ``timeline_tuning.py``), and that
topic's timelines are scored with them; it prints the cross-validated figures beside the
in-sample ones (packaged constants) and what each fold chose.

Gate (``--gate``, implies ``--cv``): exit 1 when a figure is under ``floors.json``'s
``timeline`` floors: ours in-sample and leave-one-topic-out, the cross-validated date F1's margin
over the best baseline's and the cross-validated AR-2 over the best baseline's.

Usage: python benchmarks/timeline.py [DATA] [--limit N] [--cv] [--gate] [--json FILE] [--cache DIR]
``--limit N`` keeps the first N timelines (and their folders only).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import below_floors, data_argument_parser, finish, load_floors, print_table  # noqa: E402
from timeline_baselines import Article, first_sentence, mention_count  # noqa: E402
from timeline_metrics import METRICS, PR, Timeline, average, score  # noqa: E402

FOLDER = Path("tls") / "timeline17"
DEFAULT_CACHE = Path("/tmp/storyline-timeline-cache")
OURS = "storyline timeline"
CROSS_VALIDATED = "storyline timeline, leave-one-topic-out"
BASELINES = ("first-sentence", "mention-count")
BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}


@dataclass
class Task:
    """One reference timeline and what the protocol derives from it."""

    folder: str
    topic: str
    name: str
    reference: Timeline
    articles: list[Article]
    start: date
    end: date
    dates: int
    sentences: int


def detokenise(line: str) -> str:
    from nltk.tokenize.treebank import TreebankWordDetokenizer  # type: ignore[import-untyped]

    tokens = [BRACKETS.get(token, token) for token in line.split()]
    return str(TreebankWordDetokenizer().detokenize(tokens))


def load_tasks(data: Path, limit: int | None) -> list[Task]:
    root = data / FOLDER if (data / FOLDER).is_dir() else data
    tasks: list[Task] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        lines = (folder / "timelines.jsonl").read_text("utf-8").splitlines()
        articles = _articles(folder)
        for number, line in enumerate(lines, start=1):
            pairs = json.loads(line)
            reference = [(date.fromisoformat(d), [detokenise(s) for s in sents]) for d, sents in pairs]
            start, end = reference[0][0], reference[-1][0]
            total = sum(len(s) for _, s in reference)
            tasks.append(Task(
                folder=folder.name, topic=folder.name.split("_")[0],
                name=f"{folder.name}#{number}", reference=reference,
                articles=[a for a in articles if start <= a.published <= end],
                start=start, end=end, dates=len(reference),
                sentences=max(1, round(total / len(reference)))))
    return tasks[:limit]


def _articles(folder: Path) -> list[Article]:
    out = []
    with gzip.open(folder / "articles.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            sentences = [detokenise(s) for s in record["text"].split(" \n") if s.strip()]
            if sentences:
                out.append(Article(str(record["id"]), date.fromisoformat(record["time"]), sentences))
    return out


def truncated(timeline: Timeline, dates: int, sentences: int) -> Timeline:
    """The scorer's cut: the first T distinct dates, the first K sentences of each."""
    out: Timeline = []
    seen: set[date] = set()
    for day, sents in timeline:
        if day in seen or len(out) >= dates:
            continue
        seen.add(day)
        out.append((day, list(sents)[:sentences]))
    return out


# --- ours -------------------------------------------------------------------------------------

def task_jsonl(task: Task, path: Path) -> None:
    """The file the scorer writes: one article a line, text one sentence a line."""
    with path.open("w", encoding="utf-8") as handle:
        for article in task.articles:
            handle.write(json.dumps({"id": article.id, "published": article.published.isoformat(),
                                     "text": "\n".join(article.sentences)}, ensure_ascii=False) + "\n")


class AnnotationCache:
    """Documents read and annotated once per article text (on disk, keyed by its hash)."""

    def __init__(self, root: Path) -> None:
        self.root = root / _annotator_version()
        self.root.mkdir(parents=True, exist_ok=True)

    def documents(self, task: Task) -> list[Any]:
        from storyline.model import Annotations, Document
        from storyline.pipeline.documents import extract
        from storyline.pipeline.timelines import annotated_for_timeline

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "input.jsonl"
            task_jsonl(task, path)
            documents = [d for d in extract([str(path)]) if isinstance(d, Document)]
        missing = []
        for document in documents:
            cached = self._path(document)
            if cached.exists():
                document.annotations = Annotations.from_dict(json.loads(cached.read_text("utf-8")))
            else:
                missing.append(document)
        if missing:
            annotated_for_timeline(missing)
            for document in missing:
                assert document.annotations is not None
                self._path(document).write_text(json.dumps(document.annotations.to_dict()), "utf-8")
        return documents

    def _path(self, document: Any) -> Path:
        key = hashlib.sha1(f"{document.published}\n{document.text}".encode()).hexdigest()
        return self.root / f"{key}.json"


def _annotator_version() -> str:
    """A hash of the annotate stage's code and vocabularies: a change there starts a new cache
    (the key dates' own constants, ``timeline.json``, are not the annotator's)."""
    import storyline

    package = Path(storyline.__file__).parent
    digest = hashlib.sha1()
    data = [p for p in (package / "data").glob("*.json") if p.name != "timeline.json"]
    for path in sorted([*(package / "annotate").glob("*.py"), *data]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def ours(task: Task, documents: list[Any], constants: Any = None, vectors: Any = None) -> Timeline:
    from storyline.pipeline.timelines import timeline_documents

    result = timeline_documents(documents, dates=task.dates, sentences=task.sentences,
                                start=task.start.isoformat(), end=task.end.isoformat(),
                                constants=constants, embedder=vectors)
    return [(date.fromisoformat(entry.date), [s.text for s in entry.sentences])
            for entry in result.timeline]


# --- running and reporting -------------------------------------------------------------------

System = Callable[[Task], Timeline]


def evaluate(tasks: Sequence[Task], system: System) -> tuple[dict[str, float], list[dict[str, PR]]]:
    per_task = []
    for task in tasks:
        timeline = truncated(system(task), task.dates, task.sentences)
        per_task.append(score(timeline, task.reference))
    return average(per_task), per_task


def words_per_date(tasks: Sequence[Task], system: System) -> float:
    counts = [len(" ".join(s).split()) for task in tasks for _, s in truncated(system(task), task.dates, task.sentences)]
    return sum(counts) / len(counts) if counts else 0.0


def check_floors(results: dict[str, Any]) -> list[str]:
    """Figures under the ``timeline`` floors of ``floors.json`` (margins against the best
    baseline of the same run, cross-validated)."""
    ours_cv = results.get("cross-validated", {}).get("figures", {})
    best = {m: max(results[b][m] for b in BASELINES) for m in ("date F1", "AR-2")}
    figures = {
        OURS: results.get(OURS, {}),
        CROSS_VALIDATED: ours_cv,
        "over best baseline, cross-validated": {
            "date F1 margin": ours_cv.get("date F1", 0.0) - best["date F1"],
            "AR-2 ratio": ours_cv.get("AR-2", 0.0) / best["AR-2"] if best["AR-2"] else 0.0,
        },
    }
    return below_floors(figures, load_floors("timeline"))


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--cv", action="store_true", help="leave-one-topic-out figures for the tuned constants")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="annotation cache folder")
    parser.add_argument("--baselines-only", action="store_true", help="score the baselines only")
    parser.add_argument("--gate", action="store_true", help="exit 1 under floors.json (runs --cv)")
    args = parser.parse_args()
    args.cv = args.cv or args.gate
    tasks = load_tasks(args.data, args.limit)
    print(f"{len(tasks)} timelines, {len({t.folder for t in tasks})} folders, "
          f"{sum(len(t.articles) for t in tasks)} window articles")
    results: dict[str, Any] = {}
    rows = []
    if not args.baselines_only:
        cache = AnnotationCache(args.cache)
        started = time.perf_counter()
        documents = {task.name: cache.documents(task) for task in tasks}
        print(f"read and annotated in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        from storyline.annotate.embeddings import SentenceVectors

        vectors = SentenceVectors(limit=1_000_000)  # shared: each sentence embedded once a run
        made = {task.name: ours(task, documents[task.name], None, vectors) for task in tasks}
        print(f"timelines made in {time.perf_counter() - started:.1f} s")
        figures, per_task = evaluate(tasks, lambda t: made[t.name])
        figures["words/date"] = words_per_date(tasks, lambda t: made[t.name])
        rows.append((OURS, figures))
        results[OURS] = figures
        for task, scores in zip(tasks, per_task):
            print(f"  {task.name:<26} T={task.dates:<4} K={task.sentences} "
                  + " ".join(f"{m}={scores[m].f1:.3f}" for m in METRICS))
    baselines: dict[str, System] = {
        "first-sentence": lambda t: first_sentence(t.articles, t.dates, t.sentences),
        "mention-count": lambda t: mention_count(t.articles, t.dates, t.sentences, t.start, t.end),
    }
    for name, system in baselines.items():
        made_b = {task.name: system(task) for task in tasks}
        figures, _ = evaluate(tasks, lambda t: made_b[t.name])
        figures["words/date"] = words_per_date(tasks, lambda t: made_b[t.name])
        rows.append((name, figures))
        results[name] = figures
    print_table("Timeline17 dev, in-sample constants (mean P, mean R over timelines, then F1)",
                rows, [*METRICS, "words/date"])
    if args.cv and not args.baselines_only:
        from timeline_tuning import leave_one_topic_out

        cv = leave_one_topic_out(tasks, documents, lambda t, c: ours(t, documents[t.name], c, vectors),
                                 truncated)
        results["cross-validated"] = cv
    gate = check_floors(results) if args.gate and not args.baselines_only else None
    return finish(results, args.json_out, gate)


if __name__ == "__main__":
    raise SystemExit(main())
