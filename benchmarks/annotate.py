"""Annotation throughput: articles per second through the whole annotate stage on both cores.

Input: the Zyte benchmark's gold article bodies (real news prose), cut to ~600 words each, so
every article is the size the target is stated for. Reported beside trafilatura's extraction
throughput on the same pages' HTML, run in the same process, as a yardstick of this machine.

    python benchmarks/annotate.py [DATA] [--limit N] [--processes 2]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from storyline.annotate.annotator import annotate  # noqa: E402
from storyline.model import Document  # noqa: E402
from storyline.pipeline.annotation import PARALLEL_FROM, annotator_on  # noqa: E402
from storyline.pipeline.executor import LocalPool  # noqa: E402

from common import data_argument_parser, read_gzip_bytes  # noqa: E402

ARTICLE_WORDS = 600
TARGET_PER_SECOND = 12.0


def _articles(zyte: Path, limit: int | None) -> list[str]:
    gold = json.loads((zyte / "ground-truth.json").read_text(encoding="utf-8"))
    texts = []
    for item in gold.values():
        words = item["articleBody"].split(" ")
        if len(words) >= ARTICLE_WORDS // 2:
            texts.append(" ".join(words[:ARTICLE_WORDS]))
    return texts[:limit] if limit else texts


def _documents(texts: list[str]) -> list[Document]:
    return [Document(origin=f"a{i}", text=t, published="2020-01-15") for i, t in enumerate(texts)]


def _annotate_throughput(texts: list[str], processes: int) -> float:
    """Steady-state articles per second: models are loaded and warm before the clock starts.
    Several processes go through the executor's ``LocalPool``, the code path ``storyline ingest``
    uses."""
    if processes < 2:
        annotate(_documents(texts[:4]))
        documents = _documents(texts)
        start = time.perf_counter()
        annotate(documents)
        return len(documents) / (time.perf_counter() - start)
    with LocalPool(processes) as pool:
        annotator = annotator_on(pool)
        annotator(_documents(texts[: PARALLEL_FROM * processes]))  # every worker loads its models
        documents = _documents(texts)
        start = time.perf_counter()
        annotator(documents)
        return len(documents) / (time.perf_counter() - start)


def _trafilatura_throughput(zyte: Path, limit: int | None) -> float:
    import trafilatura

    pages = sorted((zyte / "html").glob("*.html.gz"))[: limit or None]
    htmls = [read_gzip_bytes(p) for p in pages]
    trafilatura.extract(htmls[0])
    start = time.perf_counter()
    for html in htmls:
        trafilatura.extract(html, include_tables=True)
    return len(htmls) / (time.perf_counter() - start)


def main() -> int:
    parser = data_argument_parser(__doc__ or "")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (cores)")
    args = parser.parse_args()
    zyte = args.data / "extraction" / "zyte-aeb"
    texts = _articles(zyte, args.limit)
    words = sum(len(t.split()) for t in texts) / len(texts)
    ours = _annotate_throughput(texts, args.processes)
    single = _annotate_throughput(texts[: max(8, len(texts) // 4)], 1)
    baseline = _trafilatura_throughput(zyte, args.limit)
    print(f"\nAnnotate stage on {len(texts)} articles of ~{words:.0f} words")
    print(f"{'system':<44}{'articles/s':>12}")
    print("-" * 56)
    print(f"{'storyline annotate, ' + str(args.processes) + ' processes':<44}{ours:>12.1f}")
    print(f"{'storyline annotate, 1 process':<44}{single:>12.1f}")
    print(f"{'trafilatura extract (HTML pages/s, yardstick)':<44}{baseline:>12.1f}")
    verdict = "meets" if ours >= TARGET_PER_SECOND else "MISSES"
    print(f"\nTarget >= {TARGET_PER_SECOND:.0f} articles/s on 2 cores: {verdict}")
    if args.json_out:
        args.json_out.write_text(json.dumps({"annotate_per_s": ours, "single_per_s": single,
                                             "trafilatura_pages_per_s": baseline}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
