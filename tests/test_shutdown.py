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


# --- SIGTERM during `storyline ingest`: the input in hand is finished and stored -------------

import threading  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer  # noqa: E402

from storyline.store import open_store  # noqa: E402

ANSWER_PAUSE = 1.0  # each article takes this long to come, so a SIGTERM lands mid-fetch
PLACES = ("Osterby", "Kellmere", "Varnholt", "Sundgate", "Ebbridge", "Corran")
SUBJECTS = ("ferry timetable", "library roof", "harbour dredging", "school bus route",
            "market square", "water tower")


def invented_article(number: int) -> bytes:
    place, subject = PLACES[number % len(PLACES)], SUBJECTS[number % len(SUBJECTS)]
    return (f"<html><head><title>{place} council settles the {subject}</title></head><body>"
            f"<article><h1>{place} council settles the {subject}</h1>"
            f"<p>The council of {place} voted on the {subject} after a long evening of debate, "
            f"and member number {number} spoke last.</p>"
            f"<p>Residents of {place} had written {number + 3} letters about the {subject} "
            "since the spring, most of them asking for an earlier decision.</p>"
            "</article></body></html>").encode()


class SlowArticles(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        arrivals: list[str] = self.server.arrivals  # type: ignore[attr-defined]
        arrivals.append(self.path)
        self.server.arrived.set()  # type: ignore[attr-defined]
        time.sleep(ANSWER_PAUSE)
        body = invented_article(int(self.path.rsplit("/", 1)[1]))
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowArticles)
    server.daemon_threads = True
    server.arrivals = []  # type: ignore[attr-defined]
    server.arrived = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_sigterm_finishes_the_input_in_hand_and_exits_cleanly(
    db_url: str, slow_server: ThreadingHTTPServer
) -> None:
    """On each backend (``conftest.db_url``): what was stored before the signal is committed."""
    port = slow_server.server_address[1]
    urls = [f"http://127.0.0.1:{port}/article/{number}" for number in range(1, 7)]
    database = db_url
    ingest = subprocess.Popen(
        [sys.executable, "-m", "storyline", "ingest", "--db", database, "--allow-private",
         "--no-annotate", "--no-stories", *urls],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    arrivals: list[str] = slow_server.arrivals  # type: ignore[attr-defined]
    try:
        assert wait_until(lambda: len(arrivals) >= 2, seconds=120), arrivals
        ingest.send_signal(signal.SIGTERM)  # while the second article is on its way
        out, err = ingest.communicate(timeout=60)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    assert ingest.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert "stopped by SIGTERM" in err
    assert "Ingested 2 documents (2 new); stopped on request" in out
    assert [path.rsplit("/", 1)[1] for path in arrivals] == ["1", "2"]
    with open_store(database) as store:
        assert store.count() == 2


# --- SIGTERM during `storyline brief --batch`: the briefing under way is finished -----------


def handles_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (its SigCgt mask, from /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signal.SIGTERM - 1) & 1)


def test_sigterm_during_a_batch_writes_the_briefings_done(tmp_path: Path) -> None:
    import json
    import re

    batch = tmp_path / "batch.jsonl"
    stories = [[invented_article(number).decode() for number in (story, story + 6)] for story in range(3)]
    batch.write_text("".join(json.dumps({"id": f"story-{n}", "documents": [
        re.sub(r"<[^>]+>", "\n\n", text).strip() for text in texts]}) + "\n"
        for n, texts in enumerate(stories)), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    run = subprocess.Popen(
        [sys.executable, "-m", "storyline", "brief", "--batch", str(batch), "--format", "jsonl",
         "-o", str(output), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "STORYLINE_WORKERS": "1"},
    )
    try:
        assert wait_until(lambda: handles_sigterm(run.pid), seconds=120)
        run.send_signal(signal.SIGTERM)  # before the first briefing is done: it is finished
        _, err = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert "stopped by SIGTERM: 1 line written" in err
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["story-0"]
    assert "error" not in lines[0] and lines[0]["sources"]
