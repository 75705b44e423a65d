"""Publication-date benchmark (htmldate-eval): our date beside htmldate run in the same process,
in-sample and cross-validated by site.

Ours is ``storyline.read.htmldates.find_published_date`` on the parsed page, the very function
``clean_html`` uses for ``meta["published"]`` (the date alone, without body extraction, so the
speed column compares date finders): every clue of the page (URL, markup, htmldate's pick with
our corrections, the date shown near the headline, the page's date distribution) votes for the
day it names with a fitted weight (``data/html_dates.json`` ``"weights"``).
``--via-clean-html`` scores ``clean_html(...).meta`` itself (same finder, fed the page's
canonical URL). The baseline is ``htmldate.find_date(html, original_date=True,
extensive_search=True)``.

The weights are the one thing fitted to these pages. The run prints them three ways:

* **in-sample**: the packaged weights (fitted on every dev page by ``--write-weights``);
* **cross-validated by site**: pages grouped by registrable domain (all pages of a site in one
  fold), 5 folds; for each fold the weights are refitted on the other four (the L2 strength
  chosen by an inner 4-fold cross-validation by site on those four) and the fold is scored
  with them; per-fold figures and the pooled one (each page scored once, by weights fitted
  without its site), htmldate's on the same folds beside them.

The fit is a conditional logit over a page's candidate days (the day the gold names is the
"chosen" alternative), L2-penalised, solved by L-BFGS. Not refitted (written from knowledge of
the formats, not chosen per fold): the markup field names, the locale and time-zone tables,
and the window in which the byline-near date is looked for.

Metric (dates/README.md): per page, no prediction -> FN, prediction == gold -> TP, else FP;
accuracy = TP / N over every entry, NaN golds included (they can never be right).

Usage: python benchmarks/dates.py [DATA] [--limit N] [--json FILE] [--gate] [--misses]
       [--via-clean-html] [--folds K] [--write-weights]
"""

from __future__ import annotations

import json
import math
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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
OURS = "storyline find_published_date"
OURS_CLEAN = "storyline clean_html published"
OURS_CV = "storyline, cross-validated by site"
BASELINE = "htmldate 1.11.0 extensive"
FOLDS = 5
L2_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
DATA_FILE = Path(__file__).resolve().parents[1] / "src" / "storyline" / "data" / "html_dates.json"

Item = tuple[str, str, "str | None"]


def decode_page(raw: bytes) -> str:
    """UTF-8 first, then a detected encoding: the benchmark's own decoding rule."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        return str(best) if best is not None else raw.decode("utf-8", errors="replace")


def load_items(data: Path, limit: int | None) -> list[Item]:
    """(url, html, gold) for every entry of both eval files; NaN gold -> None."""
    root = data / "dates" / "htmldate-eval"
    items: list[Item] = []
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


def site_of(url: str) -> str:
    """The site a page belongs to: its registrable domain (``bbc.co.uk``), else its host."""
    from urllib.parse import urlsplit

    from storyline.read.metadata import registrable_domain

    return registrable_domain(url) or (urlsplit(url).hostname or url)


def site_folds(sites: Sequence[str], k: int) -> list[int]:
    """Each page's fold: sites in a fixed pseudo-random order (CRC-32 of the name) dealt round
    robin into ``k`` folds, so every page of a site lands in the same fold."""
    order = sorted(set(sites), key=lambda site: (zlib.crc32(site.encode("utf-8")), site))
    fold_of = {site: rank % k for rank, site in enumerate(order)}
    return [fold_of[site] for site in sites]


# --- the systems ----------------------------------------------------------------------------

def evidence(url: str, html: str) -> Any:
    """Our clues for one page (``DateEvidence``), or None when the page does not parse."""
    from storyline.read.htmlclean import page_language, parse_html
    from storyline.read.htmldates import date_evidence

    tree = parse_html(html)
    if tree is None:
        return None
    return date_evidence(tree, url=url, language=page_language(tree))


def choose(found: Any, weights: dict[str, float]) -> str | None:
    from storyline.read.htmldates import choose_day

    return None if found is None else choose_day(found, weights)


def ours_via_clean_html(url: str, html: str) -> str | None:
    from storyline.read.htmlclean import clean_html

    published = clean_html(html, url=url).meta.get("published")
    return published if isinstance(published, str) else None


def htmldate_extensive(url: str, html: str) -> str | None:
    from htmldate import find_date

    result: str | None = find_date(html, original_date=True, extensive_search=True)
    return result


def run_system(func: Callable[[str, str], Any], items: list[Item]) -> tuple[list[Any], float]:
    def safe(url: str, html: str) -> Any:
        try:
            return func(url, html)
        except Exception:  # noqa: BLE001 - a crash is a missing date, as in the upstream eval
            return None
    if items:
        safe(items[0][0], items[0][1])  # warm-up: lazy imports are not timed
    start = time.perf_counter()
    outputs = [safe(url, html) for url, html, _ in items]
    elapsed = time.perf_counter() - start
    return outputs, (len(items) / elapsed if elapsed > 0 else 0.0)


def score(predictions: Sequence[str | None], golds: Sequence[str | None]) -> dict[str, float]:
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


# --- fitting the weights --------------------------------------------------------------------

def _design(found: Sequence[Any], golds: Sequence[str | None]) -> tuple[Any, Any, Any]:
    """Stack the candidate days of the pages whose gold is among them: the feature matrix, the
    page each row belongs to (0..m-1, rows of a page together), and the gold indicator."""
    import numpy as np

    from storyline.read.htmldates import FEATURES, candidate_features

    rows: list[list[float]] = []
    pages: list[int] = []
    chosen: list[float] = []
    page = 0
    for one, gold in zip(found, golds):
        table = candidate_features(one) if one is not None else {}
        if gold not in table:
            continue  # no candidate is right: the page says nothing about the weights
        for day, features in table.items():
            rows.append([features[name] for name in FEATURES])
            pages.append(page)
            chosen.append(1.0 if day == gold else 0.0)
        page += 1
    return np.array(rows, dtype=float), np.array(pages, dtype=int), np.array(chosen)


def fit_weights(found: Sequence[Any], golds: Sequence[str | None], l2: float) -> dict[str, float]:
    """Conditional-logit weights over candidate days, L2-penalised (``l2`` on the summed
    log-likelihood), by L-BFGS from zero."""
    import numpy as np
    from scipy.optimize import minimize

    from storyline.read.htmldates import FEATURES

    x, pages, chosen = _design(found, golds)
    if not len(x):
        return {name: 0.0 for name in FEATURES}
    starts = np.flatnonzero(np.r_[True, pages[1:] != pages[:-1]])

    def loss(w: Any) -> tuple[float, Any]:
        scores = x @ w
        top = np.maximum.reduceat(scores, starts)[pages]
        exp = np.exp(scores - top)
        total = np.add.reduceat(exp, starts)[pages]
        prob = exp / total
        log_lik = float(np.sum(chosen * (scores - top - np.log(total))))
        grad = x.T @ (chosen - prob)
        return -log_lik + 0.5 * l2 * float(w @ w), -grad + l2 * w

    result = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return {name: round(float(value), 3) for name, value in zip(FEATURES, result.x)}


def predict_folds(found: Sequence[Any], golds: Sequence[str | None], folds: Sequence[int],
                  l2: float | None) -> tuple[list[str | None], list[dict[str, float]], list[float]]:
    """Each page's day chosen by weights fitted on the other folds; with ``l2`` None, the L2
    strength of each fit is chosen by an inner cross-validation on its training folds."""
    predictions: list[str | None] = [None] * len(found)
    weights_per_fold: list[dict[str, float]] = []
    l2_per_fold: list[float] = []
    for fold in sorted(set(folds)):
        train = [i for i, f in enumerate(folds) if f != fold]
        strength = l2 if l2 is not None else choose_l2(
            [found[i] for i in train], [golds[i] for i in train], [folds[i] for i in train])
        weights = fit_weights([found[i] for i in train], [golds[i] for i in train], strength)
        for i, f in enumerate(folds):
            if f == fold:
                predictions[i] = choose(found[i], weights)
        weights_per_fold.append(weights)
        l2_per_fold.append(strength)
    return predictions, weights_per_fold, l2_per_fold


def held_out_log_likelihood(found: Sequence[Any], golds: Sequence[str | None], folds: Sequence[int],
                            l2: float) -> float:
    """The summed log-probability that weights fitted without a page's fold give its gold day
    (pages whose gold no clue names are left out: no weights can help them)."""
    import numpy as np

    total = 0.0
    for fold in sorted(set(folds)):
        train = [i for i, f in enumerate(folds) if f != fold]
        test = [i for i, f in enumerate(folds) if f == fold]
        weights = fit_weights([found[i] for i in train], [golds[i] for i in train], l2)
        vector = np.array(list(weights.values()))
        x, pages, chosen = _design([found[i] for i in test], [golds[i] for i in test])
        if not len(x):
            continue
        starts = np.flatnonzero(np.r_[True, pages[1:] != pages[:-1]])
        scores = x @ vector
        top = np.maximum.reduceat(scores, starts)[pages]
        log_total = np.log(np.add.reduceat(np.exp(scores - top), starts))[pages]
        total += float(np.sum(chosen * (scores - top - log_total)))
    return total


def choose_l2(found: Sequence[Any], golds: Sequence[str | None], outer_folds: Sequence[int]) -> float:
    """The L2 strength of ``L2_GRID`` whose fits best predict held-out pages (their own folds
    renumbered as inner folds), by log-likelihood: smoother than accuracy on a few pages."""
    inner = [sorted(set(outer_folds)).index(f) for f in outer_folds]
    return max(L2_GRID, key=lambda l2: held_out_log_likelihood(found, golds, inner, l2))


# --- reporting ------------------------------------------------------------------------------

def check_floors(results: dict[str, dict[str, float]], ours_name: str) -> list[str]:
    """Figures below ``floors.json``; the key "ours" stands for either way of running ours."""
    return below_floors(results, load_floors("dates"), {"ours": ours_name})


def print_folds(folds: list[int], sites: list[str], cv: list[str | None], packaged: list[str | None],
                base: list[str | None], golds: list[str | None], l2s: list[float]) -> None:
    print(f"\nCross-validated by site ({len(set(folds))} folds; weights refitted without the fold)")
    header = f"{'fold':>5}{'pages':>7}{'sites':>7}{'l2':>6}{'ours CV':>10}{'in-sample':>11}{'htmldate':>10}"
    print(header)
    print("-" * len(header))
    for fold in sorted(set(folds)):
        idx = [i for i, f in enumerate(folds) if f == fold]

        def acc(pred: list[str | None]) -> float:
            return sum(pred[i] == golds[i] for i in idx) / len(idx)
        n_sites = len({sites[i] for i in idx})
        print(f"{fold:>5}{len(idx):>7}{n_sites:>7}{l2s[fold]:>6.1f}{acc(cv):>10.3f}"
              f"{acc(packaged):>11.3f}{acc(base):>10.3f}")


def write_weights(weights: dict[str, float], l2: float, pages: int) -> None:
    data = json.loads(DATA_FILE.read_text("utf-8"))
    data["weights"] = weights
    data["_doc_weights_fit"] = (f"Fitted on the {pages} htmldate-eval dev pages with L2 {l2} "
                                f"(chosen by {FOLDS}-fold cross-validation by site).")
    DATA_FILE.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--gate", action="store_true", help="fail when a figure is below its floor")
    parser.add_argument("--misses", action="store_true", help="list the pages we get wrong")
    parser.add_argument("--via-clean-html", action="store_true",
                        help="also score clean_html(...).meta['published'] (full extraction, slower)")
    parser.add_argument("--folds", type=int, default=FOLDS, help="folds by site (0: no cross-validation)")
    parser.add_argument("--write-weights", action="store_true",
                        help="refit the weights on every page and write them to data/html_dates.json")
    args = parser.parse_args()
    items = load_items(args.data, args.limit)
    golds = [gold for _, _, gold in items]
    sites = [site_of(url) for url, _, _ in items]
    # dateparser (inside htmldate's extensive search, which both systems use) compiles its
    # locale tables on first use: one untimed pass warms them so that neither system pays.
    run_system(htmldate_extensive, items)
    from storyline.read.htmldates import date_rules

    packaged = date_rules().weights

    def ours(url: str, html: str) -> tuple[Any, str | None]:
        found = evidence(url, html)
        return found, choose(found, packaged)

    results: dict[str, Any] = {}
    outputs: dict[str, list[str | None]] = {}
    pairs, rate = run_system(ours, items)
    found = [pair[0] if pair else None for pair in pairs]
    outputs[OURS] = [pair[1] if pair else None for pair in pairs]
    results[OURS] = {**score(outputs[OURS], golds), "pages_per_s": rate}
    if args.via_clean_html:
        outputs[OURS_CLEAN], rate = run_system(ours_via_clean_html, items)
        results[OURS_CLEAN] = {**score(outputs[OURS_CLEAN], golds), "pages_per_s": rate}
    outputs[BASELINE], rate = run_system(htmldate_extensive, items)
    results[BASELINE] = {**score(outputs[BASELINE], golds), "pages_per_s": rate}
    rows: list[tuple[str, dict[str, float]]] = [(name, results[name]) for name in outputs]
    if args.folds > 1:
        folds = site_folds(sites, args.folds)
        cv, per_fold, l2s = predict_folds(found, golds, folds, None)
        outputs[OURS_CV] = cv
        results[OURS_CV] = score(cv, golds)
        results["folds"] = {
            str(fold): {"weights": per_fold[fold], "l2": l2s[fold],
                        **{name: score([outputs[name][i] for i, f in enumerate(folds) if f == fold],
                                       [golds[i] for i, f in enumerate(folds) if f == fold])["accuracy"]
                           for name in (OURS_CV, OURS, BASELINE)}}
            for fold in sorted(set(folds))
        }
        rows.insert(1, (OURS_CV, results[OURS_CV]))
    print(f"{len(items)} pages from {len(set(sites))} sites")
    print_table("htmldate-eval, day accuracy (dev half)", rows,
                ["accuracy", "precision", "recall", "f", "tp", "fp", "fn", "pages_per_s"])
    if args.folds > 1:
        print_folds(folds, sites, outputs[OURS_CV], outputs[OURS], outputs[BASELINE], golds, l2s)
        margin = results[OURS_CV]["accuracy"] - results[BASELINE]["accuracy"]
        results["margin over htmldate"] = {"cross_validated": margin}
        print(f"\nmargin over htmldate, cross-validated by site: {margin:+.3f}")
    if args.write_weights:
        l2 = choose_l2(found, golds, site_folds(sites, FOLDS))
        weights = fit_weights(found, golds, l2)
        write_weights(weights, l2, len(items))
        print(f"\nwrote weights (L2 {l2}) to {DATA_FILE}: {weights}")
    if args.misses:
        for (url, _, gold), mine, theirs in zip(items, outputs[OURS], outputs[BASELINE]):
            if mine != gold:
                print(f"MISS gold={gold} ours={mine} htmldate={theirs} {url}")
    return finish(results, args.json_out, check_floors(results, OURS) if args.gate else None)


if __name__ == "__main__":
    sys.exit(main())
