"""Optional rate limits per client: a token bucket per client address, one for reads and one for
writes, answered ``429`` with ``Retry-After`` when empty.

Off by default (a server on loopback has one user); ``storyline serve --reads-per-minute N
--writes-per-minute N`` or ``Bounds(reads_per_minute=…, writes_per_minute=…)`` turn them on for
a server shared by a team. A bucket holds a minute's worth of requests, so a client may burst
that many and then goes at the steady rate. The client is the connection's address: behind a
reverse proxy every visitor shares the proxy's, so limit there instead. At most ``MAX_CLIENTS``
buckets are kept (the least recently seen are forgotten), so a crowd of addresses cannot grow
the server's memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

MAX_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimit:
    """``per_minute`` requests a minute per client; 0 or less: no limit."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def wait_seconds(self, client: str, now: float | None = None) -> int:
        """0 when ``client`` may go on (a request is counted); else the whole seconds until it may."""
        if self.per_minute <= 0:
            return 0
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        with self._lock:
            bucket = self._buckets.pop(client, None) or _Bucket(float(self.per_minute), now)
            bucket.tokens = min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            self._buckets[client] = bucket  # the most recently seen last
            while len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))
