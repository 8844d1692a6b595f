"""The heavy part of a report (the bootstrap) in a separate process.

numpy's loops over resamples take Python's GIL often enough to starve the request
threads of the same process (measured: a cached page took seconds while a bootstrap ran
beside it), so heavy reports are computed by a worker process that reads the frame from
the cache's Arrow file and writes the result file; the web process only waits on it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def pool() -> ProcessPoolExecutor:
    """One worker process per web process, started on first use (spawned: no copy of
    the web process's database connections or threads), at a lower priority."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker
            )
        return _pool


def stop() -> None:
    """End the worker process now (its web process is on its way out): the bootstrap it
    computes is dropped, and the thread waiting for it gets ``BrokenProcessPool`` at once
    instead of keeping the exiting web process alive for up to a minute."""
    global _pool
    with _lock:
        found, _pool = _pool, None
    if found is None:
        return
    # (no public call ends a busy worker before Python 3.14's terminate_workers)
    for process in list((getattr(found, "_processes", None) or {}).values()):
        process.kill()
    found.shutdown(wait=False, cancel_futures=True)


def _start_worker() -> None:
    """The worker gives way to the web process (and the database): on 2 cores a
    bootstrap taking one core for a minute slowed the reports requests waited for. And
    it ends with its web process: a SIGKILLed gunicorn worker left it computing on."""
    os.nice(10)
    parent = os.getppid()

    def follow() -> None:
        while os.getppid() == parent:  # (a process whose parent died gets a new one)
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=follow, name="follow-parent", daemon=True).start()


class StaleFrame(RuntimeError):
    """The frame file was replaced (newer responses) before the worker read it."""


def report_from_file(frame_path: str, stamp, q, selection, options) -> dict[str, Any]:
    """The report of the frame in ``frame_path`` (the cache's Arrow file, read without
    the open texts) for ``selection`` and ``options``; runs in the worker process."""
    from .cache import _disk_stamp, _read_frame
    from .services import compute_report

    frame = _read_frame(Path(frame_path), texts=False)
    if _disk_stamp(Path(frame_path)) != stamp:  # read after: a replaced file shows
        raise StaleFrame(frame_path)
    return compute_report(q, frame, selection, options)
