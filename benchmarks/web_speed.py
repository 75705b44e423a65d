"""How fast the web app answers: a stored story's briefing page, and sentence search on 10,000 articles.

* page, warm: ``GET /stories/ID`` of a stored 10-article story whose briefing is cached, in a
  running app (target <= 200 ms). Measured twice: in the app that made the briefing (its rendered
  page is memoised, the documents key is still checked on every request) and in a second app on
  the same database (a restarted server: the briefing comes from the ``briefings`` table, is
  validated and rendered);
* search: ``GET /api/search?q=`` over 10,000 stored articles (target <= 100 ms), for common and
  rare words, several words, a phrase and a search within one story.

The 10-article story is the Multi-News development cluster with the most articles, topped up from
the next largest (as in ``brief_speed.py``), ingested (cleaned, annotated, stored) into a temporary
database; or, when DATA_OR_DB is a database file, its largest story.

The 10,000 articles are synthetic but realistic: each is 12-40 sentences drawn at random (fixed
seed) from the sentences of real articles (Multi-News development set, the seeds and the example
corpus), split into paragraphs of three. Annotating 10,000 articles would take hours, and search
reads only the ``sentences_fts`` rows, so they are inserted directly: a document row per article,
its sentences through the store's own ``_index_sentences`` (the rows ``save_annotations``
writes), and the articles spread over 100 stories of 100. Requests go through the ASGI app in
process (Starlette's TestClient): the figures include routing, the store and JSON, not a network.

    python benchmarks/web_speed.py [DATA_OR_DB] [--articles 10000] [--repeat 20]
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from starlette.testclient import TestClient

from storyline.model import Annotations, Sentence
from storyline.pipeline.documents import ingest
from storyline.store.sqlite import SQLiteStore, _index_sentences
from storyline.web import create_app

from common import DEFAULT_DATA

LOCAL = "http://localhost"  # a Host the app answers to (its allow-list: loopback names)

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
EXAMPLES = REPO / "examples" / "corpus"
STORY_SIZE = 10
PAGE_TARGET_MS, SEARCH_TARGET_MS = 200.0, 100.0
STORIES = 100
SENTENCES_PER_ARTICLE = (12, 40)
# A sentence ends at . ! or ? (a closing quote may follow) before a capital: good enough to
# draw realistic sentences from, without the cost of a parse.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"”’)]))\s+(?=[\"“‘(]?[A-Z0-9])")


# --------------------------------------------------------------------------- the story page


def ten_articles(data: Path) -> list[str]:
    clusters = [json.loads(line) for line in (data / "mds" / "multinews_dev.jsonl").open()]
    clusters.sort(key=lambda c: -len(c["documents"]))
    texts = [t for c in clusters for t in c["documents"] if len(t.split()) > 150]
    return texts[:STORY_SIZE]


def stored_story(data_or_db: Path, folder: Path) -> tuple[Path, int]:
    """A database and the id of a stored story to show."""
    if data_or_db.is_file():
        with SQLiteStore(data_or_db) as store:
            stories = sorted(store.stories(), key=lambda s: -s.documents)
        if not stories:
            raise SystemExit(f"{data_or_db} holds no story: use `storyline ingest --story NAME`")
        return data_or_db, stories[0].id
    inputs = folder / "story"
    inputs.mkdir()
    for number, text in enumerate(ten_articles(data_or_db), start=1):
        (inputs / f"article-{number:02d}.txt").write_text(text, encoding="utf-8")
    db = folder / "story.db"
    with SQLiteStore(db) as store:
        report = ingest([str(inputs)], store)
        story = store.create_story("benchmark story")
        store.add_to_story(story.id, report.new + report.duplicates + report.already_stored)
    return db, story.id


def timed_ms(call: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def page_figures(db: Path, story: int, repeat: int) -> dict[str, dict[str, float]]:
    path = f"/stories/{story}"
    with TestClient(create_app(str(db)), base_url=LOCAL) as client:
        start = time.perf_counter()
        assert client.get(path).status_code == 200
        first = (time.perf_counter() - start) * 1000
        warm = timed_ms(lambda: client.get(path), repeat)
    with TestClient(create_app(str(db)), base_url=LOCAL) as restarted:
        reload = timed_ms(lambda: restarted.get(path), 1)
        warm_restarted = timed_ms(lambda: restarted.get(path), repeat)
    return {
        "first view (briefing made unless cached)": {"ms": first},
        "warm, same app": summary(warm),
        "first view after a restart (from the table)": {"ms": reload[0]},
        "warm, restarted app": summary(warm_restarted),
    }


# --------------------------------------------------------------------------- search


def sentence_pool(data: Path | None) -> list[str]:
    texts: list[str] = []
    if data is not None and (data / "mds" / "multinews_dev.jsonl").exists():
        for line in (data / "mds" / "multinews_dev.jsonl").open():
            texts += json.loads(line)["documents"]
    for folder in (SEEDS, EXAMPLES):
        if folder.is_dir():
            texts += [p.read_text("utf-8", errors="replace") for p in sorted(folder.glob("*.txt"))]
    sentences = [s.strip() for text in texts for s in _SENTENCE_END.split(" ".join(text.split()))]
    return [s for s in sentences if 6 <= len(s.split()) <= 60]


def synthetic_articles(pool: list[str], count: int, rng: random.Random) -> list[list[str]]:
    return [rng.sample(pool, rng.randint(*SENTENCES_PER_ARTICLE)) for _ in range(count)]


def fill_search_db(db: Path, articles: list[list[str]]) -> None:
    with SQLiteStore(db) as store:
        conn = store._conn  # one transaction for all: the benchmark measures reading, not writing
        conn.execute("BEGIN IMMEDIATE")
        for story in range(1, STORIES + 1):
            conn.execute("INSERT INTO stories (name, created_at, updated_at) VALUES (?, '', '')",
                         (f"synthetic story {story}",))
        for index, sentences in enumerate(articles):
            text, spans = layout(sentences)
            seq = conn.execute(
                "INSERT INTO documents (origin, text, words, content_hash, created_at) VALUES (?, ?, ?, ?, '')",
                (f"synthetic-{index}", text, len(text.split()), hashlib.sha256(text.encode()).hexdigest()),
            ).lastrowid
            assert seq is not None
            conn.execute("INSERT INTO story_documents (story, document, added_at) VALUES (?, ?, '')",
                         (index % STORIES + 1, seq))
            _index_sentences(conn, seq, Annotations(sentences=spans))
        conn.execute("COMMIT")


def layout(sentences: list[str]) -> tuple[str, list[Sentence]]:
    """Sentences as paragraphs of three, with each sentence's offsets."""
    text, spans = "", []
    for number, sentence in enumerate(sentences):
        if number:
            text += "\n\n" if number % 3 == 0 else " "
        spans.append(Sentence(len(text), len(text) + len(sentence), sentence))
        text += sentence
    return text, spans


def queries(pool: list[str], rng: random.Random) -> list[tuple[str, dict[str, str]]]:
    """Common words, rare words, two words, a phrase, one story: as a reader would search."""
    words = [w.lower() for s in pool for w in re.findall(r"[A-Za-z]{4,}", s)]
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda w: -counts[w])
    common = [w for w in ranked[:200] if len(w) > 5][:5]
    rare = rng.sample([w for w in ranked if counts[w] == 2], 5)
    phrase = " ".join(rng.choice(pool).split()[2:5])
    out = [(f"common: {w}", {"q": w}) for w in common]
    out += [(f"rare: {w}", {"q": w}) for w in rare]
    out += [(f"two words: {common[0]} {common[1]}", {"q": f"{common[0]} {common[1]}"})]
    out += [(f'phrase: "{phrase}"', {"q": f'"{phrase}"'})]
    out += [(f"in one story: {common[0]}", {"q": common[0], "story": "7"})]
    return out


def search_figures(data: Path | None, count: int, repeat: int, folder: Path) -> dict[str, dict[str, float]]:
    rng = random.Random(20260611)
    pool = sentence_pool(data)
    db = folder / "search.db"
    start = time.perf_counter()
    fill_search_db(db, synthetic_articles(pool, count, rng))
    print(f"search database: {count} articles from {len(pool)} distinct sentences, "
          f"built in {time.perf_counter() - start:.1f} s")
    results: dict[str, dict[str, float]] = {}
    with TestClient(create_app(str(db)), base_url=LOCAL) as client:
        for name, params in queries(pool, rng):
            answer = client.get("/api/search", params=params)  # first run: the pages come into cache
            assert answer.status_code == 200, answer.text
            def search(query: dict[str, str] = params) -> object:
                return client.get("/api/search", params=query)

            results[name] = {**summary(timed_ms(search, repeat)), "hits": float(len(answer.json()))}
    return results


# --------------------------------------------------------------------------- report


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"ms": statistics.median(ordered), "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
            "max": ordered[-1]}


def print_rows(title: str, rows: dict[str, dict[str, float]], target: float) -> list[str]:
    print(f"\n{title} (target <= {target:g} ms)")
    header = f"{'case':<52}{'median ms':>11}{'p95 ms':>9}{'max ms':>9}{'hits':>7}"
    print(header)
    print("-" * len(header))
    over = []
    for name, figures in rows.items():
        cells = "".join(f"{figures[k]:>{w}.1f}" if k in figures else " " * w
                        for k, w in (("ms", 11), ("p95", 9), ("max", 9)))
        hits = f"{int(figures['hits']):>7}" if "hits" in figures else ""
        print(f"{name[:51]:<52}{cells}{hits}")
        if not name.startswith("first view (") and figures["ms"] > target:
            over.append(f"{name}: {figures['ms']:.1f} ms > {target:g} ms")
    return over


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("data_or_db", nargs="?", type=Path, default=DEFAULT_DATA,
                        help=f"eval-data folder (default {DEFAULT_DATA}) or a database with a story")
    parser.add_argument("--articles", type=int, default=10_000, help="articles in the search database")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per case")
    parser.add_argument("--json", dest="json_out", type=Path, default=None)
    args = parser.parse_args()
    data = None if args.data_or_db.is_file() else args.data_or_db
    with tempfile.TemporaryDirectory(prefix="storyline-web-speed-") as temp:
        folder = Path(temp)
        db, story = stored_story(args.data_or_db, folder)
        pages = page_figures(db, story, args.repeat)
        search = search_figures(data, args.articles, args.repeat, folder)
    over = print_rows(f"briefing page of a stored {STORY_SIZE}-article story", pages, PAGE_TARGET_MS)
    over += print_rows(f"GET /api/search on {args.articles:,} articles", search, SEARCH_TARGET_MS)
    print("\nall within target" if not over else "\nover target:\n  " + "\n  ".join(over))
    if args.json_out:
        args.json_out.write_text(json.dumps({"page": pages, "search": search}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
