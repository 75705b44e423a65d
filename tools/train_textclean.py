"""Train the text-mode cleaner's model (src/storyline/data/textclean_model.json).

Training pages: the Zyte article-extraction benchmark's development half, text mode. The
input of each page is its ``html-text`` reference output (the whole visible page text), the
labels come from aligning its blocks with the human ``articleBody``: a block is body when its
token sequence occurs in the gold body (in reading order) or most of its 4-gram shingles do.

    .venv/bin/python tools/train_textclean.py [DATA] [--folds 5] [--no-write]

prints the out-of-fold F1 (k-fold by page: every page scored by a model that never saw it),
then trains on all pages, prints the in-sample F1 and writes the model file. Deterministic:
the fold split is a hash of the page id, the solver is Newton's method (no randomness).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import pickle
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    load_reference_output,
    shingle_corpus_f1,
    shingle_page_score,
)


def _import_textclean():  # type: ignore[no-untyped-def]
    """storyline.read.textclean, even while the package's other stages are mid-rewrite.

    The package ``__init__`` imports the whole pipeline; when a sibling module is broken,
    register a bare package so only ``model`` and ``textclean`` have to import.
    """
    try:
        from storyline.read import textclean
    except ImportError:
        import types
        for name in [m for m in sys.modules if m == "storyline" or m.startswith("storyline.")]:
            del sys.modules[name]
        package = types.ModuleType("storyline")
        package.__path__ = [str(ROOT / "src" / "storyline")]
        sys.modules["storyline"] = package
        from storyline.read import textclean
    return textclean


tc = _import_textclean()

DEFAULT_DATA = ROOT.parent / "shared" / "eval-data"
ZYTE = Path("extraction") / "zyte-aeb"

THRESHOLDS = [round(x, 2) for x in np.arange(0.20, 0.81, 0.05)]
SHORT_MATCH_SLACK = 60  # chars: a short block counts only when it sits where the body resumes


@dataclass
class Page:
    page_id: str
    text: str
    gold: str
    blocks: list[tc.Block]
    rows: np.ndarray
    labels: np.ndarray
    weights: np.ndarray


# --- labels ------------------------------------------------------------------------------

def _tokens(text: str) -> list[str]:
    return tc._WORD.findall(text)


def _shingle_set(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + 4]) for i in range(max(len(tokens) - 3, 0))}


def label_blocks(blocks: list[tc.Block], gold: str) -> np.ndarray:
    """1 for blocks of the gold body, found in order; shingle overlap for edited blocks."""
    gold_tokens = _tokens(gold)
    gold_line = " " + " ".join(gold_tokens) + " "
    gold_shingles = _shingle_set(gold_tokens)
    labels = np.zeros(len(blocks))
    pointer = 0
    for i, block in enumerate(blocks):
        tokens = _tokens(block.text)
        if not tokens:
            continue
        needle = " " + " ".join(tokens) + " "
        found = gold_line.find(needle, pointer)
        long_enough = len(tokens) >= 6
        if found >= 0 and (long_enough or found - pointer <= SHORT_MATCH_SLACK):
            labels[i] = 1.0
            pointer = found + len(needle) - 1
        elif len(tokens) >= 8:
            shingles = _shingle_set(tokens)
            labels[i] = 1.0 if len(shingles & gold_shingles) >= 0.5 * len(shingles) else 0.0
    return labels


def block_weights(rows: np.ndarray) -> np.ndarray:
    """Long blocks carry most of the metric's shingles; every page weighs about the same."""
    words = np.expm1(rows[:, tc.FEATURE_NAMES.index("log_words")])
    raw = np.log1p(words) + 0.5
    return raw * len(raw) / raw.sum() if raw.sum() else raw


def load_pages(data: Path) -> list[Page]:
    inputs = load_reference_output(data / ZYTE / "reference-outputs" / "html-text.json.gz")
    gold = json.loads((data / ZYTE / "ground-truth.json").read_text(encoding="utf-8"))
    return [make_page(page_id, inputs[page_id]["articleBody"], gold[page_id]["articleBody"])
            for page_id in sorted(gold)]


def make_page(page_id: str, text: str, gold: str) -> Page:
    blocks = tc.split_blocks(text)
    rows = tc.block_features(blocks)
    return Page(page_id, text, gold, blocks, rows, label_blocks(blocks, gold),
                block_weights(rows))


# --- silver pages: other benchmarks' HTML, labelled by trafilatura ---------------------------

SILVER_FOLDERS = (Path("extraction") / "trafilatura-eval" / "html",
                  Path("dates") / "htmldate-eval" / "html")
SILVER_WEIGHT = 0.3  # a silver page counts 0.3 of a hand-labelled one: its labels are noisier
# In stage 2 a silver page counts 0.4 of that again (0.12 of a benchmark page): stage 2 learns
# how blocks sit in a page's layout, and the silver pages' layout is our own HTML-to-text walk,
# not html-text's. Out of fold: 0.921 with it, 0.911 with silver pages weighed as in stage 1.
STAGE2_SILVER_SHARE = 0.4

# The visible-text layout of html-text (whose output is the benchmark input): block-level
# elements start a new blank-line separated block, list items and line breaks a new line.
_INVISIBLE_TAGS = frozenset("script style noscript template svg iframe object embed canvas "
                            "map audio video select option datalist meta link".split())
_BLOCK_TAGS = frozenset("p div section article header footer nav aside main h1 h2 h3 h4 h5 h6 "
                        "ul ol dl table thead tbody tfoot blockquote pre form fieldset figure "
                        "figcaption address hr details summary title body center".split())
_LINE_TAGS = frozenset("li br dt dd tr caption legend label button".split())


def html_to_visible_text(html: bytes) -> str:
    """The page's visible text in html-text's block layout (our own lxml walk)."""
    import lxml.etree
    import lxml.html

    from storyline.read.decode import decode_bytes

    markup = re.sub(r"^\s*<\?xml[^>]*>", "", decode_bytes(html))
    root = lxml.html.document_fromstring(markup)
    pieces: list[str] = []

    def separate(gap: str) -> None:
        if pieces and pieces[-1].startswith("\n"):
            pieces[-1] = max(pieces[-1], gap, key=len)
        else:
            pieces.append(gap)

    walker = lxml.etree.iterwalk(root, events=("start", "end"))
    for event, element in walker:
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if not tag or tag in _INVISIBLE_TAGS:
                walker.skip_subtree()
                continue
            if tag in _BLOCK_TAGS or tag in _LINE_TAGS:
                separate("\n\n" if tag in _BLOCK_TAGS else "\n")
            if element.text:
                pieces.append(tc._SPACE.sub(" ", element.text))
        else:
            if tag in _BLOCK_TAGS:
                separate("\n\n")
            if element.tail:
                pieces.append(tc._SPACE.sub(" ", element.tail))
    lines = (line.strip() for line in "".join(pieces).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def load_silver_pages(data: Path, limit: int | None = None) -> list[Page]:
    """Pages of the other benchmarks; body labels from trafilatura's extraction of each."""
    import trafilatura

    pages: list[Page] = []
    files = sorted(f for folder in SILVER_FOLDERS for f in (data / folder).glob("*.gz"))
    for path in files[:limit]:
        html = gzip.decompress(path.read_bytes())
        try:
            text = html_to_visible_text(html)
            reference = trafilatura.extract(html, include_comments=False, include_tables=True)
        except Exception:  # a page lxml or trafilatura cannot read teaches nothing
            continue
        if not reference or len(reference) < 200:
            continue
        page = make_page(f"silver:{path.name}", text, reference)
        if page.labels.sum() and len(page.blocks) >= 3:
            page.weights *= SILVER_WEIGHT
            pages.append(page)
    return pages


def cached_silver_pages(data: Path, cache: Path | None) -> list[Page]:
    """``load_silver_pages``, keeping the slow part (HTML parsing, trafilatura) in ``cache``."""
    if cache is not None and cache.exists():
        stored = pickle.loads(cache.read_bytes())
    else:
        stored = [(p.page_id, p.text, p.gold) for p in load_silver_pages(data)]
        if cache is not None:
            cache.write_bytes(pickle.dumps(stored))
    pages = [make_page(page_id, text, gold) for page_id, text, gold in stored]
    for page in pages:
        page.weights *= SILVER_WEIGHT
    return pages


# --- gradient-boosted trees -----------------------------------------------------------------

@dataclass(frozen=True)
class BoostSettings:
    trees: int = 250
    depth: int = 4
    learning_rate: float = 0.1
    bins: int = 32
    min_child_weight: float = 2.0
    l2_leaf: float = 1.0
    subsample: float = 0.5
    seed: int = 20261122


SETTINGS = BoostSettings()


def _bin_edges(rows: np.ndarray, bins: int) -> list[np.ndarray]:
    """Candidate split thresholds per feature: the distinct inner quantiles."""
    return [np.unique(np.quantile(column, np.linspace(0, 1, bins + 1)[1:-1]))
            for column in rows.T]


@dataclass
class _Histograms:
    """Rows binned once per fit; ``flat`` holds feature * slots + bin for one bincount call."""

    flat: np.ndarray         # (rows, features)
    slots: int               # bins per feature, padded to the widest
    valid_cut: np.ndarray    # (features, slots - 1): is there a real threshold at this cut
    cut_values: np.ndarray   # (features, slots - 1)


def _histograms(rows: np.ndarray, edges: list[np.ndarray]) -> _Histograms:
    slots = max(len(cuts) for cuts in edges) + 1
    # searchsorted(side=left) puts a value equal to a cut in the left bin: "right when >".
    binned = np.column_stack([np.searchsorted(cuts, column, side="left")
                              for cuts, column in zip(edges, rows.T)])
    flat = binned + np.arange(rows.shape[1])[None, :] * slots
    valid = np.zeros((len(edges), slots - 1), dtype=bool)
    values = np.full((len(edges), slots - 1), np.inf)
    for f, cuts in enumerate(edges):
        valid[f, :len(cuts)] = True
        values[f, :len(cuts)] = cuts
    return _Histograms(flat, slots, valid, values)


def _best_split(hist: _Histograms, idx: np.ndarray, grad: np.ndarray, hess: np.ndarray,
                settings: BoostSettings) -> tuple[int, float]:
    """(feature, threshold) of the best split of rows ``idx``; feature -1 when none helps."""
    n_features = hist.valid_cut.shape[0]
    flat = hist.flat[idx].ravel()
    size = n_features * hist.slots
    g_bins = np.bincount(flat, weights=np.repeat(grad[idx], n_features), minlength=size)
    h_bins = np.bincount(flat, weights=np.repeat(hess[idx], n_features), minlength=size)
    g_left = np.cumsum(g_bins.reshape(n_features, hist.slots), axis=1)[:, :-1]
    h_left = np.cumsum(h_bins.reshape(n_features, hist.slots), axis=1)[:, :-1]
    g_total, h_total = grad[idx].sum(), hess[idx].sum()
    g_right, h_right = g_total - g_left, h_total - h_left
    lam = settings.l2_leaf
    gain = g_left ** 2 / (h_left + lam) + g_right ** 2 / (h_right + lam) \
        - g_total ** 2 / (h_total + lam)
    ok = hist.valid_cut & (h_left >= settings.min_child_weight) \
        & (h_right >= settings.min_child_weight)
    gain = np.where(ok, gain, -np.inf)
    best = int(np.argmax(gain))
    feature, cut = divmod(best, hist.slots - 1)
    if not np.isfinite(gain[feature, cut]) or gain[feature, cut] <= 0:
        return -1, 0.0
    return feature, float(hist.cut_values[feature, cut])


def _grow_tree(hist: _Histograms, rows: np.ndarray, sample: np.ndarray, grad: np.ndarray,
               hess: np.ndarray, settings: BoostSettings) -> tuple[list[int], list[float],
                                                                 list[float]]:
    """One complete tree of ``settings.depth``; a node that cannot split sends every row left
    (threshold +inf), so the stored shape stays complete."""
    n_internal = 2 ** settings.depth - 1
    features, thresholds = [0] * n_internal, [0.0] * n_internal
    members: dict[int, np.ndarray] = {0: sample}
    for node in range(n_internal):
        idx = members[node]
        feature, threshold = _best_split(hist, idx, grad, hess, settings) if len(idx) \
            else (-1, 0.0)
        if feature < 0:
            feature, threshold = 0, np.inf
        features[node], thresholds[node] = feature, threshold
        right = rows[idx, feature] > threshold
        members[2 * node + 1], members[2 * node + 2] = idx[~right], idx[right]
    leaves = []
    for leaf in range(2 ** settings.depth):
        idx = members[n_internal + leaf]
        value = -grad[idx].sum() / (hess[idx].sum() + settings.l2_leaf) if len(idx) else 0.0
        leaves.append(float(value) * settings.learning_rate)
    return features, thresholds, leaves


def fit_trees(rows: np.ndarray, labels: np.ndarray, weights: np.ndarray,
              names: tuple[str, ...], settings: BoostSettings | None = None) -> dict:
    """Weighted logistic-loss gradient boosting: Newton leaves, histogram split search, each
    tree grown on a random half of the rows (fixed seed, so training is reproducible)."""
    settings = settings or SETTINGS
    rng = np.random.default_rng(settings.seed)
    hist = _histograms(rows, _bin_edges(rows, settings.bins))
    positive = float(np.average(labels, weights=weights))
    base = float(np.log(positive / (1 - positive)))
    z = np.full(len(rows), base)
    model = {"features": list(names), "depth": settings.depth, "base": base,
             "split_features": [], "split_thresholds": [], "leaf_values": []}
    for _ in range(settings.trees):
        p = 1.0 / (1.0 + np.exp(-z))
        grad, hess = weights * (p - labels), weights * p * (1 - p)
        sample = np.flatnonzero(rng.random(len(rows)) < settings.subsample)
        features, thresholds, leaves = _grow_tree(hist, rows, sample, grad, hess, settings)
        model["split_features"].append(features)
        model["split_thresholds"].append(thresholds)
        model["leaf_values"].append(leaves)
        one_tree = {**model, "base": 0.0, "split_features": [features],
                    "split_thresholds": [thresholds], "leaf_values": [leaves]}
        z += tc.TreeStage.from_dict(one_tree).raw_margin(rows)
    return model


def stage2_rows(page: Page, stage1: tc.TreeStage) -> np.ndarray:
    first = stage1.predict(page.rows)
    log_words = page.rows[:, tc.FEATURE_NAMES.index("log_words")]
    return np.hstack([page.rows, tc.context_features(first, log_words)])


INNER_FOLDS = 2


def train(pages: list[Page]) -> tuple[dict, dict]:
    """Stage 1 on all pages; stage 2 on *cross-fitted* stage-1 scores.

    Stage 2 must learn how far to trust stage 1 on pages stage 1 has not seen, so its inputs
    come from inner-fold stage-1 models, as they will at inference time.
    """
    stage1 = _fit_stage1(pages)
    rows2: list[np.ndarray] = []
    for fold in range(INNER_FOLDS):
        inner_train = [p for p in pages if fold_of(p.page_id, INNER_FOLDS, "inner") != fold]
        inner_model = tc.TreeStage.from_dict(_fit_stage1(inner_train))
        rows2 += [stage2_rows(p, inner_model) for p in pages
                  if fold_of(p.page_id, INNER_FOLDS, "inner") == fold]
    ordered = [p for fold in range(INNER_FOLDS) for p in pages
               if fold_of(p.page_id, INNER_FOLDS, "inner") == fold]
    labels = np.concatenate([p.labels for p in ordered])
    weights = np.concatenate([p.weights * (STAGE2_SILVER_SHARE if is_silver(p) else 1.0)
                              for p in ordered])
    stage2 = fit_trees(np.vstack(rows2), labels, weights, tc.FEATURE_NAMES + tc.CONTEXT_NAMES)
    return stage1, stage2


def is_silver(page: Page) -> bool:
    return page.page_id.startswith("silver:")


def _fit_stage1(pages: list[Page]) -> dict:
    return fit_trees(np.vstack([p.rows for p in pages]),
                     np.concatenate([p.labels for p in pages]),
                     np.concatenate([p.weights for p in pages]), tc.FEATURE_NAMES)


# --- evaluation ----------------------------------------------------------------------------

def page_scores(page: Page, stage1: dict, stage2: dict) -> np.ndarray:
    rows2 = stage2_rows(page, tc.TreeStage.from_dict(stage1))
    return tc.TreeStage.from_dict(stage2).predict(rows2)


def predicted_text(page: Page, scores: np.ndarray, threshold: float) -> str:
    return "\n\n".join(page.blocks[i].text for i in tc.choose_body(page.blocks, scores, threshold))


def corpus_f1(pages: list[Page], scores: list[np.ndarray], threshold: float) -> dict:
    return shingle_corpus_f1(
        (page.gold, predicted_text(page, s, threshold)) for page, s in zip(pages, scores))


def best_threshold(pages: list[Page], scores: list[np.ndarray]) -> float:
    return max(THRESHOLDS, key=lambda t: (corpus_f1(pages, scores, t)["f1"], -abs(t - 0.5)))


def fold_of(page_id: str, folds: int, salt: str = "outer") -> int:
    return int(hashlib.sha256(f"{salt}:{page_id}".encode()).hexdigest(), 16) % folds


@dataclass
class OutOfFold:
    """Each benchmark page with the block scores and threshold of the model that never saw it."""

    pages: list[Page]
    scores: list[np.ndarray]
    thresholds: list[float]

    def predictions(self) -> list[str]:
        return [predicted_text(p, s, t) for p, s, t in zip(self.pages, self.scores, self.thresholds)]

    def figures(self) -> dict:
        return shingle_corpus_f1((p.gold, pred) for p, pred in zip(self.pages, self.predictions()))


def cross_validate(pages: list[Page], folds: int, silver: list[Page]) -> OutOfFold:
    """Out-of-fold scores: each page scored by a model (and threshold) trained without it.

    The silver pages are in every fold's training set; only benchmark pages are scored.
    """
    out_pages: list[Page] = []
    out_scores: list[np.ndarray] = []
    out_thresholds: list[float] = []
    for fold in range(folds):
        train_pages = [p for p in pages if fold_of(p.page_id, folds) != fold]
        test_pages = [p for p in pages if fold_of(p.page_id, folds) == fold]
        stage1, stage2 = train(train_pages + silver)
        threshold = best_threshold(train_pages, [page_scores(p, stage1, stage2)
                                                 for p in train_pages])
        for page in test_pages:
            out_pages.append(page)
            out_scores.append(page_scores(page, stage1, stage2))
            out_thresholds.append(threshold)
    return OutOfFold(out_pages, out_scores, out_thresholds)


# --- where the out-of-fold model goes wrong ---------------------------------------------------

F1_BINS = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0001)


def page_f1(gold: str, prediction: str) -> tuple[float, float, float]:
    """(F1, precision, recall) of one page, the benchmark's shingle counts."""
    score = shingle_page_score(gold, prediction)
    precision = score.tp / (score.tp + score.fp) if score.tp + score.fp else 0.0
    recall = score.tp / (score.tp + score.fn) if score.tp + score.fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, precision, recall


def error_kind(page: Page, index: int, kept: bool) -> tuple[str, str, str]:
    """("kept"/"dropped", where the block sits against the gold body run, its size)."""
    body = np.flatnonzero(page.labels)
    where = "inside" if len(body) and body[0] <= index <= body[-1] else \
        "before" if len(body) and index < body[0] else "after"
    words = len(_tokens(page.blocks[index].text))
    size = "<8 words" if words < 8 else "8-29 words" if words < 30 else "30+ words"
    return ("wrongly kept" if kept else "wrongly dropped", where, size)


def print_error_report(oof: OutOfFold, worst: int) -> None:
    """Per-page F1 distribution, wrong blocks by kind (count, words), the ``worst`` pages."""
    rows = []
    kinds: dict[tuple[str, str, str], list[int]] = {}
    for page, scores, threshold, prediction in zip(oof.pages, oof.scores, oof.thresholds,
                                                   oof.predictions()):
        kept = set(tc.choose_body(page.blocks, scores, threshold))
        wrong = [i for i in range(len(page.blocks)) if (i in kept) != bool(page.labels[i])]
        for i in wrong:
            tally = kinds.setdefault(error_kind(page, i, i in kept), [0, 0])
            tally[0] += 1
            tally[1] += len(_tokens(page.blocks[i].text))
        rows.append((page_f1(page.gold, prediction), page, scores, kept, wrong))
    f1s = np.array([row[0][0] for row in rows])
    counts = np.histogram(f1s, bins=F1_BINS)[0]
    print(f"per-page F1: mean {f1s.mean():.3f}, median {np.median(f1s):.3f}; pages by F1 "
          + ", ".join(f"[{lo:.2f},{min(hi, 1):.2f}{']' if hi > 1 else ')'}: {n}"
                      for lo, hi, n in zip(F1_BINS, F1_BINS[1:], counts)))
    for kind, (count, words) in sorted(kinds.items()):
        print(f"  {' / '.join(kind):42} blocks {count:4d}  words {words:6d}")
    for (f1, precision, recall), page, scores, kept, wrong in sorted(rows, key=lambda r: r[0][0])[:worst]:
        print(f"{page.page_id[:16]}  F1 {f1:.3f} P {precision:.3f} R {recall:.3f}  "
              f"{len(page.blocks)} blocks")
        for i in wrong:
            mark = "kept   " if i in kept else "dropped"
            print(f"    {mark} {i:4d} score {scores[i]:.2f}  {page.blocks[i].text[:90]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="only print the figures")
    parser.add_argument("--output", type=Path, default=tc.MODEL_PATH)
    parser.add_argument("--no-silver", action="store_true",
                        help="train on the benchmark pages only, without the silver pages")
    parser.add_argument("--worst", type=int, default=0, metavar="N",
                        help="also print the out-of-fold error report and the N worst pages")
    parser.add_argument("--silver-cache", type=Path, default=None,
                        help="pickle of the silver pages' text and labels (made when missing)")
    args = parser.parse_args()

    pages = load_pages(args.data)
    silver = [] if args.no_silver else cached_silver_pages(args.data, args.silver_cache)
    print(f"{len(silver)} silver pages, {sum(len(p.blocks) for p in silver)} blocks")
    print(f"{len(pages)} pages, {sum(len(p.blocks) for p in pages)} blocks, "
          f"{int(sum(p.labels.sum() for p in pages))} labelled body")
    ceiling = shingle_corpus_f1(
        (p.gold, "\n\n".join(b.text for b, y in zip(p.blocks, p.labels) if y)) for p in pages)
    print(f"label ceiling (gold block labels)  F1 {ceiling['f1']:.4f}")
    if args.folds > 1:
        oof = cross_validate(pages, args.folds, silver)
        figures = oof.figures()
        print(f"out-of-fold ({args.folds}-fold)           F1 {figures['f1']:.4f} "
              f"P {figures['precision']:.4f} R {figures['recall']:.4f}")
        if args.worst:
            print_error_report(oof, args.worst)
    stage1, stage2 = train(pages + silver)
    scores = [page_scores(p, stage1, stage2) for p in pages]
    threshold = best_threshold(pages, scores)
    fit = corpus_f1(pages, scores, threshold)
    print(f"in-sample (threshold {threshold:.2f})      F1 {fit['f1']:.4f} "
          f"P {fit['precision']:.4f} R {fit['recall']:.4f}")
    if not args.no_write:
        model = {"about": "text-mode block classifier; tools/train_textclean.py writes it",
                 "threshold": threshold, "stage1": stage1, "stage2": stage2}
        args.output.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
