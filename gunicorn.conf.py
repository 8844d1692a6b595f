"""gunicorn settings for serving the survey app in production and in the benchmark.

    gunicorn -c gunicorn.conf.py "survey_app:create_app()"

The service is CPU-bound on the web side (each request is short and the database is
on the same machine or near), so plain synchronous workers, about two per core, are
the cheapest way to use the cores; ``WEB_CONCURRENCY`` overrides the count.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * multiprocessing.cpu_count())
worker_class = "sync"
# Build the app once in the master and fork: workers start at once and share its
# memory. Nothing connects to the database while the app is built, so no connection
# is shared across the fork.
preload_app = True
timeout = 30
graceful_timeout = 10
backlog = 2048
