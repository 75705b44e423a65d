"""Which counted words count the same thing: the threshold on MiniLM word embeddings
(``perspectives.conflicts.counts.head_embedding``) chosen on hand-labelled pairs.

``benchmarks/data/count_heads.json`` holds pairs of counted nouns labelled by hand (ours):
``same`` (one may stand for the other when two sources count one thing in one event: pieces /
fragments, soldiers / troops) and ``different`` (boats / vans, days / weeks, men / women). A
false "same" makes a false contradiction, so the threshold is the lowest one whose precision
on the labelled pairs is at least ``--precision`` (the most pairs found at that precision).

Figures: in-sample (threshold chosen on all pairs) and leave-one-out (each pair judged with
the threshold chosen on the others), for the embedding alone and for the whole rule
(``perspectives.head_rule`` first: generic part words, units; then the embedding).

Usage: python benchmarks/count_heads.py [--precision P] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PAIRS_FILE = Path(__file__).resolve().parent / "data" / "count_heads.json"


def load_pairs() -> list[tuple[str, str, bool]]:
    data = json.loads(PAIRS_FILE.read_text("utf-8"))
    return [(a, b, True) for a, b in data["same"]] + [(a, b, False) for a, b in data["different"]]


def similarities(pairs: list[tuple[str, str, bool]]) -> list[float]:
    from storyline.annotate.embeddings import embed

    words = sorted({w for a, b, _ in pairs for w in (a, b)})
    rows = embed(words)
    index = {w: i for i, w in enumerate(words)}
    return [float(rows[index[a]] @ rows[index[b]]) for a, b, _ in pairs]


def rules(pairs: list[tuple[str, str, bool]]) -> list[bool | None]:
    from storyline.story.agenda import key_of
    from storyline.story.perspectives import head_rule

    return [head_rule(key_of(a), key_of(b)) for a, b, _ in pairs]


def predict(sims: list[float], ruled: list[bool | None], threshold: float) -> list[bool]:
    return [r if r is not None else s >= threshold for s, r in zip(sims, ruled)]


def scores(predicted: list[bool], gold: list[bool]) -> dict[str, float]:
    hits = sum(p and g for p, g in zip(predicted, gold))
    said = sum(predicted)
    precision = hits / said if said else 1.0
    recall = hits / max(1, sum(gold))
    accuracy = sum(p == g for p, g in zip(predicted, gold)) / max(1, len(gold))
    return {"precision": round(precision, 3), "recall": round(recall, 3), "accuracy": round(accuracy, 3)}


def choose(sims: list[float], ruled: list[bool | None], gold: list[bool], target: float) -> float:
    """The lowest threshold with precision >= target (1.0 when none reaches it)."""
    for threshold in sorted({round(s, 3) for s in sims}):
        if scores(predict(sims, ruled, threshold), gold)["precision"] >= target:
            return threshold
    return 1.0


def evaluate(sims: list[float], ruled: list[bool | None], gold: list[bool], target: float) -> dict[str, Any]:
    threshold = choose(sims, ruled, gold, target)
    in_sample = scores(predict(sims, ruled, threshold), gold)
    held_out = []
    for i in range(len(gold)):
        rest = [j for j in range(len(gold)) if j != i]
        t = choose([sims[j] for j in rest], [ruled[j] for j in rest], [gold[j] for j in rest], target)
        held_out.append(predict([sims[i]], [ruled[i]], t)[0])
    return {"threshold": threshold, "in_sample": in_sample, "leave_one_out": scores(held_out, gold)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", type=float, default=0.95, help="precision the threshold must reach")
    parser.add_argument("--json", dest="json_out", type=Path, default=None)
    args = parser.parse_args()
    pairs = load_pairs()
    gold = [g for _, _, g in pairs]
    sims = similarities(pairs)
    results = {
        "pairs": len(pairs),
        "embedding alone": evaluate(sims, [None] * len(pairs), gold, args.precision),
        "rule then embedding": evaluate(sims, rules(pairs), gold, args.precision),
    }
    for name in ("embedding alone", "rule then embedding"):
        row = results[name]
        print(f"{name:20s} threshold {row['threshold']:.3f}  in-sample {row['in_sample']}  "
              f"leave-one-out {row['leave_one_out']}")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
