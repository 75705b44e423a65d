"""The web app's analysis process (``storyline.web.analysis``): jobs run in a child process at a
lower priority, stop when their requester leaves, survive the process's death, and reads are
answered while the analysis is busy. Real processes, real SQLite and PostgreSQL stores
(``conftest.db_url``); invented articles."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from storyline.cli import main
from storyline.web import create_app
from storyline.web.analysis import ANALYSIS_NICENESS, AnalysisProcess, Gone, Stopped

LOCAL = "http://localhost"
# Invented articles (our own words).
QUARRY = (
    "Quarry blast shakes Eldham\n\n"
    "A planned blast at the Eldham quarry on Tuesday cracked windows in twelve houses, the "
    "village council said. The quarry operator, Brenna Stone Ltd, said the charge had been "
    "larger than usual and promised to pay for the repairs.\n\n"
    "\"We will not let this happen again,\" the operator's manager, Ida Kell, said."
)
QUARRY_FOLLOW_UP = (
    "Eldham council halts quarry blasts\n\n"
    "The council of Eldham suspended all blasting at the quarry on Friday until an engineer has "
    "checked the houses cracked by Tuesday's blast. Brenna Stone Ltd said it would appeal."
)


def whoami(stopped: Stopped) -> tuple[int, int]:
    """(process id, niceness) of the process running the job."""
    return os.getpid(), os.nice(0)


def wait_to_be_stopped(stopped: Stopped) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if stopped():
            raise Gone
        time.sleep(0.02)
    return "never stopped"


def test_jobs_run_in_another_process_at_a_lower_priority() -> None:
    analyst = AnalysisProcess()
    try:
        pid, niceness = analyst.run(whoami)
        assert pid != os.getpid()
        assert niceness == min(19, os.nice(0) + ANALYSIS_NICENESS)
        assert analyst.run(whoami)[0] == pid, "one process, kept for the next job"
    finally:
        analyst.close()


def test_a_job_stops_when_its_requester_leaves() -> None:
    analyst = AnalysisProcess()
    gone = threading.Event()
    threading.Timer(1.0, gone.set).start()
    started = time.monotonic()
    try:
        with pytest.raises(Gone):
            analyst.run(wait_to_be_stopped, cancelled=gone.is_set)
        assert time.monotonic() - started < 15
    finally:
        analyst.close()


def test_a_dead_analysis_process_is_one_error_then_a_new_process() -> None:
    analyst = AnalysisProcess()
    try:
        pid, _ = analyst.run(whoami)
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        with pytest.raises(RuntimeError, match="analysis process died"):
            analyst.run(whoami)
        again, _ = analyst.run(whoami)
        assert again != pid
    finally:
        analyst.close()


def _ingest(db: str, folder: Path, *texts: str) -> None:
    paths = []
    for number, text in enumerate(texts):
        path = folder / f"quarry-{len(list(folder.glob('quarry-*')))}-{number}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    result = CliRunner().invoke(main, ["ingest", *paths, "--db", db, "--story", "Quarry", "-q"])
    assert result.exit_code == 0, result.output


def test_reads_are_answered_while_the_analysis_is_busy(tmp_path: Path, db_url: str) -> None:
    """With the analysis busy, a story whose sources changed is shown at once with its previous
    briefing and a note; the new briefing follows once the analysis is free. Posted articles
    are briefed in the analysis process."""
    db = db_url
    _ingest(db, tmp_path, QUARRY)
    app = create_app(db, analysis_process=True)
    with TestClient(app, base_url=LOCAL) as client:
        first = client.get("/api/stories/1/briefing", params={"wait": "true"}).json()
        _ingest(db, tmp_path, QUARRY_FOLLOW_UP)
        with app.state.settings.analyst.exclusive():
            started = time.monotonic()
            page = client.get("/stories/1")
            api = client.get("/api/stories/1/briefing")
            assert time.monotonic() - started < 5
        assert page.status_code == 200 and "being written" in page.text
        assert api.headers["Storyline-Briefing"] == "updating"
        assert api.json()["generated_at"] == first["generated_at"]
        fresh = _until_current(client)
        assert len(fresh["sources"]) == 2
        posted = client.post("/api/briefings", json={"documents": [QUARRY, QUARRY_FOLLOW_UP]})
        assert posted.status_code == 200, posted.text
        assert posted.json()["title"]


def _until_current(client: TestClient) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        answer = client.get("/api/stories/1/briefing")
        if "Storyline-Briefing" not in answer.headers:
            result: dict[str, Any] = answer.json()
            return result
        time.sleep(0.5)
    raise AssertionError("the new briefing was never made")


def test_the_analysis_process_is_renewed_after_its_share_of_jobs() -> None:
    """A long-lived process would grow with every text it reads: it is replaced after a
    number of jobs."""
    analyst = AnalysisProcess(jobs_per_process=2)
    try:
        first, second, third = (analyst.run(whoami)[0] for _ in range(3))
        assert first == second != third
    finally:
        analyst.close()


def test_the_analysis_process_outlives_the_thread_that_first_used_it() -> None:
    """Linux sends a child's death signal (``PR_SET_PDEATHSIG``) when the *thread* that started
    it ends, not its process. The server's first analysis job may come from a short-lived thread
    (a request thread that the thread pool retires, a background briefing refresh): the analysis
    process must not die with that thread."""
    analyst = AnalysisProcess()
    try:
        first: list[int] = []
        thread = threading.Thread(target=lambda: first.append(analyst.run(whoami)[0]))
        thread.start()
        thread.join()
        time.sleep(0.5)  # the kernel's SIGKILL, when it comes, comes at once
        assert analyst.run(whoami)[0] == first[0], "the analysis process died with its thread"
    finally:
        analyst.close()


def test_the_analysis_process_is_replaced_once_its_memory_passes_the_cap() -> None:
    analyst = AnalysisProcess(rss_cap_mb=1)  # any process is larger: replaced after each job
    try:
        first, second = (analyst.run(whoami)[0] for _ in range(2))
        assert first != second and analyst.renewals == 2
    finally:
        analyst.close()
    roomy = AnalysisProcess(rss_cap_mb=100_000)
    try:
        assert roomy.run(whoami)[0] == roomy.run(whoami)[0] and roomy.renewals == 0
    finally:
        roomy.close()
