"""gunicorn settings for serving the survey app in production and in the benchmark.

    gunicorn -c gunicorn.conf.py "survey_app:create_app()"

A request spends most of its time on the CPU, and the rest waiting for the database a
few times; threaded workers (one process per core, a few threads each) overlap those
waits and keep browsers' connections open between pages (keep-alive), which plain
synchronous workers close after every request. Measured with benchmarks/submit.py on
2 cores against 4 sync workers, the real path served more requests per second and
answered sooner (see the README, "How answers are stored"). ``WEB_CONCURRENCY`` sets
the number of processes; ``GUNICORN_CMD_ARGS="--threads 8"`` (or any option) the rest.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
worker_class = "gthread"
threads = 4
keepalive = 5  # seconds an idle browser connection stays open between pages
# Build the app once in the master and fork: workers start at once and share its
# memory. Nothing connects to the database while the app is built, so no connection
# is shared across the fork.
preload_app = True
timeout = 30
graceful_timeout = 10
backlog = 2048


def when_ready(server):
    """In the master, the app loaded (``preload_app``) and before the first fork: the
    analysis imported once here is in every worker, fresh ones after a HUP included."""
    from survey_app.reports.services import preload_analysis

    preload_analysis()


def worker_exit(server, worker):
    """A worker on its way out (a HUP, a restart, the end of `down`) drops the reports
    queued in its background threads and ends its bootstrap's process instead of
    computing them first: after a HUP the old reports' worker went on computing a round
    of filters ahead and a bootstrap for 30 s, until the master killed it, beside the
    new worker that served the pages."""
    app = worker.app.wsgi()
    reports = getattr(app, "extensions", {}).get("reports")
    if reports is not None:
        reports.stop()
