"""Clean shutdown with real processes: worker processes die with their parent however it dies,
and SIGTERM lets ``storyline ingest`` finish the input in hand, store it and exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find the workers")

SETTLE_SECONDS = 10.0  # the longest a dying process may take to go


def children_of(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (read from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # it ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_until(condition: object, seconds: float = SETTLE_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


POOL_SCRIPT = textwrap.dedent("""
    import sys, time
    from storyline.pipeline import executor
    from storyline.pipeline.executor import LocalPool

    if sys.argv[1:] == ["--watch"]:  # as where there is no PR_SET_PDEATHSIG (macOS)
        executor.ask_kernel_to_kill_on_parent_death = lambda: False

    def nap(seconds):
        time.sleep(seconds)
        return seconds

    with LocalPool(2) as pool:
        results = pool.map(nap, [300, 300])
        print("working", flush=True)
        list(results)
""")


@pytest.mark.parametrize(("kill", "how"), [(signal.SIGKILL, "--kernel"), (signal.SIGTERM, "--kernel"),
                                           (signal.SIGKILL, "--watch")])
def test_workers_die_with_their_parent(tmp_path: Path, kill: signal.Signals, how: str) -> None:
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    workers: set[int] = set()
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "working\n"
        assert wait_until(lambda: len(children_of(parent.pid)) >= 2)
        workers = children_of(parent.pid)
        parent.send_signal(kill)
        parent.wait(timeout=SETTLE_SECONDS)
        assert wait_until(lambda: not any(alive(worker) for worker in workers)), workers
    finally:
        for worker in workers:
            if alive(worker):
                os.kill(worker, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
