"""Annotation throughput: articles per second through the whole annotate stage on both cores.

Input: the Zyte benchmark's gold article bodies (real news prose), cut to ~600 words each, so
every article is the size the target is stated for. The articles go to the annotator in batches
of ``storyline.context.BATCH_SIZE``, as ``storyline ingest`` sends them.

Reported for each tree measured:

* **articles/s, 2 processes**: wall clock through the executor's ``LocalPool`` (the ingest
  path), models loaded and warm before the clock starts;
* **CPU ms/article**: CPU time of the workers and of this process over the same run, divided by
  the articles. On a machine shared with other work this is the steadier figure: wall clock
  counts the time other programs hold the cores, CPU time does not;
* **articles/s, 1 process** and its CPU ms/article (annotation in this process).

``--against REV`` measures another revision too, checked out into a temporary git worktree, in
the same run: each tree runs in its own child process (its own ``src`` first on the path), the
trees alternating ``--rounds`` times, medians shown side by side. It also compares the
annotations both trees produced for every article (serialised to JSON): "identical" means the
speed came at no change of what is annotated. trafilatura's extraction throughput on the same
pages' HTML, run in this process, is printed as a yardstick of the machine.

    python benchmarks/annotate.py [DATA] [--limit N] [--processes 2] [--against REV]
                                  [--rounds 1] [--repeat 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_argument_parser, read_gzip_bytes  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
ARTICLE_WORDS = 600
TARGET_PER_SECOND = 25.0
THIS = "this checkout"


def _articles(zyte: Path, limit: int | None) -> list[str]:
    gold = json.loads((zyte / "ground-truth.json").read_text(encoding="utf-8"))
    texts = []
    for item in gold.values():
        words = item["articleBody"].split(" ")
        if len(words) >= ARTICLE_WORDS // 2:
            texts.append(" ".join(words[:ARTICLE_WORDS]))
    return texts[:limit] if limit else texts


# --- the measurement, run in a child process with one tree's ``src`` first on the path -------

def _documents(texts: list[str]) -> list[Any]:
    from storyline.model import Document

    return [Document(origin=f"a{i}", text=t, published="2020-01-15") for i, t in enumerate(texts)]


def _batches(items: list[Any]) -> Iterator[list[Any]]:
    from storyline.context import BATCH_SIZE

    for start in range(0, len(items), BATCH_SIZE):
        yield items[start:start + BATCH_SIZE]


def _cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system) of this process and of ``pids`` so far (Linux's /proc)."""
    total = time.process_time()
    for pid in pids:
        # Fields 14 and 15 of /proc/PID/stat, after the parenthesised command name.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _in_pool(texts: list[str], processes: int, repeat: int) -> tuple[dict[str, float], list[Any]]:
    """Articles/s and CPU ms/article through a ``LocalPool`` (the ingest path), and the
    annotations of the first pass."""
    from storyline.pipeline.annotation import annotator_on
    from storyline.pipeline.executor import LocalPool

    with LocalPool(processes) as pool:
        annotator = annotator_on(pool)
        for _ in range(2):  # every worker loads its models and warms up
            annotator(_documents(texts[: 4 * processes]))
        # A batch too small to share (an ingest's last) is annotated here: load the models here.
        annotator(_documents(texts[:1]))
        pids = list(pool._pool._processes) if pool._pool is not None else []  # noqa: SLF001
        passes = [_documents(texts) for _ in range(repeat)]
        cpu, start = _cpu_seconds(pids), time.perf_counter()
        for documents in passes:
            for batch in _batches(documents):
                annotator(batch)
        wall, cpu = time.perf_counter() - start, _cpu_seconds(pids) - cpu
    count = len(texts) * repeat
    figures = {"per_s": count / wall, "cpu_ms": 1000 * cpu / count}
    return figures, [document.annotations for document in passes[0]]


def _in_process(texts: list[str], repeat: int) -> dict[str, float]:
    from storyline.annotate.annotator import annotate

    annotate(_documents(texts[:4]))
    passes = [_documents(texts) for _ in range(repeat)]
    cpu, start = time.process_time(), time.perf_counter()
    for documents in passes:
        for batch in _batches(documents):
            annotate(batch)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    count = len(texts) * repeat
    return {"per_s": count / wall, "cpu_ms": 1000 * cpu / count}


def _as_json(annotations: Any) -> str:
    return json.dumps(dataclasses.asdict(annotations), sort_keys=True, ensure_ascii=False)


def _child(texts: list[str], processes: int, repeat: int, out: Path) -> None:
    pool, annotations = _in_pool(texts, processes, repeat)
    single = _in_process(texts[: max(8, len(texts) // 4)], repeat)
    out.write_text(json.dumps({"pool": pool, "single": single,
                               "annotations": [_as_json(a) for a in annotations]}))


# --- the parent: trees, rounds, the table ------------------------------------------------------

def _measure(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "figures.json"
        command = [sys.executable, str(Path(__file__).resolve()), str(args.data),
                   "--processes", str(args.processes), "--repeat", str(args.repeat),
                   "--child-src", str(tree / "src"), "--child-out", str(out)]
        if args.limit:
            command += ["--limit", str(args.limit)]
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        subprocess.run(command, cwd=tree, env=env, check=True)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _trafilatura_throughput(zyte: Path, limit: int | None) -> float:
    import trafilatura

    pages = sorted((zyte / "html").glob("*.html.gz"))[: limit or None]
    htmls = [read_gzip_bytes(p) for p in pages]
    trafilatura.extract(htmls[0])
    start = time.perf_counter()
    for html in htmls:
        trafilatura.extract(html, include_tables=True)
    return len(htmls) / (time.perf_counter() - start)


def _measure_trees(trees: dict[str, Path], args: argparse.Namespace) -> dict[str, list[Any]]:
    runs: dict[str, list[Any]] = {name: [] for name in trees}
    for round_number in range(1, args.rounds + 1):
        for name, tree in trees.items():
            print(f"round {round_number}/{args.rounds}: {name}", file=sys.stderr)
            runs[name].append(_measure(tree, args))
    return runs


def _median(runs: list[Any], part: str, figure: str) -> float:
    return statistics.median(run[part][figure] for run in runs)


def _identical(ours: list[str], theirs: list[str]) -> str:
    same = sum(a == b for a, b in zip(ours, theirs))
    verdict = "identical" if same == len(ours) == len(theirs) else "DIFFERENT"
    return f"{verdict}: {same} of {len(ours)} articles annotated byte for byte alike"


def main() -> int:
    parser = data_argument_parser(__doc__ or "")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (cores)")
    parser.add_argument("--against", default=None, help="also measure this git revision")
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each tree")
    parser.add_argument("--repeat", type=int, default=1, help="passes over the articles each")
    parser.add_argument("--child-src", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    zyte = args.data / "extraction" / "zyte-aeb"
    texts = _articles(zyte, args.limit)
    if args.child_out is not None:
        sys.path.insert(0, str(args.child_src))
        _child(texts, args.processes, args.repeat, args.child_out)
        return 0
    args.data = args.data.resolve()
    trees = {THIS: REPO}
    with tempfile.TemporaryDirectory(prefix="storyline-against-") as folder:
        if args.against:
            trees[args.against] = Path(folder) / "tree"
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet",
                            str(trees[args.against]), args.against], cwd=REPO, check=True)
        try:
            runs = _measure_trees(trees, args)
        finally:
            if args.against:
                subprocess.run(["git", "worktree", "remove", "--force",
                                str(trees[args.against])], cwd=REPO, check=False)
    yardstick = _trafilatura_throughput(zyte, args.limit)
    words = sum(len(t.split()) for t in texts) / len(texts)
    print(f"\nAnnotate stage on {len(texts)} articles of ~{words:.0f} words x {args.repeat} "
          f"pass(es), median of {args.rounds} round(s)")
    names = list(trees)
    print(f"{'figure':<40}" + "".join(f"{name:>16}" for name in names))
    print("-" * (40 + 16 * len(names)))
    rows = [(f"articles/s, {args.processes} processes", "pool", "per_s"),
            (f"CPU ms/article, {args.processes} processes", "pool", "cpu_ms"),
            ("articles/s, 1 process", "single", "per_s"),
            ("CPU ms/article, 1 process", "single", "cpu_ms")]
    for label, part, figure in rows:
        print(f"{label:<40}" + "".join(f"{_median(runs[n], part, figure):>16.1f}" for n in names))
    print(f"{'trafilatura extract, pages/s (yardstick)':<40}{yardstick:>16.1f}")
    ours = _median(runs[THIS], "pool", "per_s")
    verdict = "meets" if ours >= TARGET_PER_SECOND else "MISSES"
    print(f"\nTarget >= {TARGET_PER_SECOND:.0f} articles/s on {args.processes} cores: {verdict}")
    if args.against:
        print(f"Annotations against {args.against}: "
              + _identical(runs[THIS][0]["annotations"], runs[args.against][0]["annotations"]))
    if args.json_out:
        figures = {name: {f"{part}_{figure}": _median(runs[name], part, figure)
                          for _label, part, figure in rows} for name in names}
        args.json_out.write_text(json.dumps({**figures, "trafilatura_pages_per_s": yardstick},
                                            indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
