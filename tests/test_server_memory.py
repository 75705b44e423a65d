"""The server's memory against small hostile inputs: no request or fetched response of 2 KB or
less on the wire may raise the peak memory of the running server (or of its analysis process)
by more than 100 MB. A real ``storyline serve`` in its own process, a real hostile HTTP server
on 127.0.0.1; peaks are the kernel's (``VmHWM``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from conftest import REPO
from live_server import stop_server_process
from hostile_server import (DOUBLE_BOMB, GZIP_IN_GZIP, MEMORY_HEADROOM_MB, SINGLE_BOMB, TAG_BOMB,
                            WIRE_LIMIT, hostile_server)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="peaks are read from Linux's /proc")

FETCHED = ("/double-gzip", "/double-gzip-headers", "/gzip-bomb", "/gzip-in-gzip", "/tag-bomb")
NESTED_JSON = "[" * 1000 + "]" * 1000  # 2 KB: a thousand levels of JSON arrays
MANY_WORDS = " ".join(["a"] * 900)  # a search of 900 one-letter words


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with hostile_server() as base:
        yield base


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(base URL, process id) of ``storyline serve --allow-private`` over a new database."""
    db = tmp_path_factory.mktemp("memory") / "memory.db"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "storyline", "serve", "--db", str(db),
                                "--port", str(port), "--allow-private"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, process.pid
    finally:
        stop_server_process(process)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        try:
            httpx.get(f"{base}/api/stories", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def peaks(pid: int) -> dict[int, float]:
    """Peak resident memory (MB) of ``pid`` and each of its child processes."""
    found = {}
    # A child is listed under the thread that started it: look under every thread.
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in _read(task / "children").split()]
    for process in [pid, *children]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                found[process] = int(line.split()[1]) / 1024
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # the thread ended meanwhile
        return ""


def assert_no_growth(before: dict[int, float], after: dict[int, float], case: str) -> None:
    for process, peak in after.items():
        # A process started since (a new analysis process) is held to the largest child's peak.
        start = before.get(process, max(before.values()))
        assert peak - start < MEMORY_HEADROOM_MB, (case, process, start, peak)


def _post_briefing(base: str, body: object) -> httpx.Response:
    return httpx.post(f"{base}/api/briefings", content=json.dumps(body), timeout=300,
                      headers={"Content-Type": "application/json", "Host": "localhost"})


def _job(base: str, **form: object) -> None:
    """An ingest job of the add form, followed until it ends."""
    answer = httpx.post(f"{base}/add", timeout=60, headers={"Host": "localhost"}, **form)  # type: ignore[arg-type]
    assert answer.status_code == 303, answer.text
    job = answer.headers["location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = httpx.get(f"{base}/api/jobs/{job}", headers={"Host": "localhost"}).json()["state"]
        if state in {"done", "failed"}:
            return
        time.sleep(0.3)
    raise AssertionError(f"job {job} never ended")


def _cases(hostile: str) -> dict[str, Callable[[str], object]]:
    cases: dict[str, Callable[[str], object]] = {}
    for path in FETCHED:
        cases[f"briefing of {path}"] = lambda base, p=path: _post_briefing(base, {"urls": [hostile + p]})
        cases[f"job of {path}"] = lambda base, p=path: _job(base, data={"new_story": "Hostile",
                                                                         "urls": hostile + p})
    for name, data in (("double bomb", DOUBLE_BOMB), ("bomb", SINGLE_BOMB), ("gzip in gzip", GZIP_IN_GZIP),
                       ("tag bomb", TAG_BOMB)):
        cases[f"upload of a {name}"] = lambda base, d=data: _job(
            base, data={"new_story": "Uploads"}, files={"files": ("page.html.gz", d, "application/gzip")})
    cases["nested JSON body"] = lambda base: httpx.post(
        f"{base}/api/briefings", content=NESTED_JSON, headers={"Host": "localhost"}, timeout=60)
    cases["nested JSON document"] = lambda base: _post_briefing(base, {"documents": [{"text": NESTED_JSON}]})
    cases["a search of 900 words"] = lambda base: httpx.get(
        f"{base}/api/search", params={"q": MANY_WORDS}, headers={"Host": "localhost"}, timeout=60)
    return cases


def test_no_small_input_raises_the_servers_peak_memory_by_100_mb(server: tuple[str, int], hostile: str) -> None:
    base, pid = server
    assert max(len(DOUBLE_BOMB), len(SINGLE_BOMB), len(GZIP_IN_GZIP), len(TAG_BOMB),
               len(NESTED_JSON), len(MANY_WORDS)) <= WIRE_LIMIT
    # The baseline: an ordinary fetched article briefed and stored (the models loaded, the
    # analysis process started), and a search.
    assert _post_briefing(base, {"urls": [f"{hostile}/article"]}).status_code == 200
    _job(base, data={"new_story": "Ordinary", "urls": f"{hostile}/article"})
    httpx.get(f"{base}/api/search", params={"q": "river"}, headers={"Host": "localhost"})
    before = peaks(pid)
    assert len(before) >= 2, "the analysis process runs beside the server"
    for case, send in _cases(hostile).items():
        send(base)
        assert_no_growth(before, peaks(pid), case)
    assert httpx.get(f"{base}/api/stories", headers={"Host": "localhost"}).status_code == 200

