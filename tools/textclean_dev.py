"""Dev check of the text-mode cleaner on the Zyte benchmark (text mode) and its speed.

    .venv/bin/python tools/textclean_dev.py [DATA] [--worst N]

Input per page: the ``html-text`` reference output (the whole visible page text); gold: the
human ``articleBody``. Prints the shingle P/R/F1 of ``clean_text`` next to the pass-through
baseline, and pages per second. The shipped model was trained on these pages (plus silver
pages), so this is the in-sample figure; ``tools/train_textclean.py`` prints the out-of-fold one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from train_textclean import DEFAULT_DATA, ZYTE, tc  # noqa: E402

from benchmarks.common import (  # noqa: E402
    load_reference_output,
    shingle_corpus_f1,
    shingle_page_score,
)


def page_f1(gold: str, pred: str) -> float:
    score = shingle_page_score(gold, pred)
    p = score.tp / (score.tp + score.fp) if score.tp + score.fp else 0.0
    r = score.tp / (score.tp + score.fn) if score.tp + score.fn else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--worst", type=int, default=0, help="list the N worst pages")
    args = parser.parse_args()

    inputs = load_reference_output(args.data / ZYTE / "reference-outputs" / "html-text.json.gz")
    gold = json.loads((args.data / ZYTE / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(gold)
    texts = [inputs[i]["articleBody"] for i in ids]

    tc.load_model()  # not part of the timing
    start, start_cpu = time.perf_counter(), time.process_time()
    outputs = [tc.clean_text(text).text for text in texts]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu

    truths = [gold[i]["articleBody"] for i in ids]
    for name, preds in (("pass-through (html-text)", texts), ("clean_text", outputs)):
        f = shingle_corpus_f1(zip(truths, preds))
        print(f"{name:<26} F1 {f['f1']:.4f}  P {f['precision']:.4f}  R {f['recall']:.4f}  "
              f"exact {f['accuracy']:.3f}  pages {f['pages']}")
    # CPU time is the fairer figure on a shared machine; wall time includes waiting for it.
    print(f"speed: {len(texts) / cpu:.0f} pages/s of CPU time, {len(texts) / elapsed:.0f} "
          f"pages/s wall ({sum(map(len, texts)) / cpu / 1e6:.2f} MB/s CPU), one process")
    if args.worst:
        ranked = sorted(zip(ids, truths, outputs), key=lambda row: page_f1(row[1], row[2]))
        for page_id, truth, pred in ranked[:args.worst]:
            print(f"  {page_f1(truth, pred):.3f}  {page_id}")


if __name__ == "__main__":
    main()
