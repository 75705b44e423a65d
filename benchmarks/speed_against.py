"""Briefing speed of this checkout beside an earlier commit, measured in one run.

Runs ``benchmarks/brief_speed.py`` of both trees in turn (this checkout, then REV, repeated),
each in its own process with its own ``src`` first on the path, so both are timed under the
same load on the same machine; prints the median of every case side by side. REV is checked out
into a temporary git worktree, removed afterwards.

    python benchmarks/speed_against.py [DATA] --against HEAD~1 [--rounds 3]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_argument_parser  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def timings(tree: Path, data: Path) -> dict[str, float]:
    """One pass of ``tree``'s own brief_speed harness: case -> seconds."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "speed.json"
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        subprocess.run([sys.executable, str(tree / "benchmarks" / "brief_speed.py"), str(data),
                        "--repeat", "1", "--json", str(out)], cwd=tree, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        result: dict[str, float] = json.loads(out.read_text())
        return result


def main() -> int:
    parser = data_argument_parser(__doc__ or "")
    parser.add_argument("--against", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("--rounds", type=int, default=3, help="passes of each tree, alternating")
    args = parser.parse_args()
    data = args.data.resolve()
    with tempfile.TemporaryDirectory(prefix="storyline-against-") as folder:
        other = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(other), args.against],
                       cwd=REPO, check=True)
        try:
            samples: dict[str, dict[str, list[float]]] = {"this": defaultdict(list),
                                                          args.against: defaultdict(list)}
            for round_number in range(1, args.rounds + 1):
                for name, tree in (("this", REPO), (args.against, other)):
                    print(f"round {round_number}/{args.rounds}: {name}", file=sys.stderr)
                    for case, seconds in timings(tree, data).items():
                        samples[name][case].append(seconds)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=REPO,
                           check=False)
    print(f"\n{'case (median seconds)':<46}{'this checkout':>15}{args.against:>15}")
    print("-" * 76)
    for case in samples["this"]:
        ours = statistics.median(samples["this"][case])
        theirs = samples[args.against].get(case)
        shown = f"{statistics.median(theirs):>15.2f}" if theirs else f"{'-':>15}"
        print(f"{case:<46}{ours:>15.2f}{shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
