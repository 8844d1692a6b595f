"""The report caches' rules, without a database: which frames can be appended to, and
background jobs computed once per key (also when one finishes at once)."""

from __future__ import annotations

import threading

from survey_app.reports.cache import Jobs, ResultCache, Stamp


def stamp(**changes) -> Stamp:
    base = dict(
        survey_id="s",
        version_id=2,
        version_number=1,
        series=(2,),
        revision=0,
        max_id=10,
        last_completed=100.0,
    )
    return Stamp(**{**base, **changes})


def test_only_added_responses_are_appended():
    old = stamp()
    assert stamp(max_id=12, last_completed=120.0).appendable_from(old)
    assert stamp(max_id=12, last_completed=100.0).appendable_from(old)  # imported, backdated
    # a deletion or an import since
    assert not stamp(revision=1, last_completed=120.0).appendable_from(old)
    assert not stamp(version_id=3, last_completed=120.0).appendable_from(old)  # a new version
    assert not stamp(series=(1, 2), last_completed=120.0).appendable_from(old)
    assert not stamp(last_completed=90.0).appendable_from(old)
    assert not stamp(max_id=9).appendable_from(old)


def test_results_are_keyed_by_stamp_and_parts(tmp_path):
    cache = ResultCache(tmp_path)
    a = cache.key(stamp(), {"selection": "all"})
    assert a != cache.key(stamp(last_completed=101.0), {"selection": "all"})
    assert a != cache.key(stamp(revision=1), {"selection": "all"})
    assert a != cache.key(stamp(max_id=11), {"selection": "all"})
    assert a != cache.key(stamp(), {"selection": "tier=A"})
    cache.write("s", a, {"n": 1})
    assert cache.read("s", a) == {"n": 1} and cache.read("s", "other") is None


def test_a_key_is_computed_once_and_a_finished_job_does_not_block():
    jobs = Jobs()
    gate, runs = threading.Event(), []

    def slow():
        runs.append(1)
        gate.wait(5)
        return {"done": True}

    first = jobs.submit("k", slow, heavy=False)
    assert jobs.submit("k", slow, heavy=False) is first  # in flight: the same job
    assert jobs.wait(first, 0.05) is None
    gate.set()
    assert jobs.wait(first, 5) == {"done": True}
    quick = jobs.submit("q", lambda: {"now": 1}, heavy=True)
    quick.result(5)
    again = jobs.submit("q", lambda: {"now": 2}, heavy=True)  # finished: a new job
    assert jobs.wait(again, 5) == {"now": 2}
    assert len(runs) == 1


def test_a_frame_read_after_its_stamp_keeps_only_what_the_stamp_covers():
    import pandas as pd

    from survey_app.reports.cache import at_stamp

    times = pd.to_datetime(
        [
            "2026-12-01 10:00:00",
            "2026-12-01 10:00:01.000001",
            "2026-12-01 10:00:01.5",
            "2026-12-01 10:00:00.5",
        ],
        utc=True,
        format="ISO8601",
    )
    frame = pd.DataFrame({"response_id": [1, 2, 3, 5], "submitted_at": times})
    # at the stamp: ids up to 3, the latest completed at 10:00:01.000001; id 3 completed
    # after it (still in progress then), id 5 was made after it
    last = pd.Timestamp("2026-12-01 10:00:01.000001", tz="UTC").timestamp()
    kept = at_stamp(frame, stamp(max_id=3, last_completed=last))
    assert kept["response_id"].tolist() == [1, 2]
    assert at_stamp(frame, stamp(max_id=5, last_completed=last + 1)) is frame


def test_a_guess_still_queued_is_moved_ahead_when_a_request_asks_for_it():
    jobs = Jobs()
    gate = threading.Event()
    blocking = jobs.submit(
        "guess-1", lambda: gate.wait(5) and {"guess": 1}, heavy=False, ahead=True
    )
    queued = jobs.submit("guess-2", lambda: {"from": "guess"}, heavy=False, ahead=True)
    asked = jobs.submit("guess-2", lambda: {"from": "request"}, heavy=False)
    assert asked is not queued and queued.cancelled()
    # answered while the guesses' thread is still busy with the first guess
    assert jobs.wait(asked, 5) == {"from": "request"} and not blocking.done()
    assert jobs.wait(queued, 0) is None  # a waiter of the moved guess is told to ask again
    gate.set()
    assert jobs.wait(blocking, 5) == {"guess": 1}
    # a guess already running is waited for, not computed twice
    started, gate2 = threading.Event(), threading.Event()
    running = jobs.submit(
        "guess-3", lambda: started.set() or gate2.wait(5) and {"n": 3}, False, True
    )
    assert started.wait(5)
    assert jobs.submit("guess-3", lambda: {"n": 4}, heavy=False) is running
    gate2.set()
    jobs.idle()


def test_work_that_can_wait_yields_to_the_reports_requests_asked_for():
    import time

    jobs = Jobs()
    gate, order = threading.Event(), []

    def asked():
        gate.wait(5)
        order.append("asked")
        return {}

    def guess():
        jobs.yield_to_requests()
        order.append("guess")
        return {}

    jobs.submit("asked", asked, heavy=False)
    jobs.submit("guess", guess, heavy=False, ahead=True)
    assert jobs.asked()
    time.sleep(0.2)
    assert order == []  # the guess's thread is free, yet it waits
    gate.set()
    jobs.idle()
    assert order == ["asked", "guess"] and not jobs.asked()
    # bounded: a stream of requests never starves it for longer than the limit
    gate.clear()
    jobs.submit("asked-2", asked, heavy=False)
    start = time.monotonic()
    jobs.yield_to_requests(limit=0.2)
    assert 0.15 < time.monotonic() - start < 2 and jobs.asked()
    gate.set()
    jobs.idle()
