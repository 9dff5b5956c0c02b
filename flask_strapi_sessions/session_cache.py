"""Small bounded caches for the request guard. Pure: no Flask, no database; time is injected.

:class:`TrustCache` backs the opt-in ``*_SESSIONS_CHECK_INTERVAL`` mode: a worker may
reuse what the database said about a session for at most ``interval`` seconds, so a
revocation made anywhere reaches this worker within that bound. :class:`BoundedDict` keeps
verified access tokens, which is safe in every mode: a token's signature and claims never
change, and its expiry is compared with the clock on each use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: how many entries a cache holds before it is emptied (a burst of new keys, or an attack)
MAX_ENTRIES = 10_000


class BoundedDict(dict[K, V]):
    """A dict that empties itself rather than grow past ``max_entries``.

    Emptying is crude but O(1) amortised and never wrong: a missing entry only costs a
    recomputation.
    """

    def __init__(self, max_entries: int = MAX_ENTRIES):
        super().__init__()
        self.max_entries = max_entries

    def put(self, key: K, value: V) -> None:
        if len(self) >= self.max_entries:
            self.clear()
        self[key] = value


class TrustCache(Generic[K, V]):
    """Values trusted for at most ``interval`` seconds after the moment they were read.

    ``put`` takes the time taken *before* the value was read from the database: a value
    read after a revocation committed is fresh, one read before it is dropped at most
    ``interval`` seconds after the revocation. An entry whose age is negative (the clock
    went back) counts as stale, so the bound holds whatever the clock does.
    """

    def __init__(self, interval: float, clock: Callable[[], float], max_entries: int = MAX_ENTRIES):
        self.interval = interval
        self.clock = clock
        self._entries: BoundedDict[K, tuple[float, V]] = BoundedDict(max_entries)

    def get(self, key: K, now: float | None = None) -> V | None:
        """The value stored for ``key`` if it is still within the interval, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        read_at, value = entry
        if 0 <= (self.clock() if now is None else now) - read_at < self.interval:
            return value
        self._entries.pop(key, None)
        return None

    def put(self, key: K, value: V, read_at: float) -> None:
        """Remember ``value``, read from the database no earlier than ``read_at``."""
        self._entries.put(key, (read_at, value))

    def discard(self, key: K) -> None:
        """Forget ``key`` (this worker revoked it: it must be refused here at once)."""
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
