"""The sentence model in bfloat16 against float32: CPU a sentence, and how far the vectors move.

``storyline.annotate.embeddings`` runs the model's matrix products in bfloat16 where the CPU
multiplies it natively (``precision()``). This harness embeds the same news text both ways in
one process, on one thread (as an ingest's worker does), alternating the two in rounds so that
the machine's load falls on both alike, and prints:

* CPU seconds per 1,000 texts each way (sentences, and the articles' openings that story
  detection embeds, longer and cut at the model's 256 tokens), and the speed-up;
* agreement: the cosine of each text's two vectors (least and mean), the largest change of a
  pairwise similarity, and the share of texts whose nearest other text stays the same.

Where the CPU has no bfloat16 both ways are float32 and the harness says so. Whether the
product's outputs move is measured by the quality harnesses run with
``STORYLINE_EMBEDDING_PRECISION=float32`` and without (docs/benchmarks.md).

Usage: python benchmarks/embedding.py [DATA] [--limit N] [--rounds R] [--json FILE]
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_argument_parser  # noqa: E402

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")
MIN_WORDS = 6
OPENING_CHARS = 1200  # about the first paragraphs: cut by the model at 256 tokens anyway
DEFAULT_LIMIT = 1000  # texts of each kind


def news_texts(data: Path, limit: int) -> tuple[list[str], list[str]]:
    """Sentences and article openings of the Multi-News development clusters, in file order."""
    sentences: list[str] = []
    openings: list[str] = []
    with (data / "mds" / "multinews_dev.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            for article in json.loads(line)["documents"]:
                text = " ".join(article.split())
                if len(openings) < limit and len(text) > 200:
                    openings.append(text[:OPENING_CHARS])
                sentences.extend(s for s in SENTENCE_END.split(text) if len(s.split()) >= MIN_WORDS)
            if len(sentences) >= limit and len(openings) >= limit:
                break
    return sentences[:limit], openings[:limit]


def timed(texts: list[str], precision: str) -> tuple[float, np.ndarray]:
    from storyline.annotate.embeddings import PRECISION_VARIABLE, embed

    os.environ[PRECISION_VARIABLE] = precision
    began = time.process_time()
    vectors = embed(texts)
    return time.process_time() - began, vectors


def agreement(exact: np.ndarray, lower: np.ndarray) -> dict[str, float]:
    cosines = np.sum(exact * lower, axis=1)
    same_exact, same_lower = exact @ exact.T, lower @ lower.T
    np.fill_diagonal(same_exact, -2.0)
    np.fill_diagonal(same_lower, -2.0)
    nearest_kept = np.mean(same_exact.argmax(axis=1) == same_lower.argmax(axis=1))
    return {"least cosine": float(cosines.min()), "mean cosine": float(cosines.mean()),
            "largest similarity change": float(np.abs(same_exact - same_lower).max()),
            "nearest text kept": float(nearest_kept)}


def measure(name: str, texts: list[str], rounds: int) -> dict[str, Any]:
    seconds = {"float32": 0.0, "auto": 0.0}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for precision in ("float32", "auto"):
            spent, vectors[precision] = timed(texts, precision)
            seconds[precision] += spent
    per_thousand = {k: 1000 * v / rounds / len(texts) for k, v in seconds.items()}
    return {"texts": name, "count": len(texts), "cpu s per 1000, float32": per_thousand["float32"],
            "cpu s per 1000, product": per_thousand["auto"],
            "speed-up": per_thousand["float32"] / per_thousand["auto"],
            **agreement(vectors["float32"], vectors["auto"])}


def main() -> None:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each precision (2)")
    args = parser.parse_args()
    import torch

    from storyline.annotate.embeddings import PRECISION_VARIABLE, embed, precision

    torch.set_num_threads(1)  # a worker's share of the machine
    sentences, openings = news_texts(args.data, args.limit or DEFAULT_LIMIT)
    os.environ.pop(PRECISION_VARIABLE, None)
    product = precision()
    embed(sentences[:32])  # the model's load and first call are not timed
    print(f"the product embeds here in {product} "
          f"({'the CPU multiplies bfloat16' if product == 'bfloat16' else 'no bfloat16 on this CPU: both ways are float32'})")
    rows = [measure("sentences", sentences, args.rounds), measure("openings", openings, args.rounds)]
    print(f"{'texts':<10} {'count':>6} {'float32 s/1000':>15} {'product s/1000':>15} {'speed-up':>9}"
          f" {'least cos':>10} {'mean cos':>9} {'max sim change':>15} {'nearest kept':>13}")
    for row in rows:
        print(f"{row['texts']:<10} {row['count']:>6} {row['cpu s per 1000, float32']:>15.2f}"
              f" {row['cpu s per 1000, product']:>15.2f} {row['speed-up']:>8.2f}x"
              f" {row['least cosine']:>10.5f} {row['mean cosine']:>9.5f}"
              f" {row['largest similarity change']:>15.4f} {row['nearest text kept']:>13.3f}")
    print("CPU seconds on one thread, the mean of the rounds; float32 is the baseline, run in "
          "the same process in alternating rounds")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps({"precision": product, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
