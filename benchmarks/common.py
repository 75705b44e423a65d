"""Shared helpers of the benchmark harnesses: data paths, metric implementations, reporting.

The metrics are reimplemented from the definitions in ``../shared/eval-data/*/README.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "eval-data"

_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")


def data_argument_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "data", nargs="?", type=Path, default=DEFAULT_DATA,
        help=f"path of the eval-data folder (default: {DEFAULT_DATA})",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N items")
    parser.add_argument("--json", dest="json_out", type=Path, default=None,
                        help="also write the figures as JSON to this file")
    return parser


def read_gzip_bytes(path: Path) -> bytes:
    with gzip.open(path, "rb") as handle:
        return handle.read()


def load_reference_output(path: Path) -> dict[str, dict[str, str]]:
    """A Zyte reference-output file; some are wrapped as {"version", "output"}."""
    data = json.loads(read_gzip_bytes(path))
    return data.get("output", data) if isinstance(data, dict) and "output" in data else data


# --- Zyte article-extraction-benchmark: 4-gram shingle P/R/F1 -------------------------------

def _shingles(text: str) -> Counter[tuple[str, ...]]:
    tokens = _WORD.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < 4:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i:i + 4]) for i in range(len(tokens) - 3))


@dataclass
class PageScore:
    tp: float
    fp: float
    fn: float


def shingle_page_score(truth: str, pred: str) -> PageScore:
    true_sh, pred_sh = _shingles(truth), _shingles(pred)
    tp = fp = fn = 0
    for key in set(true_sh) | set(pred_sh):
        t, p = true_sh.get(key, 0), pred_sh.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    if total > 0:
        return PageScore(tp / total, fp / total, fn / total)
    return PageScore(0.0, 0.0, 0.0)


def shingle_corpus_f1(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Corpus P/R/F1 as the Zyte benchmark computes it: means of per-page P and R, then F1."""
    precisions: list[float] = []
    recalls: list[float] = []
    exact = 0
    n = 0
    for truth, pred in pairs:
        n += 1
        if _WORD.findall(truth or "") == _WORD.findall(pred or ""):
            exact += 1
        s = shingle_page_score(truth, pred)
        if s.tp + s.fp > 0:
            precisions.append(1.0 if s.fp == s.fn == 0 else s.tp / (s.tp + s.fp))
        if s.tp + s.fn > 0:
            recalls.append(1.0 if s.fp == s.fn == 0 else s.tp / (s.tp + s.fn))
    p = sum(precisions) / len(precisions) if precisions else 0.0
    r = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"f1": f1, "precision": p, "recall": r, "accuracy": exact / n if n else 0.0, "pages": n}


# --- trafilatura-eval: must / must-not snippets ----------------------------------------------

def normalise_space(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def snippet_counts(output: str | None, with_: list[str], without: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    if output is None:
        counts["fn"] += len(with_)
        counts["tn"] += len(without)
        return counts
    norm = normalise_space(output)
    for snippet in with_:
        counts["tp" if normalise_space(snippet) in norm else "fn"] += 1
    for snippet in without:
        counts["fp" if normalise_space(snippet) in norm else "tn"] += 1
    return counts


def snippet_scores(counts: Counter[str]) -> dict[str, float]:
    tp, fp, fn, tn = (counts[k] for k in ("tp", "fp", "fn", "tn"))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    total = tp + fp + fn + tn
    return {
        "f": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "precision": p, "recall": r, "accuracy": (tp + tn) / total if total else 0.0,
    }


def print_table(title: str, rows: list[tuple[str, dict[str, float]]], columns: list[str]) -> None:
    """A plain aligned table: one row per system, ours first, the baselines below."""
    print(f"\n{title}")
    header = f"{'system':<34}" + "".join(f"{c:>12}" for c in columns)
    print(header)
    print("-" * len(header))
    for name, figures in rows:
        cells = "".join(
            f"{figures[c]:>12.3f}" if isinstance(figures.get(c), float) else f"{figures.get(c, ''):>12}"
            for c in columns
        )
        print(f"{name:<34}{cells}")


# --- the CI gate ----------------------------------------------------------------------------

FLOORS_FILE = Path(__file__).resolve().parent / "floors.json"


def load_floors(section: str) -> dict:
    """The pinned floors of one harness (``benchmarks/floors.json``)."""
    return json.loads(FLOORS_FILE.read_text("utf-8")).get(section, {})


def finish(results: object, json_out: Path | None, failures: list[str] | None) -> int:
    """Write the figures as JSON if asked; with ``failures`` (i.e. --gate), report the gate and
    give the exit status."""
    if json_out:
        json_out.write_text(json.dumps(results, indent=2), "utf-8")
    if failures is None:
        return 0
    for failure in failures:
        print(f"GATE FAIL {failure}")
    print("gate: " + ("FAILED" if failures else "passed"))
    return 1 if failures else 0


def below_floors(results: dict, floors: dict, aliases: dict[str, str] | None = None) -> list[str]:
    """``system/metric: value < floor`` for every figure under its pinned floor; ``aliases``
    maps a floor's system name to the name used in ``results`` (e.g. "ours")."""
    failures = []
    for system, metrics in floors.items():
        name = (aliases or {}).get(system, system)
        for metric, floor in metrics.items():
            value = results.get(name, {}).get(metric)
            if value is None or value < floor:
                failures.append(f"{system}/{metric}: {value} < floor {floor}")
    return failures
