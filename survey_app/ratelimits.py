"""Rate-limit storage in the process's memory that threaded servers can share.

``limits``' own ``memory://`` storage checks and replaces its expiry timer without a
lock: two threads counting at once can both find the timer stopped and start the same
new one twice, and the request fails with ``RuntimeError: threads can only be started
once`` (a 500). gunicorn's threaded workers met it twice in a day of
``benchmarks/production_load.py`` runs (about 46,000 survey posts in all); it is fixed
upstream (alisaifee/limits#352) but in no release yet (5.8.0 here). ``locked-memory://``
is the same storage with each counting call holding one lock; it is the default of
``RATELIMIT_STORAGE_URI``.
"""

from __future__ import annotations

import threading
from typing import Any

from limits.storage import MemoryStorage


class LockedMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["locked-memory"]

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        self._counting = threading.RLock()
        super().__init__(uri, **options)

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
