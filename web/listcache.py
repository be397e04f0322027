"""A small per-process cache of rendered list pages, keyed by who asks, what they ask, and the
version of the rows in scope (crm.queries.worklist.leads_version).

Why: the lead list is the page people reload most. The version — latest `updated_at` and highest
id over all leads — is two index look-ups, far less than ranking and rendering. Every lead write
through the services sets `updated_at` to now (activities, assignments and stage moves included;
the model's onupdate does it for any other ORM update), and a new lead has a new id, so any lead
change anywhere makes every cached list stale. Things outside the lead rows (time passing the
response deadlines, a renamed user) are bounded by a short time-to-live.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class RenderCache:
    """Thread-safe LRU of (key, version) -> rendered text, entries live `ttl` seconds."""

    def __init__(self, maxsize: int = 256, ttl: float = 60.0):
        self.maxsize = maxsize
        self.ttl = ttl
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key, version):
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[0] != version or time.monotonic() - entry[1] > self.ttl:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key, version, text: str) -> None:
        with self._lock:
            self._data[key] = (version, time.monotonic(), text)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)


class ShortCounts:
    """Per-process counts that may lag a few seconds: the nav's unread-message badge.

    Why: the badge is on every page, and its count is a statement per request. A user's own read
    (or any write handled by this process, which may have sent someone a message) drops the cached
    counts at once (`clear`); a message sent through another worker process shows within `ttl`.
    """

    def __init__(self, ttl: float = 5.0, maxsize: int = 4096):
        self.ttl = ttl
        self.maxsize = maxsize
        self._data: dict = {}
        self._lock = threading.Lock()

    def get(self, key) -> int | None:
        entry = self._data.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key, value: int) -> None:
        with self._lock:
            if len(self._data) >= self.maxsize:
                self._data.clear()
            self._data[key] = (time.monotonic(), value)

    def clear(self, key=None) -> None:
        with self._lock:
            if key is None:
                self._data.clear()
            else:
                self._data.pop(key, None)
