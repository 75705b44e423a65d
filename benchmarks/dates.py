"""Publication-date benchmark (htmldate-eval): our date beside htmldate run in the same process.

Ours is ``storyline.read.htmldates.find_published_date`` on the parsed page, the very function
``clean_html`` uses for ``meta["published"]`` (the date alone, without body extraction, so the
speed column compares date finders); ``--via-clean-html`` scores ``clean_html(...).meta``
itself (same cascade, but fed the page's canonical URL). The baseline is
``htmldate.find_date(html, original_date=True, extensive_search=True)``.

Metric (dates/README.md): per page, no prediction -> FN, prediction == gold -> TP, else FP;
accuracy = TP / N over every entry, NaN golds included (they can never be right).

Usage: python benchmarks/dates.py [DATA] [--limit N] [--json FILE] [--gate] [--misses]
       [--via-clean-html]
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    below_floors,
    data_argument_parser,
    finish,
    load_floors,
    print_table,
    read_gzip_bytes,
)

EVAL_FILES = ("eval_default.json", "eval_mediacloud_2020.json")


def decode_page(raw: bytes) -> str:
    """UTF-8 first, then a detected encoding: the benchmark's own decoding rule."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        return str(best) if best is not None else raw.decode("utf-8", errors="replace")


def load_items(data: Path, limit: int | None) -> list[tuple[str, str, str | None]]:
    """(url, html, gold) for every entry of both eval files; NaN gold -> None."""
    root = data / "dates" / "htmldate-eval"
    items: list[tuple[str, str, str | None]] = []
    for name in EVAL_FILES:
        entries = json.loads((root / name).read_text("utf-8"))
        for url, entry in sorted(entries.items()):
            path = root / "html" / f"{entry['file']}.gz"
            if not path.exists():
                path = root / "html" / entry["file"]
            gold = entry.get("date")
            gold = None if gold is None or (isinstance(gold, float) and math.isnan(gold)) else gold
            items.append((url, decode_page(read_gzip_bytes(path)), gold))
    return items[:limit]


def ours(url: str, html: str) -> str | None:
    from storyline.read.htmlclean import page_language, parse_html
    from storyline.read.htmldates import find_published_date

    tree = parse_html(html)
    if tree is None:
        return None
    return find_published_date(tree, url=url, language=page_language(tree))[0]


def ours_via_clean_html(url: str, html: str) -> str | None:
    from storyline.read.htmlclean import clean_html

    published = clean_html(html, url=url).meta.get("published")
    return published if isinstance(published, str) else None


def htmldate_extensive(url: str, html: str) -> str | None:
    from htmldate import find_date

    return find_date(html, original_date=True, extensive_search=True)


def score(predictions: list[str | None], golds: list[str | None]) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for pred, gold in zip(predictions, golds):
        if pred is None:
            counts["fn"] += 1
        elif pred == gold:
            counts["tp"] += 1
        else:
            counts["fp"] += 1
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    n = len(golds)
    return {
        "accuracy": tp / n if n else 0.0,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "f": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "tp": tp, "fp": fp, "fn": fn, "pages": n,
    }


def run_system(func: Callable[[str, str], str | None], items: list[tuple[str, str, str | None]]
               ) -> tuple[list[str | None], float]:
    def safe(url: str, html: str) -> str | None:
        try:
            return func(url, html)
        except Exception:  # noqa: BLE001 - a crash is a missing date, as in the upstream eval
            return None
    if items:
        safe(items[0][0], items[0][1])  # warm-up: lazy imports are not timed
    start = time.perf_counter()
    predictions = [safe(url, html) for url, html, _ in items]
    elapsed = time.perf_counter() - start
    return predictions, (len(items) / elapsed if elapsed > 0 else 0.0)


def check_floors(results: dict[str, dict[str, float]], ours_name: str) -> list[str]:
    """Figures below ``floors.json``; the key "ours" stands for either way of running ours."""
    return below_floors(results, load_floors("dates"), {"ours": ours_name})


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--gate", action="store_true", help="fail when a figure is below its floor")
    parser.add_argument("--misses", action="store_true", help="list the pages we get wrong")
    parser.add_argument("--via-clean-html", action="store_true",
                        help="ours = clean_html(...).meta['published'] (full extraction, slower)")
    args = parser.parse_args()
    items = load_items(args.data, args.limit)
    golds = [gold for _, _, gold in items]
    ours_name = "storyline clean_html published" if args.via_clean_html else "storyline find_published_date"
    systems = {ours_name: ours_via_clean_html if args.via_clean_html else ours,
               "htmldate 1.11.0 extensive": htmldate_extensive}
    # dateparser (inside htmldate's extensive search, which both systems use) compiles its
    # locale tables on first use: one untimed pass warms them so that neither system pays.
    run_system(htmldate_extensive, items)
    results: dict[str, dict[str, float]] = {}
    outputs: dict[str, list[str | None]] = {}
    for name, func in systems.items():
        outputs[name], rate = run_system(func, items)
        results[name] = {**score(outputs[name], golds), "pages_per_s": rate}
    print_table("htmldate-eval, day accuracy (dev half)", list(results.items()),
                ["accuracy", "precision", "recall", "f", "tp", "fp", "fn", "pages_per_s"])
    if args.misses:
        base = outputs["htmldate 1.11.0 extensive"]
        for (url, _, gold), mine, theirs in zip(items, outputs[ours_name], base):
            if mine != gold:
                print(f"MISS gold={gold} ours={mine} htmldate={theirs} {url}")
    return finish(results, args.json_out, check_floors(results, ours_name) if args.gate else None)


if __name__ == "__main__":
    sys.exit(main())
