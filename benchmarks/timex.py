"""Temporal-expression benchmark (TempEval-3 platinum, dev half): ours beside a dateparser baseline.

Ours is ``storyline.annotate.timex.find_timexes(text, dct, doc=<spaCy parse>)``, as the annotate stage calls
it. The baseline, run in the same process, is ``dateparser.search.search_dates`` over the text with
``RELATIVE_BASE`` = the DCT: every hit typed DATE, valued as the day it parses to.

Metric (timex/README.md, the official TE3 ``evaluate_entities.py`` definitions): gold and system
texts share one tokeniser; system timexes are aligned 1:1 to gold ones by extent overlap.
Relaxed match: at least one shared token; strict match: the identical token extent.
P = matches / #system, R = matches / #gold (micro over documents), F1 their harmonic mean.
Value accuracy = relaxed matches with the identical ``value`` string / relaxed matches;
value F1 = value accuracy x relaxed F1; type F1 likewise with ``type``.

Usage: python benchmarks/timex.py [DATA] [--limit N] [--json FILE] [--gate] [--misses]
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import below_floors, data_argument_parser, finish, load_floors, print_table  # noqa: E402

DATA_FILE = Path("timex") / "te3_platinum_timex.jsonl"
OURS = "storyline find_timexes"
BASELINE = "dateparser 1.5.0 search_dates"
_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str
    value: str


def load_docs(data: Path, limit: int | None) -> list[dict[str, Any]]:
    path = data if data.is_file() else data / DATA_FILE
    docs = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return docs[:limit]


def tokens_of(text: str, start: int, end: int, starts: list[int], ends: list[int]) -> frozenset[int]:
    """Indices of the tokens a character extent touches (the metric's shared tokeniser)."""
    return frozenset(i for i, (s, e) in enumerate(zip(starts, ends)) if s < end and e > start)


def align(gold: list[frozenset[int]], system: list[frozenset[int]]) -> list[tuple[int, int]]:
    """1:1 alignment by token overlap, the largest overlaps first."""
    pairs = sorted(
        ((len(g & s), gi, si) for gi, g in enumerate(gold) for si, s in enumerate(system) if g & s),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    used_gold: set[int] = set()
    used_sys: set[int] = set()
    matched = []
    for _overlap, gi, si in pairs:
        if gi not in used_gold and si not in used_sys:
            used_gold.add(gi)
            used_sys.add(si)
            matched.append((gi, si))
    return matched


def score_doc(text: str, gold: list[Span], system: list[Span], counts: Counter[str]) -> list[str]:
    """Add one document's counts; returns its misses as readable lines."""
    bounds = [(m.start(), m.end()) for m in _TOKEN.finditer(text)]
    starts, ends = [b[0] for b in bounds], [b[1] for b in bounds]
    gold_tokens = [tokens_of(text, g.start, g.end, starts, ends) for g in gold]
    sys_tokens = [tokens_of(text, s.start, s.end, starts, ends) for s in system]
    matched = align(gold_tokens, sys_tokens)
    counts["gold"] += len(gold)
    counts["system"] += len(system)
    counts["relaxed"] += len(matched)
    misses = []
    for gi, si in matched:
        g, s = gold[gi], system[si]
        counts["strict"] += gold_tokens[gi] == sys_tokens[si]
        counts["value"] += g.value == s.value
        counts["type"] += g.type == s.type
        if g.value != s.value or g.type != s.type:
            misses.append(f"WRONG {text[g.start:g.end]!r} gold={g.type}/{g.value} "
                          f"ours={text[s.start:s.end]!r} {s.type}/{s.value}")
    hit_gold = {gi for gi, _ in matched}
    hit_sys = {si for _, si in matched}
    misses += [f"MISSED {text[g.start:g.end]!r} {g.type}/{g.value}" for i, g in enumerate(gold) if i not in hit_gold]
    misses += [f"EXTRA {text[s.start:s.end]!r} {s.type}/{s.value}" for i, s in enumerate(system) if i not in hit_sys]
    return misses


def figures(counts: Counter[str]) -> dict[str, float]:
    def f1(matches: int) -> float:
        p = matches / counts["system"] if counts["system"] else 0.0
        r = matches / counts["gold"] if counts["gold"] else 0.0
        return 2 * p * r / (p + r) if p + r else 0.0

    relaxed = f1(counts["relaxed"])
    accuracy = counts["value"] / counts["relaxed"] if counts["relaxed"] else 0.0
    type_accuracy = counts["type"] / counts["relaxed"] if counts["relaxed"] else 0.0
    return {
        "value_f1": accuracy * relaxed,
        "relaxed_f1": relaxed,
        "strict_f1": f1(counts["strict"]),
        "type_f1": type_accuracy * relaxed,
        "value_acc": accuracy,
        "precision": counts["relaxed"] / counts["system"] if counts["system"] else 0.0,
        "recall": counts["relaxed"] / counts["gold"] if counts["gold"] else 0.0,
        "gold": counts["gold"], "system": counts["system"], "matches": counts["relaxed"],
    }


def ours(doc: dict[str, Any]) -> list[Span]:
    from storyline.annotate.nlp import parse
    from storyline.annotate.timex import find_timexes

    text = doc["text"]
    return [Span(t.start, t.end, t.type, t.value) for t in find_timexes(text, doc["dct"], doc=parse(text))]


def dateparser_baseline(doc: dict[str, Any]) -> list[Span]:
    from dateparser.search import search_dates

    text = doc["text"]
    base = datetime.fromisoformat(doc["dct"])
    found = search_dates(text, languages=["en"], settings={"RELATIVE_BASE": base}) or []
    spans, cursor = [], 0
    for substring, when in found:  # search_dates gives no offsets: find each hit in order
        start = text.find(substring, cursor)
        if start < 0:
            continue
        cursor = start + len(substring)
        spans.append(Span(start, cursor, "DATE", when.date().isoformat()))
    return spans


def run_system(func: Callable[[dict[str, Any]], list[Span]], docs: list[dict[str, Any]]
               ) -> tuple[dict[str, float], list[str], float]:
    counts: Counter[str] = Counter()
    misses: list[str] = []
    if docs:
        func(docs[0])  # warm-up: model loading and lazy imports are not timed
    started = time.perf_counter()
    for doc in docs:
        gold = [Span(g["start"], g["end"], g["type"], g["value"]) for g in doc["timexes"]]
        found = func(doc)
        misses += [f"{doc['doc_id']}: {line}" for line in score_doc(doc["text"], gold, found, counts)]
    elapsed = time.perf_counter() - started
    return figures(counts), misses, (len(docs) / elapsed if elapsed > 0 else 0.0)


def check_floors(results: dict[str, dict[str, Any]]) -> list[str]:
    return below_floors(results, load_floors("timex"))


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--gate", action="store_true", help="fail when a figure is below its floor")
    parser.add_argument("--misses", action="store_true", help="list our errors")
    args = parser.parse_args()
    docs = load_docs(args.data, args.limit)
    results: dict[str, dict[str, float]] = {}
    our_misses: list[str] = []
    for name, func in ((OURS, ours), (BASELINE, dateparser_baseline)):
        figs, misses, rate = run_system(func, docs)
        results[name] = {**figs, "docs_per_s": rate}
        if name == OURS:
            our_misses = misses
    print_table(f"TempEval-3 platinum timexes ({len(docs)} docs, dev half)", list(results.items()),
                ["value_f1", "relaxed_f1", "strict_f1", "type_f1", "value_acc", "precision", "recall",
                 "gold", "system", "docs_per_s"])
    if args.misses:
        print("\n" + "\n".join(our_misses))
    return finish(results, args.json_out, check_floors(results) if args.gate else None)


if __name__ == "__main__":
    sys.exit(main())
