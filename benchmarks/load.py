"""A bounded load test of the web server: readers and writers at once, beside an earlier commit.

For each tree (this checkout, then ``--against REV`` checked out into a temporary worktree) the
harness builds a database with that tree's own CLI (the example outlets and corpus, one story),
starts that tree's ``storyline serve`` on a free loopback port in a process of its own, and then,
for ``--seconds``:

* ``--readers`` threads loop over the read endpoints (home page, story page, source page, search
  page; ``/api/stories``, ``/api/stories/ID``, ``/api/stories/ID/briefing``, ``/api/search``), one
  request after another, as people browsing;
* ``--writers`` threads alternate the two writes: ``POST /api/briefings`` of two articles (an
  analysis the client waits for) and ``POST /add`` of one article into the story being read (an
  ingest job, then the story's briefing made anew), each writer polling its job until it ends,
  as a well-behaved client does. A ``503`` with ``Retry-After`` is the queue's back-pressure: it
  is counted apart and the writer waits as told.

Articles to write come from Multi-News development clusters when DATA holds them (each once,
cut to ``--chars``), else from the example corpus. It prints requests/s and p50/p95 per
endpoint, errors (any status >= 400 but the counted 503s, or a failed connection), and the
server's memory (resident set of its process) at the start of the run, at its middle, at its
end and at its peak; memory is flat when the second half grew by less than 50 MB. Everything
runs on this machine: the clients share its cores with the server, as they would on a laptop.

``--steady SECONDS`` runs a steady load instead, for that long: the same readers, and writers
whose ingest jobs go into another story ("Unread desk") that nobody reads, so the pages read
keep their size and the server has no reason to grow once warm. It reports the serving
process's resident memory at each quarter of the run and how much it grew in the second half
against the first: a server that leaks keeps growing in the second half.

``--heapdump`` (a diagnosis, not a measurement: tracing slows the server) starts the server
with ``STORYLINE_HEAPDUMP`` set; the server then traces its allocations (``tracemalloc``) and
writes a snapshot on each ``SIGUSR1`` (``storyline.web.heap``), and so does its analysis
process, in files of its own (it traces from the first signal: its models would load for
minutes under tracing); the harness asks both for one at the middle and at the end of the run
and prints, for each, the places whose allocations grew most between them.

    python benchmarks/load.py [DATA] [--seconds 30] [--readers 20] [--writers 4] [--against REV]
    python benchmarks/load.py [DATA] --steady 120 [--against REV] [--heapdump]

Goal (issue 14): no error, reads p95 <= 150 ms while writes run, memory flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_argument_parser  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STORY_NAME = "Orla river deal"
UNREAD_STORY = "Unread desk"  # where a steady run's writers file their articles
READ_P95_GOAL_MS = 150.0
HEAPDUMP_ENV = "STORYLINE_HEAPDUMP"  # storyline.web.heap's; the base commit may not know it
ANALYSIS_HEAPDUMP = "analysis"  # storyline.web.analysis's name for its process's snapshots
FLAT_MB = 50.0
SEARCH_WORDS = ("river", "deal", "minister", "dam", "water", "talks", "border", "said")


# --------------------------------------------------------------------------- the server


def _run_cli(tree: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "storyline", *args], cwd=tree, env=_env(tree),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _env(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "src"), "HF_HUB_OFFLINE": "1"}


def build_database(tree: Path, db: Path, unread: str | None = None) -> None:
    """The example outlets and corpus in one story, stored by ``tree``'s own CLI; with
    ``unread``, that text too, alone in a second story (a steady run's writers file there)."""
    _run_cli(tree, "outlets", "import", str(REPO / "examples" / "outlets.json"), "--db", str(db))
    _run_cli(tree, "ingest", str(REPO / "examples" / "corpus"), "--db", str(db), "--story", STORY_NAME)
    if unread is not None:
        article = db.parent / "unread.txt"
        article.write_text(unread, encoding="utf-8")
        _run_cli(tree, "ingest", str(article), "--db", str(db), "--story", UNREAD_STORY)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(tree: Path, db: Path, heapdump: Path | None = None) -> Iterator[tuple[str, int]]:
    """(base URL, process id) of ``tree``'s server over ``db`` while the block runs; with
    ``heapdump``, a server that traces its allocations and writes snapshots there."""
    port = _free_port()
    env = _env(tree) | ({HEAPDUMP_ENV: str(heapdump)} if heapdump else {})
    process = subprocess.Popen(
        [sys.executable, "-m", "storyline", "serve", "--db", str(db), "--port", str(port)],
        cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            message = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise SystemExit(f"the server stopped before answering: {message.strip()[-400:]}")
        try:
            if httpx.get(f"{base}/api/stories", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not answer within 120 s")


def resident_mb(pid: int, *, children: bool = True) -> float:
    """The resident memory of ``pid`` and (``children``) its descendants, in MB (from /proc)."""
    total = 0.0
    for process in [pid, *(_children(pid) if children else [])]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return total


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid``: a child is listed under the thread that started it."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += (task / "children").read_text().split()
        except OSError:  # the thread ended meanwhile
            continue
    return [number for child in found for number in (int(child), *_children(int(child)))]


# --------------------------------------------------------------------------- the load


@dataclass
class Tally:
    """Latencies per endpoint, errors and back-pressure answers, shared by the client threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    busy: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, seconds: float, problem: str | None = None) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            if problem:
                self.errors[endpoint].append(problem)


def timed(tally: Tally, endpoint: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    """``call`` timed and recorded under ``endpoint``; a failure is an error, 503 is back-pressure."""
    started = time.perf_counter()
    try:
        response = call()
    except httpx.HTTPError as exc:
        tally.record(endpoint, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        return None
    seconds = time.perf_counter() - started
    if response.status_code == 503 and "retry-after" in response.headers:
        with tally.lock:
            tally.busy[endpoint] += 1
        return response
    problem = f"{response.status_code}: {response.text[:120]}" if response.status_code >= 400 else None
    tally.record(endpoint, seconds, problem)
    return response


class Connection:
    """One keep-alive HTTP/1.1 connection, as light as a load generator must be: twenty
    ``httpx`` clients in threads cost more CPU than the server they measure on two cores."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._streams
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        status_line = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in {b"\r\n", b""}:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:
            body = await _chunked(reader)
        if headers.get("connection", "").lower() == "close":
            writer.close()
            self._streams = None
        return int(status_line.split()[1]), body


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while size := int((await reader.readline()).split(b";")[0], 16):
        body += await reader.readexactly(size)
        await reader.readline()
    await reader.readline()
    return bytes(body)


async def read_loop(base: str, story: int, source: str, tally: Tally, stop: threading.Event, seed: int) -> None:
    """One reader: a random read after another until ``stop``."""
    chance = random.Random(seed)
    reads: list[tuple[str, Callable[[], str]]] = [
        ("GET /", lambda: "/"),
        ("GET /stories/ID", lambda: f"/stories/{story}"),
        ("GET /sources/ID", lambda: f"/sources/{source}?story={story}"),
        ("GET /search", lambda: f"/search?q={chance.choice(SEARCH_WORDS)}"),
        ("GET /api/stories", lambda: "/api/stories"),
        ("GET /api/stories/ID", lambda: f"/api/stories/{story}"),
        ("GET /api/stories/ID/briefing", lambda: f"/api/stories/{story}/briefing"),
        ("GET /api/search", lambda: f"/api/search?q={chance.choice(SEARCH_WORDS)}"),
    ]
    host, port = base.removeprefix("http://").split(":")
    connection = Connection(host, int(port))
    while not stop.is_set():
        name, path = chance.choice(reads)
        started = time.perf_counter()
        try:
            status, body = await connection.get(path())
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            tally.record(name, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
            connection = Connection(host, int(port))
            continue
        problem = f"{status}: {body[:120]!r}" if status >= 400 else None
        tally.record(name, time.perf_counter() - started, problem)


def readers_thread(base: str, story: int, source: str, tally: Tally, stop: threading.Event, count: int) -> None:
    """``count`` readers, each a coroutine of one event loop in this thread."""

    async def all_readers() -> None:
        await asyncio.gather(*(read_loop(base, story, source, tally, stop, n) for n in range(count)))

    asyncio.run(all_readers())


def writer(base: str, story: int, articles: Iterator[str], tally: Tally, stop: threading.Event,
           done: list[int]) -> None:
    with httpx.Client(base_url=base, timeout=300) as client:
        while not stop.is_set():
            pair = [next(articles), next(articles)]
            timed(tally, "POST /api/briefings", lambda: client.post("/api/briefings", json={"documents": pair}))
            if stop.is_set():
                return
            response = timed(tally, "POST /add", lambda: client.post(
                "/add", data={"story": str(story), "text": next(articles)}, follow_redirects=False))
            if response is not None and response.status_code == 503:
                stop.wait(float(response.headers.get("retry-after", "1")))
            elif response is not None and response.status_code == 303:
                _follow_job(client, response.headers["location"].rsplit("/", 1)[-1], tally, stop, done)


def _follow_job(client: httpx.Client, job: str, tally: Tally, stop: threading.Event, done: list[int]) -> None:
    """Poll ``/api/jobs/JOB`` until the job ends (or the run does)."""
    while not stop.wait(0.5):
        response = timed(tally, "GET /api/jobs/ID", lambda: client.get(f"/api/jobs/{job}"))
        if response is None or response.status_code != 200:
            return
        state = response.json().get("state")
        if state in {"done", "failed"}:
            if state == "failed":
                tally.record("job", 0.0, str(response.json().get("message")))
            done[0] += 1
            return


def article_texts(data: Path, chars: int) -> list[str]:
    """Texts to write: Multi-News development articles when there, else the example corpus's."""
    path = data / "mds" / "multinews_dev.jsonl"
    if path.is_file():
        texts = [t for line in path.open(encoding="utf-8") for t in json.loads(line)["documents"]]
    else:
        texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "examples" / "corpus").glob("*.txt"))]
    texts = [t[:chars] for t in texts if len(t.split()) > 120]
    random.Random(7).shuffle(texts)
    return texts


def endless(texts: list[str]) -> Iterator[str]:
    """Each text once, in turn; then again, told apart so that no copy is folded away."""
    lap = 0
    while True:  # shared by the writer threads through ``_locked``
        for text in texts:
            yield text if not lap else f"{text}\n\nUpdate {lap}: the count was revised."
        lap += 1


def warm_up(base: str, story: int, source: str, text: str) -> None:
    """Every read once (the story's briefing is made) and one analysis (the models are loaded),
    so that the memory measured is the server's at work, not its start."""
    with httpx.Client(base_url=base, timeout=300) as client:
        for path in (f"/stories/{story}", "/", f"/sources/{source}?story={story}", "/search?q=river",
                     f"/api/stories/{story}/briefing", "/api/search?q=deal"):
            client.get(path).raise_for_status()
        client.post("/api/briefings", json={"documents": [text]}).raise_for_status()


@dataclass
class Run:
    tally: Tally
    seconds: float
    memory: list[tuple[float, float]]
    jobs_done: int
    serving_memory: list[float]


def load(base: str, pid: int, texts: list[str], seconds: float, readers: int, writers: int,
         steady: bool = False, heapdump: bool = False) -> Run:
    """``seconds`` of load; ``steady``: the writers file into the story nobody reads;
    ``heapdump``: the server is asked for a heap snapshot at the middle and at the end."""
    with httpx.Client(base_url=base, timeout=60) as client:
        stories = {s["name"]: s["id"] for s in client.get("/api/stories").json()}
        story = stories[STORY_NAME]
        source = client.get(f"/api/stories/{story}/briefing", timeout=300).json()["sources"][0]["id"]
    warm_up(base, story, source, texts[-1])
    tally, stop, done = Tally(), threading.Event(), [0]
    shared = _locked(endless(texts))
    written = stories[UNREAD_STORY] if steady else story
    threads = [threading.Thread(target=readers_thread, args=(base, story, source, tally, stop, readers),
                                daemon=True)]
    threads += [threading.Thread(target=writer, args=(base, written, shared, tally, stop, done), daemon=True)
                for _ in range(writers)]
    memory: list[tuple[float, float]] = []
    own: list[float] = []  # the serving process alone
    started = time.monotonic()
    for thread in threads:
        thread.start()
    asked = False
    while (elapsed := time.monotonic() - started) < seconds:
        memory.append((elapsed, resident_mb(pid)))
        own.append(resident_mb(pid, children=False))
        if heapdump and not asked and elapsed >= seconds / 2:
            _ask_for_heap_dumps(pid)
            asked = True
        time.sleep(0.5)
    if heapdump:
        _ask_for_heap_dumps(pid)
        time.sleep(5)  # the snapshot is written between two requests of the main thread
    stop.set()
    for thread in threads:
        thread.join(timeout=300)
    memory.append((time.monotonic() - started, resident_mb(pid)))
    own.append(resident_mb(pid, children=False))
    return Run(tally, time.monotonic() - started, memory, done[0], own)


def _ask_for_heap_dumps(pid: int) -> None:
    """``SIGUSR1`` to the server and to its analysis process (a process started by
    multiprocessing's ``spawn``; not its resource tracker, which the signal would end)."""
    os.kill(pid, signal.SIGUSR1)
    for child in _children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            os.kill(child, signal.SIGUSR1)


class _locked(Iterator[str]):
    """An iterator several threads may draw from."""

    def __init__(self, items: Iterator[str]) -> None:
        self._items, self._lock = items, threading.Lock()

    def __next__(self) -> str:
        with self._lock:
            return next(self._items)


# --------------------------------------------------------------------------- the report


def figures(run: Run) -> dict[str, object]:
    rows = {}
    reads: list[float] = []
    for endpoint, values in sorted(run.tally.latencies.items()):
        if endpoint == "job":
            continue
        rows[endpoint] = {"requests": len(values), "per_second": len(values) / run.seconds,
                          "p50_ms": _percentile(values, 50) * 1000, "p95_ms": _percentile(values, 95) * 1000,
                          "errors": len(run.tally.errors.get(endpoint, [])),
                          "busy_503": run.tally.busy.get(endpoint, 0)}
        if endpoint.startswith("GET") and "/jobs/" not in endpoint:
            reads += values
    mb = [m for _, m in run.memory]
    half = len(mb) // 2
    own = run.serving_memory
    quarters = [own[min(len(own) - 1, len(own) * k // 4)] for k in range(5)]
    rest = [whole - alone for whole, alone in zip(mb, own)]  # the analysis process, mostly
    rest_quarters = [rest[min(len(rest) - 1, len(rest) * k // 4)] for k in range(5)]
    return {
        "endpoints": rows,
        "reads": {"requests": len(reads), "per_second": len(reads) / run.seconds,
                  "p50_ms": _percentile(reads, 50) * 1000, "p95_ms": _percentile(reads, 95) * 1000},
        "errors": sum(len(v) for v in run.tally.errors.values()),
        "error_samples": [e for v in run.tally.errors.values() for e in v][:5],
        "jobs_done": run.jobs_done,
        "memory_mb": {"start": mb[0], "middle": mb[half], "end": mb[-1], "peak": max(mb),
                      "second_half_growth": mb[-1] - mb[half],
                      "serving_process": {"start": own[0], "middle": own[half], "end": own[-1],
                                          "quarters": quarters, "peak": max(own),
                                          "first_half_growth": quarters[2] - quarters[0],
                                          "second_half_growth": quarters[4] - quarters[2]},
                      "its_children": {"quarters": rest_quarters, "peak": max(rest),
                                       "first_half_growth": rest_quarters[2] - rest_quarters[0],
                                       "second_half_growth": rest_quarters[4] - rest_quarters[2]}},
    }


def _percentile(values: list[float], percent: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def print_report(results: dict[str, dict[str, object]], seconds: float, readers: int, writers: int) -> None:
    print(f"\n{seconds:g} s, {readers} readers, {writers} writers, on this machine "
          f"({os.cpu_count()} cores shared by server and clients)\n")
    names = list(results)
    endpoints = sorted({e for r in results.values() for e in r["endpoints"]})  # type: ignore[attr-defined]
    print(f"{'endpoint':32}" + "".join(f"{n[:30]:>34}" for n in names))
    print(f"{'':32}" + "".join(f"{'req/s  p50 ms  p95 ms  err':>34}" for _ in names))
    for endpoint in endpoints:
        cells = [_cell(r["endpoints"].get(endpoint)) for r in results.values()]  # type: ignore[attr-defined]
        print(f"{endpoint:32}" + "".join(f"{c:>34}" for c in cells))
    print(f"{'all reads':32}" + "".join(f"{_cell({**r['reads'], 'errors': ''}):>34}"  # type: ignore[dict-item]
                                      for r in results.values()))
    for name, result in results.items():
        memory = result["memory_mb"]
        reads = result["reads"]
        verdict = ("met" if result["errors"] == 0 and reads["p95_ms"] <= READ_P95_GOAL_MS  # type: ignore[index]
                   and memory["second_half_growth"] < FLAT_MB else "NOT met")  # type: ignore[index]
        print(f"\n{name}: errors {result['errors']}, ingest jobs finished {result['jobs_done']}, "
              f"server memory MB start {memory['start']:.0f} / middle {memory['middle']:.0f} / "  # type: ignore[index]
              f"end {memory['end']:.0f} / peak {memory['peak']:.0f} "  # type: ignore[index]
              f"(second half {memory['second_half_growth']:+.0f}; the serving process alone "  # type: ignore[index]
              f"{memory['serving_process']['start']:.0f} / {memory['serving_process']['middle']:.0f} / "  # type: ignore[index]
              f"{memory['serving_process']['end']:.0f}); goal {verdict}")  # type: ignore[index]
        own = memory["serving_process"]  # type: ignore[index]
        print(f"  the serving process alone, MB at 0/25/50/75/100 % of the run: "
              f"{' / '.join(f'{q:.0f}' for q in own['quarters'])} (peak {own['peak']:.0f}); grew "
              f"{own['first_half_growth']:+.0f} in the first half, {own['second_half_growth']:+.0f} "
              f"in the second")
        rest = memory.get("its_children")  # type: ignore[attr-defined]
        if rest:
            print(f"  its children (the analysis process, the resource tracker), MB at 0/25/50/75/100 %: "
                  f"{' / '.join(f'{q:.0f}' for q in rest['quarters'])} (peak {rest['peak']:.0f}); grew "
                  f"{rest['first_half_growth']:+.0f} in the first half, {rest['second_half_growth']:+.0f} "
                  f"in the second")
        for sample in result["error_samples"]:  # type: ignore[attr-defined]
            print(f"  error: {sample}")
        for line in result.get("heap_growth", []):  # type: ignore[attr-defined]
            print(f"  heap: {line}")


def _cell(row: dict[str, object] | None) -> str:
    if row is None:
        return "-"
    busy = f" (+{row['busy_503']} 503)" if row.get("busy_503") else ""
    return (f"{row['per_second']:6.1f} {row['p50_ms']:7.0f} {row['p95_ms']:7.0f} "
            f"{row['errors']!s:>4}{busy}")


def measure(tree: Path, texts: list[str], args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="storyline-load-") as folder:
        db = Path(folder) / "load.db"
        dumps = Path(folder) / "heap" if args.heapdump else None
        print(f"{tree}: building the database", file=sys.stderr)
        build_database(tree, db, unread=texts[0] if args.steady else None)
        with serving(tree, db, dumps) as (base, pid):
            print(f"{tree}: serving at {base}; {args.seconds:g} s of "
                  f"{'steady ' if args.steady else ''}load", file=sys.stderr)
            run = load(base, pid, texts, args.seconds, args.readers, args.writers,
                       steady=bool(args.steady), heapdump=bool(dumps))
        result = figures(run)
        if dumps is not None:
            result["heap_growth"] = heap_growth(dumps) + [
                f"analysis process: {line}" for line in heap_growth(dumps, ANALYSIS_HEAPDUMP)]
    return result


def heap_growth(dumps: Path, process: str = "", top: int = 15) -> list[str]:
    """The places whose traced allocations grew most between the two snapshots of the server
    (or of its ``process``, ``"analysis"``)."""
    import tracemalloc

    pattern = f"{dumps.name}.{process}.*.snapshot" if process else f"{dumps.name}.[0-9]*.snapshot"
    snapshots = sorted(dumps.parent.glob(pattern))
    if len(snapshots) < 2:
        return [f"{len(snapshots)} heap snapshot(s) written: does this tree know {HEAPDUMP_ENV}?"]
    first, last = (tracemalloc.Snapshot.load(str(path)) for path in (snapshots[0], snapshots[-1]))
    return [str(stat) for stat in last.compare_to(first, "lineno")[:top]]


@contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="storyline-against-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), revision],
                       cwd=REPO, check=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)


def main() -> int:
    parser = data_argument_parser(__doc__ or "")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--chars", type=int, default=3000, help="characters of each written article")
    parser.add_argument("--against", default=None, help="also run an earlier commit (e.g. HEAD~1)")
    parser.add_argument("--steady", type=float, default=None, metavar="SECONDS",
                        help="a steady run this long instead: the writers file into a story nobody reads")
    parser.add_argument("--heapdump", action="store_true",
                        help="trace the server's allocations; print what grew from the middle to the end")
    args = parser.parse_args()
    if args.steady:
        args.seconds = args.steady
    texts = article_texts(args.data, args.chars)
    results = {"this checkout": measure(REPO, texts, args)}
    if args.against:
        with checked_out(args.against) as tree:
            results[args.against] = measure(tree, texts, args)
    print_report(results, args.seconds, args.readers, args.writers)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    this = results["this checkout"]
    return 0 if this["errors"] == 0 and this["reads"]["p95_ms"] <= READ_P95_GOAL_MS else 1  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
