"""A thread pool that limits how many of its tasks run for one host at a time.

The ingest jobs fetch their URLs here: a host that answers slowly (or not at all, until the
fetch times out) holds at most ``per_host`` of the workers, and the tasks of other hosts pass
the ones waiting for it, so one slow site delays only the jobs that name it.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The host a URL names (lower case; the URL itself when it names none)."""
    try:
        return (urlsplit(url).hostname or url).lower()
    except ValueError:
        return url


@dataclass
class _Task:
    host: str
    run: Callable[[], Any]
    future: Future[Any]


class HostPool:
    """``workers`` daemon threads running submitted tasks first come, first served, except that
    a task whose host has ``per_host`` tasks running waits and lets later tasks pass."""

    def __init__(self, workers: int, per_host: int, name: str = "storyline-fetch") -> None:
        self._per_host = max(1, per_host)
        self._waiting: deque[_Task] = deque()
        self._running: Counter[str] = Counter()
        self._changed = threading.Condition()
        self._closed = False
        self._workers = max(1, workers)
        self._name = name
        self._started = 0

    def submit(self, host: str, run: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        with self._changed:
            self._waiting.append(_Task(host, run, future))
            self._start_worker()
            self._changed.notify_all()
        return future

    def _start_worker(self) -> None:
        """One more thread while there are fewer than ``workers`` (an app that never fetches
        starts none)."""
        if self._started < self._workers:
            threading.Thread(target=self._work, name=f"{self._name}-{self._started}", daemon=True).start()
            self._started += 1

    def shutdown(self) -> None:
        """Stop taking tasks: those waiting are cancelled, those running finish."""
        with self._changed:
            self._closed = True
            while self._waiting:
                self._waiting.popleft().future.cancel()
            self._changed.notify_all()

    def _work(self) -> None:
        while (task := self._next()) is not None:
            try:
                if task.future.set_running_or_notify_cancel():
                    try:
                        task.future.set_result(task.run())
                    except BaseException as exc:  # noqa: BLE001 - handed to the future's owner
                        task.future.set_exception(exc)
            finally:
                with self._changed:
                    self._running[task.host] -= 1
                    self._changed.notify_all()

    def _next(self) -> _Task | None:
        with self._changed:
            while not self._closed:
                for index, task in enumerate(self._waiting):
                    if self._running[task.host] < self._per_host:
                        del self._waiting[index]
                        self._running[task.host] += 1
                        return task
                self._changed.wait()
            return None
