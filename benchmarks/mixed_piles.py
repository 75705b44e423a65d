"""Mixed piles: `storyline brief` on inputs that hold several unrelated stories (issue 12).

A pile is three or four unrelated true stories of three or more documents each, shuffled
together; the first story has one document more than any other, so the *main true story* (the
largest) is known. Two kinds, each ``--piles`` piles (default 10), from a seeded
``random.Random``:

* ``ecbplus``: dev subtopics of different ECB+ topics (``clustering/ecbplus``, see its README),
  5 documents of the first story, 3 or 4 of each other; the title is ECB+'s first sentence.
* ``multinews``: Multi-News dev clusters (``mds/multinews_dev.jsonl``) of three documents or
  more, read through Storyline's own reader as JSONL records of raw text (cleaning, title
  guess); 4 documents of the first story, 3 of each other. Internet Archive placeholder pages
  and documents under 80 words are left out of the true stories (they are about nothing).

Per pile kind, for each system: BCubed F1 of the stories found against the true stories
(``clustering_metrics.py``); ``title_ok`` / ``lead_ok``: the share of piles whose briefing
title / first summary sentence comes from a document of the main true story (the title only
where some document has one: Multi-News pages seldom do, so a neutral title is counted apart
in ``untitled``); ``both_ok``; ``pure``: the share of piles whose briefed documents all belong
to one true story (it need not be the main one: a detector that splits the main true story
briefs a smaller one, coherently); ``three_plus``: the share of piles where three stories or more are
reported; ``stories``: the mean number reported.

Systems, all in one run, every briefing made by ``brief_documents`` at ``--words`` words:

* ours: ``storyline.pipeline.stories.split_pile`` (story detection) and the main story briefed,
  as ``storyline brief`` does;
* baseline ``tf-idf average-link``: the clustering of ``benchmarks/stories.py`` with its
  threshold tuned on ECB+ train (its functions), the largest cluster briefed (ties: the one of
  the earlier document), the title and lead then chosen by the briefing's own rule;
* ``one story``: the pile briefed whole, as `storyline brief --one-story` (Storyline before
  issue 12).

Usage: python benchmarks/mixed_piles.py [DATA] [--piles N] [--words N] [--json FILE]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clustering_metrics import bcubed  # noqa: E402
from common import data_argument_parser, finish, print_table  # noqa: E402
from stories import baseline, load_split, tune_threshold  # noqa: E402

from storyline.briefing import Briefing  # noqa: E402
from storyline.model import Document  # noqa: E402

ECB_FILE = Path("clustering") / "ecbplus" / "ecbplus_docs.jsonl"
MDS_FILE = Path("mds") / "multinews_dev.jsonl"
OURS = "storyline brief (main story)"
BASELINE = "tf-idf average-link"
ONE_STORY = "one story (--one-story)"
SYSTEMS = (OURS, BASELINE, ONE_STORY)
COLUMNS = ["bcubed_f1", "pure", "title_ok", "lead_ok", "both_ok", "three_plus", "stories", "untitled"]
PLACEHOLDER = "Starting in 1996, Alexa Internet"
MIN_WORDS = 80


@dataclass
class Pile:
    documents: list[Document]
    gold: list[str]  # the true story of each document

    @property
    def main_story(self) -> str:
        """The largest true story (built to be unique)."""
        return max(sorted(set(self.gold)), key=self.gold.count)


# --- piles --------------------------------------------------------------------------------------

def ecb_piles(data: Path, count: int, seed: int) -> list[Pile]:
    rows = [json.loads(line) for line in (data / ECB_FILE).read_text("utf-8").splitlines() if line]
    dev = [row for row in rows if row["split"] == "dev"]
    by_subtopic: dict[str, list[dict[str, Any]]] = {}
    for row in dev:
        by_subtopic.setdefault(row["subtopic"], []).append(row)
    topics = sorted({row["topic"] for row in dev})
    rng = random.Random(seed)
    piles = []
    for number in range(count):
        chosen = rng.sample(topics, 3 + number % 2)
        picked: list[tuple[dict[str, Any], str]] = []
        for k, topic in enumerate(chosen):
            subtopic = rng.choice(sorted(s for s in by_subtopic if int(s.split("_")[0]) == topic))
            size = 5 if k == 0 else rng.choice((3, 4))
            picked += [(row, subtopic) for row in rng.sample(by_subtopic[subtopic], size)]
        rng.shuffle(picked)
        documents = [Document(origin=row["doc_id"], text=" ".join(row["sentences"]),
                              title=row["title"]) for row, _ in picked]
        piles.append(Pile(documents, [gold for _, gold in picked]))
    return piles


def multinews_piles(data: Path, count: int, seed: int, folder: Path) -> list[Pile]:
    """Piles of Multi-News clusters, each read by Storyline's reader from a JSONL file of raw
    texts (so cleaning and the title guess are the system's own)."""
    from storyline.pipeline.documents import extract

    clusters = []
    for line in (data / MDS_FILE).read_text("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            texts = [t for t in row["documents"]
                     if PLACEHOLDER not in t and len(t.split()) >= MIN_WORDS]
            if len(texts) >= 3:
                clusters.append((row["id"], texts))
    rng = random.Random(seed)
    piles = []
    for number in range(count):
        firsts = [c for c in clusters if len(c[1]) >= 4]
        first = rng.choice(firsts)
        rest = rng.sample([c for c in clusters if c[0] != first[0]], 2 + number % 2)
        picked = [(text, first[0]) for text in rng.sample(first[1], 4)]
        for cluster_id, texts in rest:
            picked += [(text, cluster_id) for text in rng.sample(texts, 3)]
        rng.shuffle(picked)
        path = folder / f"pile-{number}.jsonl"
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text, _ in picked), "utf-8")
        documents = [d for d in extract([str(path)], mode="text") if isinstance(d, Document)]
        if len(documents) != len(picked):  # the reader keeps the file's order
            raise ValueError(f"{path}: {len(documents)} documents read of {len(picked)}")
        piles.append(Pile(documents, [gold for _, gold in picked]))
    return piles


# --- systems ------------------------------------------------------------------------------------

def numbered_pile(pile: Pile) -> list[Document]:
    """The pile's documents numbered S1 ... with duplicates marked, as ``brief`` numbers them."""
    from storyline.pipeline.documents import numbered

    for document in pile.documents:
        document.id = None
        document.duplicate_of = None
    return [d for d in numbered(pile.documents) if isinstance(d, Document)]


def groups_of(labels: Sequence[int]) -> list[list[int]]:
    """Document indices per label, the largest group first (ties: the earlier first document)."""
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return sorted(groups.values(), key=lambda members: (-len(members), members[0]))


def run_pile(pile: Pile, threshold: float, words: int) -> dict[str, dict[str, Any]]:
    from storyline.pipeline.stories import annotated, split_pile
    from storyline.story.brief import brief_documents

    documents = numbered_pile(pile)
    annotated(documents)  # once for all three systems
    position = {id(d): k for k, d in enumerate(documents)}
    results = {}

    stories = split_pile(documents)
    labels = [0] * len(documents)
    for number, story in enumerate(stories):
        for document in story.documents:
            labels[position[id(document)]] = number
    main = stories[0]
    results[OURS] = judge(pile, documents, labels, len(stories),
                          brief_documents(main.documents, words=words, typical=main.typical))

    clusters = baseline(documents, threshold)
    biggest = groups_of(clusters)[0]
    results[BASELINE] = judge(pile, documents, clusters, len(set(clusters)),
                              brief_documents([documents[k] for k in biggest], words=words))

    results[ONE_STORY] = judge(pile, documents, [0] * len(documents), 1,
                               brief_documents(documents, words=words))
    return results


def judge(pile: Pile, documents: list[Document], labels: Sequence[int], reported: int,
          briefing: Briefing) -> dict[str, Any]:
    """One system's figures on one pile."""
    story_of_id = {d.id: gold for d, gold in zip(documents, pile.gold)}
    main = pile.main_story
    titles: dict[str, set[str]] = {}
    for document, gold in zip(documents, pile.gold):
        if document.title:
            titles.setdefault(document.title, set()).add(gold)
    titled = briefing.title in titles
    title_ok = titled and titles[briefing.title] == {main}
    lead = briefing.summary[0].citations[0].source if briefing.summary else None
    lead_ok = lead is not None and story_of_id.get(lead) == main
    briefed = {story_of_id.get(source.id) for source in briefing.sources}
    return {"bcubed_f1": bcubed(pile.gold, list(labels)).f1, "pure": len(briefed) == 1,
            "title_ok": title_ok,
            "lead_ok": lead_ok, "both_ok": title_ok and lead_ok, "three_plus": reported >= 3,
            "stories": reported, "untitled": not titled}


def summarise(runs: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """Per system, the mean of each figure over the piles (booleans: the share)."""
    return {system: {column: float(mean(float(run[system][column]) for run in runs))
                     for column in COLUMNS} for system in SYSTEMS}


# --- main ---------------------------------------------------------------------------------------

def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--piles", type=int, default=10, help="piles of each kind (default 10)")
    parser.add_argument("--words", type=int, default=40, help="summary length of each briefing")
    parser.add_argument("--seed", type=int, default=12, help="the piles' random seed")
    args = parser.parse_args()
    started = time.perf_counter()
    train, train_gold = load_split(args.data, "train")
    threshold, _ = tune_threshold(train, train_gold)
    results: dict[str, Any] = {"_protocol": {"piles": args.piles, "words": args.words,
                                             "seed": args.seed, "threshold": threshold}}
    with tempfile.TemporaryDirectory() as folder:
        kinds = {"ecbplus": ecb_piles(args.data, args.piles, args.seed),
                 "multinews": multinews_piles(args.data, args.piles, args.seed, Path(folder))}
        for kind, piles in kinds.items():
            kind_started = time.perf_counter()
            runs = [run_pile(pile, threshold, args.words) for pile in piles]
            results[kind] = summarise(runs)
            results[kind]["_piles"] = [{"stories": len(set(p.gold)), "documents": len(p.gold)}
                                       for p in piles]
            sizes = [len(p.gold) for p in piles]
            print_table(f"{kind}: {len(piles)} piles of 3-4 true stories, {min(sizes)}-{max(sizes)} "
                        f"documents ({time.perf_counter() - kind_started:.0f} s)",
                        [(system, results[kind][system]) for system in SYSTEMS], COLUMNS)
    print(f"\nbaseline distance threshold tuned on ECB+ train: {threshold:.2f}; "
          f"total run time {time.perf_counter() - started:.0f} s")
    return finish(results, args.json_out, None)


if __name__ == "__main__":
    sys.exit(main())
