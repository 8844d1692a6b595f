"""Rate-limit storage in the process's memory that threaded servers can share.

``limits``' own ``memory://`` storage has two faults under gunicorn's threaded workers:

- It checks and replaces its expiry timer without a lock: two threads counting at once can
  both find the timer stopped and start the same new one twice, and the request fails with
  ``RuntimeError: threads can only be started once`` (a 500). ``benchmarks/production_load.py``
  met it twice in a day (about 46,000 survey posts in all); it is fixed upstream
  (alisaifee/limits#352) but in no release yet (5.8.0 here).
- That timer lives 10 ms: a worker counting more often than that (every survey post under
  load) starts a new thread for nearly every request, only to sweep the expired counts.
  Starting threads was 3.6% of the workers' Python time under
  ``benchmarks/production_load.py``.

``locked-memory://`` is the same storage with each counting call holding one lock, and the
expired counts swept by the counting call itself, at most once every ``SWEEP_SECONDS``,
instead of by a timer thread. A count is never read past its expiry either way (``get``
drops it first); the sweep only frees the memory of keys not counted again. It is the
default of ``RATELIMIT_STORAGE_URI``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import request
from limits.storage import MemoryStorage


class LockedMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["locked-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        self._counting = threading.RLock()
        self._next_sweep = 0.0
        super().__init__(uri, **options)

    # MemoryStorage's counting calls call this private method (name-mangled) to start the
    # timer; tests/survey_app/test_ratelimits.py fails if a release renames it.
    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802
        """Sweep expired counts now if the last sweep is ``SWEEP_SECONDS`` old (called
        with ``_counting`` held, so one thread sweeps)."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()

    def incr(self, *args: Any, **kwargs: Any) -> int:
        with self._counting:
            return super().incr(*args, **kwargs)

    def decr(self, *args: Any, **kwargs: Any) -> int:
        with self._counting:
            return super().decr(*args, **kwargs)

    def acquire_entry(self, *args: Any, **kwargs: Any) -> bool:
        with self._counting:
            return super().acquire_entry(*args, **kwargs)

    def acquire_sliding_window_entry(self, *args: Any, **kwargs: Any) -> bool:
        with self._counting:
            return super().acquire_sliding_window_entry(*args, **kwargs)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def reads_are_not_limited() -> bool:
    """Flask-Limiter's request filter: a GET, HEAD or OPTIONS request is exempt before
    Flask-Limiter resolves any limit. Every limit the service declares counts posts
    (``tests/survey_app/test_ratelimits.py`` checks that), and resolving a route's limits
    on every page view cost 1.5% of a survey request's instructions (callgrind, a
    complete servqual-22 response; Flask-Limiter in all costs about 7%)."""
    return request.method in SAFE_METHODS
