"""An ASGI app served by a real uvicorn on a free port of 127.0.0.1, for tests that need a real
server (browsers, clients that leave, slow hosts)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """``HOST:PORT`` where ``app`` answers while the block runs; the server stops after it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def stop_server_process(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Stop a ``storyline serve`` child as a user would (SIGTERM), killed if it will not go."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
