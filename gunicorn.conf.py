"""gunicorn settings for serving the survey app in production and in the benchmark.

    gunicorn -c gunicorn.conf.py "survey_app:create_app()"

Behind nginx (``BEHIND_PROXY``, as ``scripts/production.sh`` runs the instances): plain
synchronous workers, two per core. nginx holds the browsers' connections and buffers
every request and response, and opens a connection to gunicorn per request, so threads
would only add their switching: measured with ``benchmarks/production_load.py`` (32
customers through nginx, 2026-12-02, 2 cores, same minutes), 4 sync workers served the
same requests/s as 4 workers x 4 threads (1 instance: 251-278 against 240-284; 2
instances: 226-235 against 259-267) with half the tail (p99 165-291 ms against 340-740
ms: a thread that got the database's answer waited for the others to hand back the
GIL). A request that lasts longer than ``timeout`` ends its sync worker: exports and
imports run as jobs in the background, and the reports have a threaded process of their
own (``production.sh`` passes it ``--worker-class gthread``).

Served directly (no proxy): threaded workers, one process per core with a few threads
each, which keep browsers' connections open between pages (keep-alive); with
``benchmarks/submit.py`` (no nginx) they served more requests per second than sync
workers, which close the connection after every request. ``WEB_CONCURRENCY`` sets the
number of processes; ``GUNICORN_CMD_ARGS="--threads 8"`` (or any option) the rest.
"""

import multiprocessing
import os

from config import behind_proxy

bind = os.environ.get("BIND", "127.0.0.1:8000")
_behind_proxy = behind_proxy()
_cores = multiprocessing.cpu_count()
workers = int(os.environ.get("WEB_CONCURRENCY") or (2 * _cores if _behind_proxy else _cores))
worker_class = "sync" if _behind_proxy else "gthread"
threads = 1 if _behind_proxy else 4
keepalive = 5  # (threaded workers) seconds an idle browser connection stays open
# Build the app once in the master and fork: workers start at once and share its
# memory. Nothing connects to the database while the app is built, so no connection
# is shared across the fork.
preload_app = True
timeout = 30
graceful_timeout = 10
backlog = 2048


def when_ready(server):
    """In the master, the app loaded (``preload_app``) and before the first fork: the
    analysis, plotly and the compiled templates loaded once here are in every worker,
    fresh ones after a HUP included (``survey_app.ops.warm_up``)."""
    from survey_app.ops import warm_up

    warm_up(server.app.wsgi())


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
