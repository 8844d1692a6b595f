"""The default rate-limit storage counts from many threads at once without failing."""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage

from survey_app.ratelimits import LockedMemoryStorage

from ..conftest import sign_in


def _timers_started(storage: MemoryStorage, monkeypatch, calls: int) -> int:
    """How many expiry timers ``calls`` counting calls start, each finding the last
    timer ended (as a worker counting every 15 ms under load does)."""
    started = []
    original = threading.Timer.start
    monkeypatch.setattr(threading.Timer, "start", lambda t: (started.append(t), original(t)))
    for i in range(calls):
        ended = threading.Timer(0, lambda: None)
        ended.start()
        ended.join()
        storage.timer = ended
        storage.incr(f"key{i % 3}", 60)
    return len(started) - calls  # the stand-ins started above


def test_counting_starts_no_thread(monkeypatch):
    # limits' own memory storage starts a timer thread whenever the last one ended (it
    # lives 10 ms), and checks and replaces it without a lock: two threads could start
    # one timer twice (RuntimeError, a 500). Ours sweeps in the counting call instead.
    assert _timers_started(MemoryStorage(), monkeypatch, 20) == 20
    assert _timers_started(LockedMemoryStorage(), monkeypatch, 20) == 0


def test_expired_counts_are_swept_at_most_once_a_sweep_interval():
    storage = LockedMemoryStorage()
    storage.SWEEP_SECONDS = 60  # (a slow machine's pause never counts as a sweep interval)
    storage.incr("old", 0.01)
    time.sleep(0.02)
    storage._next_sweep = 0.0  # the last sweep is long ago
    storage.incr("new", 60)
    assert "old" not in storage.storage and "old" not in storage.expirations
    storage.incr("soon", 0.01)
    time.sleep(0.02)
    storage.incr("new", 60)  # within SWEEP_SECONDS of the last sweep: none now
    assert "soon" in storage.storage
    assert storage.get("soon") == 0  # and yet an expired count is never read
    assert storage.get("new") == 2


def test_threads_counting_at_once_lose_no_count():
    storage = LockedMemoryStorage()
    storage.SWEEP_SECONDS = 0  # sweep in every call, beside the others counting

    def count() -> None:
        for _ in range(500):
            storage.incr("shared", 60)
            storage.incr("brief", 0.001)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert storage.get("shared") == 4000


def test_the_app_counts_its_limits_in_the_locked_storage(app):
    from survey_app.extensions import limiter

    assert app.config["RATELIMIT_STORAGE_URI"].startswith(("locked-memory://", "redis://"))
    if app.config["RATELIMIT_STORAGE_URI"].startswith("locked-memory://"):
        assert isinstance(limiter.storage, LockedMemoryStorage)


def test_every_declared_limit_counts_writes_only(app):
    # ``reads_are_not_limited`` exempts GET, HEAD and OPTIONS before Flask-Limiter
    # resolves any limit: right only while no limit the service declares counts reads.
    from flask_limiter.util import get_qualified_name

    from survey_app.extensions import limiter

    manager = limiter.limit_manager
    assert not manager._application_limits and not manager._default_limits
    assert not manager._blueprint_limits
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        name = get_qualified_name(app.view_functions[rule.endpoint])
        methods.setdefault(name, set()).update(rule.methods - {"OPTIONS"})
    assert "survey_app.surveys.routes.take.take" in manager._decorated_limits
    for name, limits in manager._decorated_limits.items():
        for limit in limits:
            counted = {m.upper() for m in limit.methods} if limit.methods else methods[name]
            assert not counted & {"GET", "HEAD"}, f"{name} limits reads: {limit}"


def test_reads_skip_the_limits_and_writes_are_counted(app, client, monkeypatch):
    # Resolving a route's limits on every page view cost about 7% of a survey page's CPU
    # time; a read now skips it (and the decorated limits are of posts only, above).
    from survey_app.extensions import limiter

    resolved, counted = [], []
    resolve, hit = limiter.limit_manager.resolve_limits, limiter.limiter.hit
    monkeypatch.setattr(
        limiter.limit_manager, "resolve_limits", lambda *a: resolved.append(a) or resolve(*a)
    )
    monkeypatch.setattr(limiter.limiter, "hit", lambda *a, **k: counted.append(a) or hit(*a, **k))
    assert client.get("/").status_code == 200
    assert client.head("/").status_code == 200
    assert client.get("/login").status_code == 200
    assert resolved == [] and counted == []
    assert sign_in(client, "nobody@example.com", "wrong").status_code == 200
    assert resolved and len(counted) == 2  # by address and by email
