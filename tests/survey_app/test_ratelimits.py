"""The default rate-limit storage counts from many threads at once without failing."""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage

from survey_app.ratelimits import LockedMemoryStorage


class _SlowTimer:
    """Stands in for the storage's expiry timer: reports running, and measures how many
    threads are between the storage's check of it and its replacement at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.lock = threading.Lock()

    def is_alive(self) -> bool:
        with self.lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        time.sleep(0.05)  # a thread switch here is what lets two threads start one timer
        with self.lock:
            self.inside -= 1
        return True


def _most_threads_checking_the_timer(storage: MemoryStorage) -> int:
    timer = _SlowTimer()
    storage.timer = timer
    threads = [threading.Thread(target=storage.incr, args=(f"key{i}", 60)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timer.most


def test_one_thread_at_a_time_checks_and_replaces_the_expiry_timer():
    # limits' own memory storage lets every thread in (the upstream bug: two threads find
    # the timer stopped, and one new timer is started twice: RuntimeError, a 500)
    assert _most_threads_checking_the_timer(MemoryStorage()) > 1
    assert _most_threads_checking_the_timer(LockedMemoryStorage()) == 1


def test_the_app_counts_its_limits_in_the_locked_storage(app):
    from survey_app.extensions import limiter

    assert app.config["RATELIMIT_STORAGE_URI"].startswith(("locked-memory://", "redis://"))
    if app.config["RATELIMIT_STORAGE_URI"].startswith("locked-memory://"):
        assert isinstance(limiter.storage, LockedMemoryStorage)
