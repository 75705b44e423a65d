"""Where a PostgreSQL search's time goes: the server's share beside the client's wall time.

    python benchmarks/search_plans.py [DATA] --db postgresql://.../pg100k_bench [--repeat 5]

For each of ``scale.py``'s search cases (``web_speed.py``'s: common words, rare words, two
words, a phrase, a common word within one story) over a store ``scale.py --fill N`` filled,
``store.search`` is run ``repeat`` times; each ranking statement it sends is first sent once
more as ``EXPLAIN (ANALYZE, BUFFERS)``, in the same transaction with the same settings, so the
server's planning and execution time of the very statements are read. Printed per case
(medians): the rounds (windows asked), planning and execution time, the shared buffers hit and
read, and the search's wall time less the EXPLAIN's own. On a shared machine the wall time moves
with the load; the execution time moves too, but the buffers do not: a quiet machine's figures
are those to quote, these say how the time divides.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402

from common import DEFAULT_DATA  # noqa: E402
from scale import load_pools  # noqa: E402
from storyline.store import open_store  # noqa: E402
from web_speed import _SENTENCE_END, queries  # noqa: E402

RANKING = "WITH candidates"  # how postgres.py's ranking statement begins


class Explained:
    """Wraps ``psycopg.Cursor.execute``: each ranking statement is explained before it runs."""

    def __init__(self) -> None:
        self.plans: list[dict[str, Any]] = []
        self.seconds = 0.0
        self._execute = psycopg.Cursor.execute

    def __enter__(self) -> Explained:
        explained = self

        def execute(cursor: Any, query: Any, params: Any = None, **options: Any) -> Any:
            if isinstance(query, str) and query.startswith(RANKING):
                began = time.perf_counter()
                rows = explained._execute(cursor, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query,
                                          params, **options).fetchall()
                explained.seconds += time.perf_counter() - began
                explained.plans.append(rows[0][0][0])
            return explained._execute(cursor, query, params, **options)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        psycopg.Cursor.execute = self._execute  # type: ignore[method-assign]


def buffers(plan: dict[str, Any]) -> tuple[int, int]:
    return plan["Plan"].get("Shared Hit Blocks", 0), plan["Plan"].get("Shared Read Blocks", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--db", required=True, help="a PostgreSQL store filled by scale.py --fill")
    parser.add_argument("--repeat", type=int, default=5, help="timed searches a case (default 5)")
    args = parser.parse_args()
    pools = load_pools(args.data)
    sentences = [s.strip() for p in pools for paragraph in p.paragraphs
                 for s in _SENTENCE_END.split(paragraph) if 6 <= len(s.split()) <= 60]
    with open_store(args.db) as store:
        story = store.story("filled story 7")
        print(f"{store.count()} documents; load average {Path('/proc/loadavg').read_text().split()[:3]}")
        print(f"{'case':<40}{'rounds':>7}{'planning':>10}{'execution':>11}{'hit':>8}{'read':>7}"
              f"{'wall less EXPLAIN':>19}")
        for name, params in queries(sentences, random.Random(20260611)):
            within = story.id if story is not None and "story" in params else None
            store.search(params["q"], limit=20, story=within)  # pages into the cache
            runs = []
            for _ in range(args.repeat):
                with Explained() as explained:
                    began = time.perf_counter()
                    store.search(params["q"], limit=20, story=within)
                    wall = time.perf_counter() - began - explained.seconds
                plans = explained.plans
                runs.append((len(plans), sum(p["Planning Time"] for p in plans),
                             sum(p["Execution Time"] for p in plans),
                             sum(buffers(p)[0] for p in plans), sum(buffers(p)[1] for p in plans),
                             wall * 1000))
            rounds, planning, execution, hit, read, wall = (
                statistics.median(run[k] for run in runs) for k in range(6))
            print(f"{name[:39]:<40}{rounds:>7.0f}{planning:>8.1f}ms{execution:>9.1f}ms"
                  f"{hit:>8.0f}{read:>7.0f}{wall:>17.1f}ms")


if __name__ == "__main__":
    main()
