"""The bootstrap's worker process: below the web process's priority, and gone with it
(a SIGKILLed gunicorn worker must not leave it computing for a minute)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from ..conftest import process_alive, process_ended

ROOT = Path(__file__).resolve().parents[2]

PARENT = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    from survey_app.reports.compute import pool

    worker = pool().submit(os.getpid).result()  # (the worker unpickles builtins only)
    niceness = pool().submit(os.nice, 0).result()
    pool().submit(time.sleep, 60)
    print(worker, niceness, flush=True)
    time.sleep(120)
    """
)


def test_the_worker_runs_below_the_web_process_and_ends_with_it():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(ROOT)], stdout=subprocess.PIPE, text=True
    )
    try:
        worker, niceness = map(int, parent.stdout.readline().split())
        assert niceness >= os.nice(0) + 10
        assert process_alive(worker)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert process_ended(worker), "the worker outlived its killed parent"
    finally:
        parent.kill()
        parent.stdout.close()
