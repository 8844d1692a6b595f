"""gunicorn.conf.py's hooks, run as gunicorn runs them."""

from __future__ import annotations

import runpy
import threading
from pathlib import Path
from types import SimpleNamespace

from survey_app.reports.services import service

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_on_its_way_out_drops_its_queued_reports(app, tmp_path):
    app.config["REPORTS_CACHE"] = str(tmp_path / "cache")
    app.extensions.pop("reports", None)
    jobs = service().jobs
    gate = threading.Event()
    running = jobs.submit("a guess running", lambda: gate.wait(10) and {"ran": 1}, False, True)
    queued = jobs.submit("a guess queued", lambda: {"ran": 2}, heavy=False, ahead=True)
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    worker = SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app))
    threading.Timer(0.5, gate.set).start()  # the running one finishes; shutdown waits for it
    hooks["worker_exit"](None, worker)
    assert queued.cancelled() and running.result(0) == {"ran": 1}
