"""gunicorn.conf.py's hooks, run as gunicorn runs them."""

from __future__ import annotations

import runpy
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import SimpleNamespace

import pytest

from survey_app.reports import compute
from survey_app.reports.services import service

from ..conftest import process_ended

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_on_its_way_out_drops_its_queued_reports_and_its_bootstrap(app, tmp_path):
    app.config["REPORTS_CACHE"] = str(tmp_path / "cache")
    app.extensions.pop("reports", None)
    jobs = service().jobs
    gate = threading.Event()
    running = jobs.submit("a guess running", lambda: gate.wait(10) and {"ran": 1}, False, True)
    queued = jobs.submit("a guess queued", lambda: {"ran": 2}, heavy=False, ahead=True)
    bootstrap = compute.pool().submit(time.sleep, 60)  # the worker process, busy
    bootstrap_process = next(iter(compute.pool()._processes.values()))
    # handed to the worker process (a call still in the pool's own queue is cancelled
    # instead: CI once stopped the pool that early, and got CancelledError)
    handed = time.monotonic() + 10
    while not bootstrap.running() and time.monotonic() < handed:
        time.sleep(0.01)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    started = time.monotonic()
    hooks["worker_exit"](None, worker)
    assert time.monotonic() - started < 10 and queued.cancelled()
    with pytest.raises(BrokenProcessPool):
        bootstrap.result(10)
    assert process_ended(bootstrap_process.pid)
    gate.set()  # a report computing when the worker exits finishes as the process exits
    assert running.result(10) == {"ran": 1}


def test_the_master_warms_up_before_it_forks_its_workers(tmp_path):
    """gunicorn's ``when_ready`` runs in the master after the app is loaded and before
    the first worker is forked: what it imports and compiles, every worker has from the
    start (the analysis, plotly's figure classes, every template)."""
    script = (
        "import runpy, sys\n"
        "from types import SimpleNamespace\n"
        "from config import TestConfig\n"
        "from survey_app import create_app\n"
        f"app = create_app(TestConfig, {{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/a.db'}})\n"
        f"hooks = runpy.run_path({str(ROOT / 'gunicorn.conf.py')!r})\n"
        "assert 'scipy' not in sys.modules and 'analysis.report' not in sys.modules\n"
        "assert 'plotly.graph_objs._figure' not in sys.modules\n"
        "assert not list(app.jinja_env.cache)\n"
        "hooks['when_ready'](SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app)))\n"
        "assert 'analysis.report' in sys.modules and 'scipy.stats' in sys.modules\n"
        "assert 'plotly.graph_objs._figure' in sys.modules\n"
        "pages = app.jinja_env.list_templates(filter_func=lambda n: n.endswith('.html'))\n"
        "assert 'surveys/page.html' in pages and 'reports/overview.html' in pages\n"
        "missing = set(pages) - {key[1] for key in app.jinja_env.cache}\n"
        "assert not missing, sorted(missing)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
