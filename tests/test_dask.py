"""The per-document work on a real Dask cluster (a LocalCluster of worker processes).

Shards read exactly what the readers read; an ingest through Dask stores what the local pool
stores (documents, annotations, stories, failures; into SQLite and PostgreSQL alike); the window
of documents in flight is bounded; a worker killed with SIGKILL mid-run loses nothing and doubles
nothing; a scheduler that does not answer is one line, exit code 2, and nothing written. Without dask installed these tests skip
(fail under CI=true)."""

from __future__ import annotations

import csv
import io
import json
import operator
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from conftest import REPO, require
from pile_texts import STORIES, WATER, WEDDING
from storyline.context import Settings
from storyline.model import Document, InputError
from storyline.outlets import Registry
from storyline.pipeline.documents import IngestReport, ingest
from storyline.pipeline.shards import plan_shards, read_shard, ReadOptions
from storyline.read.readers import read_inputs
from storyline.store import open_store

try:
    import distributed  # noqa: F401
    HAVE_DASK = True
except ImportError:  # pragma: no cover - the cluster extra is not installed
    HAVE_DASK = False

ARTICLES = [*(article for story in STORIES.values() for article in story), *WATER, WEDDING]


def _html(title: str, text: str) -> str:
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"<p>{text}</p></article></body></html>")


def _warc(path: Path, pages: list[tuple[str, str]], *, gzip: bool) -> None:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=gzip)
    for number, (title, text) in enumerate(pages):
        if number == 1:  # a request record between the responses: skipped by the reader
            writer.write_record(writer.create_warc_record(
                f"https://news.example/{number}", "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n")))
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")],
                                protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(
            f"https://news.example/{number}", "response",
            payload=io.BytesIO(_html(title, text).encode()), http_headers=http))
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def corpus(tmp_path: Path) -> list[str]:
    """Every splittable kind of input, with bad records among the good ones."""
    articles = ARTICLES
    jsonl = tmp_path / "wire.jsonl"
    lines = [json.dumps({"title": t, "text": x, "outlet": "Wire"}) for t, x in articles[:5]]
    lines.insert(2, "")  # a blank line: skipped, still counted in the line numbers
    lines.insert(4, "{not json")  # one InputError, the rest goes on
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = tmp_path / "desk.csv"
    with table.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["title", "text"])
        for title, text in articles[5:9]:
            out.writerow([title, text.replace(". ", ".\n", 1)])  # quoted fields spanning lines
        out.writerow(["no body", ""])  # a record without text: one InputError
    _warc(tmp_path / "crawl.warc.gz", articles[9:12], gzip=True)
    folder = tmp_path / "folder"
    folder.mkdir()
    for number, (title, text) in enumerate(articles[12:], start=1):
        (folder / f"{number:02d}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    (folder / "picture.png").write_bytes(b"\x89PNG not an article")
    return [str(jsonl), str(table), str(tmp_path / "crawl.warc.gz"), str(folder),
            str(tmp_path / "missing.txt")]


def _summary(item: Any) -> tuple[str, str, str]:
    if isinstance(item, InputError):
        return ("error", item.origin, item.reason)
    return ("source", item.origin, item.data if isinstance(item.data, str) else item.data.decode())


@pytest.mark.parametrize("size", [1, 2, 16])
def test_shards_read_exactly_what_the_readers_read(corpus: list[str], size: int) -> None:
    plain = [_summary(item) for item in read_inputs(corpus)]
    shards = list(plan_shards(corpus, size=size))
    sharded = [_summary(item) for shard in shards for item in read_shard(shard, ReadOptions())]
    assert sharded == plain
    assert all(shard.documents <= size for shard in shards)
    if size == 2:  # the record files were split, not read whole by one worker
        assert len(shards) >= 8


def test_a_csv_with_an_unclosed_quote_is_one_unit_with_the_readers_error(tmp_path: Path) -> None:
    table = tmp_path / "broken.csv"
    table.write_text('title,text\nA,"good text here\nB,more\n', encoding="utf-8")
    plain = [_summary(item) for item in read_inputs([str(table)])]
    shards = list(plan_shards([str(table)], size=1))
    assert len(shards) == 1
    assert [_summary(item) for item in read_shard(shards[0], ReadOptions())] == plain


@pytest.mark.parametrize(("name", "cut_bytes"), [("cut.warc", 40), ("cut.warc.gz", 40),
                                                 ("cut.warc.gz", 6)])  # 6: in the gzip trailer
def test_a_truncated_warc_gives_the_readers_items_and_error(tmp_path: Path, name: str,
                                                            cut_bytes: int) -> None:
    whole = tmp_path / ("whole" + name[3:])
    _warc(whole, ARTICLES[:5], gzip=name.endswith(".gz"))
    cut = tmp_path / name
    cut.write_bytes(whole.read_bytes()[:-cut_bytes])
    plain = [_summary(item) for item in read_inputs([str(cut)])]
    assert any(kind == "error" for kind, _, _ in plain)
    shards = list(plan_shards([str(cut)], size=2))
    assert [_summary(item) for shard in shards for item in read_shard(shard, ReadOptions())] == plain


TEXT_A = ARTICLES[0][1]
TEXT_B = ARTICLES[1][1]


@pytest.mark.parametrize("content", [
    "\ufefftitle,text\r\nA,\"" + TEXT_A + "\"\r\n\r\nB,\"" + TEXT_B + "\"\r\n",  # BOM, CRLF, a blank row
    '"Title","Text"\nA,"He said ""no"",\nthen left. ' + TEXT_A + '"\nB,' + TEXT_B.replace(",", "") + "\n",
    "title,text\nA," + TEXT_A.replace(",", "") + "\nB,\"" + TEXT_B + "\"",  # no final line end
    "title,body\nA,no text column\n",  # the reader's one error, once
    "title,text\n",  # a header only
])
def test_csv_shards_read_what_the_reader_reads(tmp_path: Path, content: str) -> None:
    table = tmp_path / "t.csv"
    table.write_bytes(content.encode("utf-8"))
    plain = [_summary(item) for item in read_inputs([str(table)])]
    for size in (1, 2):
        shards = list(plan_shards([str(table)], size=size))
        sharded = [_summary(item) for shard in shards for item in read_shard(shard, ReadOptions())]
        assert sharded == plain


def _record(text: str) -> bytes:
    return json.dumps({"text": text}).encode()


@pytest.mark.parametrize("content", [
    b"\r\n".join([_record(TEXT_A), b"   ", _record(TEXT_B)]) + b"\r\n",  # CRLF, a blank line
    b"\n".join([b"", b"", _record(TEXT_A), b"\xff\xfe not UTF-8", _record(TEXT_B)]),  # no final end
    b"\n".join([_record(TEXT_A), b"[1, 2]", b'{"text": 5}', _record(TEXT_B), b"", b""]),
    b"\n\n  \n",  # blank only: the reader's one error
])
def test_jsonl_shards_read_what_the_reader_reads(tmp_path: Path, content: bytes) -> None:
    records = tmp_path / "r.jsonl"
    records.write_bytes(content)
    plain = [_summary(item) for item in read_inputs([str(records)])]
    for size in (1, 2):
        shards = list(plan_shards([str(records)], size=size))
        sharded = [_summary(item) for shard in shards for item in read_shard(shard, ReadOptions())]
        assert sharded == plain


# --- on a real cluster -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    require(HAVE_DASK, "dask[distributed] is not installed (pip install .[cluster])")
    from storyline.pipeline.cluster import DaskExecutor

    with DaskExecutor.local(2, limit=8) as executor:
        yield executor


def _stored(db: str) -> tuple[list[tuple[Any, ...]], dict[str, int]]:
    with open_store(db) as store:
        documents = [(d.id, d.origin, d.text, d.content_hash, d.duplicate_of,
                      d.annotations.to_dict() if d.annotations else None)
                     for d in store.iter_documents(with_annotations=True)]
        return documents, store.found_story_of()


def _failures(report: IngestReport) -> list[tuple[str, str]]:
    return [(error.origin, error.reason) for error in report.failed]


def test_ingest_through_dask_equals_ingest_through_the_local_pool(
        cluster: Any, corpus: list[str], tmp_path: Path, db_url: str) -> None:
    """The local ingest into SQLite; the one through Dask into each backend (``db_url``): what
    both store must be the same, annotations included."""
    from storyline.pipeline.cluster import ingest_on_cluster

    settings = Settings(workers=2, batch_size=4)
    local_db = str(tmp_path / "local.db")
    with open_store(local_db) as store:
        local = ingest(corpus, store, settings=settings, find_stories=True)
    with open_store(db_url) as store:
        dask = ingest_on_cluster(corpus, store, cluster, settings=settings, find_stories=True)
    assert len(local.new) + len(local.duplicates) == len(ARTICLES)
    assert (dask.new, dask.duplicates, dask.stories) == (local.new, local.duplicates, local.stories)
    # bad inputs inside shards: one line each, the same as a local ingest gives, the rest stored
    assert _failures(dask) == _failures(local)
    assert {origin.rsplit("/", 1)[-1] for origin, _ in _failures(dask)} == {
        "wire.jsonl:5", f"desk.csv:{2 + 4 * 2}", "missing.txt"}
    local_docs, local_stories = _stored(local_db)
    dask_docs, dask_stories = _stored(db_url)
    assert all(doc[5] for doc in dask_docs), "every document annotated on the workers"
    assert dask_docs == local_docs
    assert dask_stories == local_stories and len(set(dask_stories.values())) >= 3


@pytest.mark.parametrize("where", ["dask", "pool"])
def test_the_workers_make_the_writers_share_and_file_the_same_stories(
        where: str, corpus: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    """Fingerprints and story features made on the workers (a Dask cluster's, a local pool's):
    the writer makes none of them (no text hashed, no opening embedded there), and files the
    same stories and stores the same documents as a writer that makes them all itself (an
    ingest in one process)."""
    from storyline.pipeline import assign, duplicates

    with open_store(str(tmp_path / "writer.db")) as store:
        alone = ingest(corpus, store, settings=Settings(workers=1, batch_size=4), find_stories=True)
    made_here: list[object] = []  # what the writer made: (texts hashed, documents embedded)
    features, fingerprint = assign.StoryAssigner.features, duplicates.fingerprint

    def features_here(self: assign.StoryAssigner, documents: Any) -> Any:
        made_here.extend(documents)
        return features(self, documents)

    def fingerprint_here(text: str) -> Any:
        made_here.append(text)
        return fingerprint(text)

    monkeypatch.setattr(assign.StoryAssigner, "features", features_here)
    monkeypatch.setattr(duplicates, "fingerprint", fingerprint_here)
    with open_store(str(tmp_path / "workers.db")) as store:
        if where == "dask":
            from storyline.pipeline.cluster import ingest_on_cluster

            cluster = request.getfixturevalue("cluster")
            report = ingest_on_cluster(corpus, store, cluster, find_stories=True,
                                       settings=Settings(workers=2, batch_size=4))
        else:  # one batch of all the documents: big enough to go to the pool's two workers
            report = ingest(corpus, store, find_stories=True,
                            settings=Settings(workers=2, batch_size=len(ARTICLES)))
    assert not made_here, "the writer made what the workers should have"
    assert (report.new, report.duplicates) == (alone.new, alone.duplicates)
    assert report.stories == alone.stories and len(set(report.stories.values())) >= 3
    assert _stored(str(tmp_path / "workers.db")) == _stored(str(tmp_path / "writer.db"))


def test_the_window_of_items_in_flight_is_bounded(cluster: Any) -> None:
    pulled = 0
    consumed = 0
    most = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for number in range(60):
            pulled += 1
            yield number

    results = []
    cluster.peak_in_flight = 0
    for result in cluster.map(abs, items(), weight=lambda item: 2):
        most = max(most, pulled - consumed)
        consumed += 1
        results.append(result)
    assert results == list(range(60))  # in order
    limit_items = cluster.limit // 2
    # pulled and not consumed: the submitted items plus one looked at and held back
    assert most <= limit_items + 1
    assert cluster.peak_in_flight == cluster.limit  # the window was filled, never passed


def test_a_local_clusters_workers_do_not_sample_their_own_stacks(cluster: Any) -> None:
    """Dask's profiler (every 10 ms, for the dashboard) cost a worker 4-6% of its CPU."""
    import dask

    seen = cluster.client.run(lambda: dask.config.get("distributed.worker.profile.enabled"))
    assert len(seen) == 2 and set(seen.values()) == {False}


def _page_faults_of_large_arrays() -> int:
    """Minor page faults of making and dropping 200 arrays of 1 MiB (every page written)."""
    import resource

    import numpy as np

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(200):
        block = np.ones(2**20 // 8)
        del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's heap, Linux only")
def test_a_workers_large_arrays_reuse_its_heap_instead_of_fresh_pages(cluster: Any) -> None:
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_ set, which made glibc map every array
    over 128 KiB afresh (256 faults for each of them here); the models' plugin undoes it."""
    from storyline.pipeline.cluster import ModelsPlugin

    cluster.register(ModelsPlugin(Registry(), ReadOptions(), annotate=False, max_chars=1000))
    faults = cluster.client.run(_page_faults_of_large_arrays)
    assert len(faults) == 2 and max(faults.values()) < 2_000, faults


# On SQLite only: the parent alone writes the store, so what a killed worker loses does not
# depend on the backend (and the kill's timing makes this the module's slowest test).
def test_a_worker_killed_mid_run_loses_and_doubles_nothing(
        cluster: Any, corpus: list[str], tmp_path: Path) -> None:
    from storyline.pipeline.cluster import ingest_on_cluster

    pids = cluster.client.run(os.getpid)  # worker address -> process id
    killed: list[int] = []  # how many shards the killed worker was running or holding

    def kill_the_busiest_worker() -> None:
        """SIGKILL the worker holding the most shards, as soon as one holds any (watched from
        a thread: waiting for the first stored document could come after the last shard)."""
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            busy = {worker: tasks for worker, tasks in cluster.client.processing().items() if tasks}
            if busy:
                address = max(busy, key=lambda worker: len(busy[worker]))
                os.kill(pids[address], signal.SIGKILL)
                killed.append(len(busy[address]))
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_busiest_worker, daemon=True)
    settings = Settings(workers=2, batch_size=2)
    with open_store(str(tmp_path / "killed.db")) as store:
        killer.start()
        report = ingest_on_cluster(corpus, store, cluster, settings=settings, find_stories=True)
        killer.join()
        origins = [d.origin for d in store.iter_documents()]
        assert store.count() == len(ARTICLES)
    assert killed and killed[0] > 0, "the killed worker had shards to lose"
    assert len(report.new) + len(report.duplicates) == len(ARTICLES)
    assert not report.already_stored
    assert len(origins) == len(set(origins)) == len(ARTICLES)
    assert len(report.failed) == 3  # only the bad inputs
    cluster.client.wait_for_workers(2, timeout=60)  # the nanny started a new worker
    # Storing is idempotent besides: the same corpus again (a rerun shard, a rerun ingest) adds
    # no document, each is found stored by its content hash.
    with open_store(str(tmp_path / "killed.db")) as store:
        again = ingest_on_cluster(corpus, store, cluster, settings=settings, annotate=False)
        assert store.count() == len(ARTICLES)
    assert not again.new and not again.duplicates
    assert len(again.already_stored) == len(ARTICLES)


def test_a_task_whose_workers_keep_dying_fails_alone_and_the_rest_goes_on() -> None:
    require(HAVE_DASK, "dask[distributed] is not installed (pip install .[cluster])")
    from storyline.pipeline.cluster import DaskExecutor

    tasks = [partial(abs, -3), partial(os._exit, 1), partial(abs, -5)]  # the second kills its worker
    # One task at a time: a task running beside the crashing one on the same worker dies with
    # it each time, and would be given up too.
    with DaskExecutor.local(1, limit=1) as executor:
        results = list(executor.map(operator.call, tasks,
                                    on_error=lambda task, exc: type(exc).__name__))
    assert results == [3, "KilledWorker", 5]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _storyline(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "storyline", *args], capture_output=True,
                          text=True, env=env, timeout=180, check=False)


def test_a_scheduler_that_does_not_answer_is_one_line_exit_2_nothing_written(tmp_path: Path) -> None:
    require(HAVE_DASK, "dask[distributed] is not installed (pip install .[cluster])")
    db = tmp_path / "never.db"
    article = tmp_path / "a.txt"
    article.write_text("Title\n\nSome text of an article about a ferry.\n", encoding="utf-8")
    done = _storyline("ingest", str(article), "--db", str(db),
                      "--scheduler", f"tcp://127.0.0.1:{_free_port()}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Dask scheduler" in lines[0], done.stderr
    assert not db.exists()


@pytest.mark.parametrize("address", ["nonsense", "http://scheduler.example:8786"])
def test_a_malformed_scheduler_address_is_one_line_exit_2_nothing_written(
        tmp_path: Path, address: str) -> None:
    require(HAVE_DASK, "dask[distributed] is not installed (pip install .[cluster])")
    db = tmp_path / "never.db"
    done = _storyline("ingest", str(tmp_path), "--db", str(db), "--scheduler", address)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: not a Dask scheduler address: {address!r} (expected tcp://HOST:PORT, e.g. "
        "tcp://10.0.0.5:8786)"]
    assert not db.exists()


def test_the_command_line_ingests_on_a_local_dask_cluster(corpus: list[str], db_url: str) -> None:
    require(HAVE_DASK, "dask[distributed] is not installed (pip install .[cluster])")
    db = db_url
    done = _storyline("ingest", *corpus, "--db", db, "--dask-workers", "1",
                      "--no-annotate", "--no-stories", "--quiet")
    assert done.returncode == 1, done.stderr  # some inputs failed, the rest stored
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 3, done.stderr
    with open_store(db) as store:
        assert store.count() == len(ARTICLES)


@pytest.mark.parametrize("where", ["dask", "pool"])
def test_texts_stored_before_the_ingest_get_no_features_made_on_the_workers(
        where: str, corpus: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    """A corpus ingested again, part of it stored already: the workers (a Dask cluster's, a
    local pool's) make story features only for the texts the store did not hold (a stored text
    is only another origin of it, never filed again), and the new ones are filed as ever."""
    from storyline.pipeline import documents

    db = str(tmp_path / "s.db")
    with open_store(db) as store:  # the JSONL and CSV parts first, in this process
        first = ingest(corpus[:2], store, settings=Settings(workers=1, batch_size=4),
                       find_stories=True)
        held = set(store.content_hashes())
    assert len(held) == len(first.new) + len(first.duplicates) >= 8
    with_features: list[str | None] = []  # content hashes of what came with features made
    every: list[str | None] = []
    features_made = documents._features_made

    def seen(batch: list[Document], made: Any) -> Any:
        found = features_made(batch, made)
        with_features.extend(d.content_hash for d in batch if id(d) in found)
        every.extend(d.content_hash for d in batch)
        return found

    monkeypatch.setattr(documents, "_features_made", seen)
    with open_store(db) as store:
        if where == "dask":
            from storyline.pipeline.cluster import ingest_on_cluster

            report = ingest_on_cluster(corpus, store, request.getfixturevalue("cluster"),
                                       find_stories=True, settings=Settings(workers=2, batch_size=4))
        else:  # one batch of all the documents: big enough to go to the pool's two workers
            report = ingest(corpus, store, find_stories=True,
                            settings=Settings(workers=2, batch_size=len(ARTICLES)))
        assert set(store.content_hashes()) > held
    assert len(report.already_stored) == len(held)
    assert held <= set(every) and set(every) - held  # stored texts came, and new ones
    assert sorted(with_features) == sorted(h for h in every if h not in held)
    assert set(report.stories) == set(report.new + report.duplicates)
