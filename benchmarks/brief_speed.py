"""How fast a briefing comes: cold (a fresh process, as a user runs it) and warm (models loaded).

* cold: ``storyline brief SEEDS --format json`` in a new process, wall time (target <= 10 s);
* warm, stored story: a 10-article story already ingested (annotated, filed into a found story
  of a SQLite store), briefed again with the models loaded: the web app's case (target <= 1 s).
  The briefing starts with what filing kept (``pipeline.stories.briefing_vectors``): the
  opening vectors of story detection and the vectors of each document's summary candidates;
  the same documents briefed with nothing kept are timed beside it ("nothing kept");
* ingest and filing: what those kept vectors cost, once: the 10 articles read, annotated,
  stored and filed into stories (``ingest`` with ``find_stories``) in the warm process;
* warm, from text: the same 10 articles read, cleaned, annotated and briefed in a warm process;
* issues + perspectives: what that stage (``agenda.find_issues`` and ``perspectives``) adds to the
  warm stored briefing (target <= 0.5 s), timed on its own with the summary already made.

The 10-article story is the Multi-News development cluster with the most articles, topped up
from the next largest clusters' articles (it measures speed, not coherence).

    python benchmarks/brief_speed.py [DATA] [--seeds PATH] [--repeat 3] [--cpu] [--src DIR]

``--cpu``: the warm cases in CPU seconds of this process, the model on one thread, instead of
wall-clock seconds (cold stays wall-clock): on a machine loaded by other work, wall-clock time
mostly measures the load (the model's two threads wait on each other), CPU time what the
briefing costs. ``--src DIR``: time the ``storyline`` package of another checkout
(``DIR/src``) with this harness, so that two trees are compared by one harness.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# Read before the package is imported: which checkout's ``storyline`` is timed.
_TREE = Path(sys.argv[sys.argv.index("--src") + 1]) if "--src" in sys.argv[:-1] else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_TREE / "src"))

import tempfile  # noqa: E402

from storyline.annotate.annotator import annotate  # noqa: E402
from storyline.annotate.embeddings import SentenceVectors  # noqa: E402
from storyline.model import Document, Source  # noqa: E402
from storyline.pipeline.documents import extract_one  # noqa: E402
from storyline.pipeline.curation import merge  # noqa: E402
from storyline.pipeline.documents import ingest  # noqa: E402
from storyline.pipeline.stories import brief, briefing_vectors  # noqa: E402
from storyline.store import Store, open_store  # noqa: E402
from storyline.story.brief import brief_documents  # noqa: E402
from storyline.story.brief import _perspectives  # noqa: E402

from common import data_argument_parser  # noqa: E402

STORY_SIZE = 10
clock = time.perf_counter  # time.process_time with --cpu


def ten_articles(data: Path) -> list[str]:
    clusters = [json.loads(line) for line in (data / "mds" / "multinews_dev.jsonl").open()]
    clusters.sort(key=lambda c: -len(c["documents"]))
    texts = [t for c in clusters for t in c["documents"] if len(t.split()) > 150]
    return texts[:STORY_SIZE]


def read(texts: list[str]) -> list[Document]:
    documents = []
    for index, text in enumerate(texts, start=1):
        result = extract_one(Source(origin=f"a{index}", data=text, mode="text"))
        if isinstance(result, Document):
            result.id = f"S{len(documents) + 1}"
            documents.append(result)
    return documents


def stored_story(texts: list[str], folder: Path) -> tuple[Store, int]:
    """The articles ingested into a new SQLite store (annotated, filed by story detection),
    their found stories merged into one: (the open store, that story's id)."""
    for index, text in enumerate(texts, start=1):
        (folder / f"a{index}.txt").write_text(text, encoding="utf-8")
    store = open_store(str(folder / "speed.db"))
    ingest([str(folder)], store, mode="text", find_stories=True)
    found = sorted((s for s in store.stories() if s.kind == "found"), key=lambda s: -s.documents)
    for other in found[1:]:
        merge(store, found[0].id, other.id)
    return store, found[0].id


def stored_seconds(store: Store, story: int, *, kept: bool) -> float:
    """One briefing of the stored story made afresh (not the cached one), timed from reading
    its documents; ``kept``: starting with the vectors kept at filing, as the store path does."""
    start = clock()
    documents = store.story_documents(story, with_annotations=True)
    vectors = briefing_vectors(store, story, documents) if kept else SentenceVectors()
    brief_documents(documents, vectors=vectors)
    return clock() - start


def perspectives_seconds(documents: list[Document]) -> float:
    """The issues-and-perspectives stage alone, on a warm process (the summary it reuses is made
    first and not timed: the briefing makes it anyway, with the sentence vectors it shares)."""
    from storyline.story import agenda
    from storyline.story.summary import summarize

    originals = [d for d in documents if not d.duplicate_of]
    vectors = SentenceVectors()  # this briefing's: nothing remembered from an earlier one
    summary = summarize(originals, embedder=vectors)
    agenda._tokens.cache_clear()  # warm means models loaded, not this story's words remembered
    agenda.key_of.cache_clear()
    start = clock()
    found, passages = agenda.read_agenda(originals)
    _perspectives(originals, found, passages, summary, vectors)
    return clock() - start


def cold_seconds(seeds: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "storyline", "brief", str(seeds), "--format", "json",
                    "--quiet"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = data_argument_parser(__doc__ or "")
    parser.add_argument("--seeds", type=Path, default=None, help="default: DATA/../seeds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cpu", action="store_true", help="warm cases in CPU seconds, the model on one thread")
    parser.add_argument("--src", type=Path, default=None, help="time DIR/src's storyline (another checkout)")
    args = parser.parse_args()
    if args.cpu:
        import torch

        global clock
        torch.set_num_threads(1)
        clock = time.process_time
    print(f"timing {_TREE / 'src'}" + (" (warm cases: CPU seconds, one model thread)" if args.cpu else ""))
    seeds = args.seeds or args.data.parent / "seeds"
    texts = ten_articles(args.data)

    cold = [cold_seconds(seeds) for _ in range(args.repeat)]
    warm_up = read(texts)
    annotate(warm_up)
    # Models loaded and warm from here on; each briefing embeds its sentences anew (a briefing's
    # sentence vectors live only as long as it does), so warm never means answers remembered.
    brief(warm_up)
    folder = tempfile.TemporaryDirectory()
    start = clock()
    store, story = stored_story(texts, Path(folder.name))
    filing = clock() - start
    stored, unkept, from_text, stage = [], [], [], []
    for _ in range(args.repeat):
        stage.append(perspectives_seconds(warm_up))
        stored.append(stored_seconds(store, story, kept=True))
        unkept.append(stored_seconds(store, story, kept=False))
        start = clock()
        fresh = read(texts)
        annotate(fresh)
        brief(fresh)
        from_text.append(clock() - start)

    rows = [
        ("cold: storyline brief SEEDS (new process)", statistics.median(cold), 10.0),
        (f"warm: stored {len(warm_up)}-article story", statistics.median(stored), 1.0),
        ("  the same, nothing kept at filing", statistics.median(unkept), None),
        (f"warm: {len(warm_up)} articles from text", statistics.median(from_text), None),
        ("  of which issues + perspectives", statistics.median(stage), 0.5),
        (f"ingest + filing of the {len(warm_up)} articles (once)", filing, None),
    ]
    print(f"\n{'case':<46}{'seconds (median)':>18}{'target':>10}")
    print("-" * 74)
    for name, seconds, target in rows:
        print(f"{name:<46}{seconds:>18.2f}{(f'<= {target:g}' if target else ''):>10}")
    store.close()
    folder.cleanup()
    if args.json_out:
        args.json_out.write_text(json.dumps({name: s for name, s, _ in rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
