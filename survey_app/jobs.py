"""Background jobs: exports and imports started from a page or the API run outside the
request, report their progress in the ``job`` table and leave a file behind.

A job runs in a thread of the process that started it (no broker to set up); any
process can report its progress, since it lives in the database. A job whose process
died stops advancing and is reported as interrupted after :data:`STALE`. With
``JOBS_SYNC`` set (tests, single-request tools) a job runs inside the request.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update

from .extensions import db
from .models import Job, Survey, aware, utcnow

log = logging.getLogger(__name__)
STALE = timedelta(minutes=10)  # no progress for this long: the process is gone
PROGRESS_EVERY = 0.5  # seconds between progress writes
_threads: set[threading.Thread] = set()
_lock = threading.Lock()


@dataclass
class Outcome:
    """What a finished job leaves: its result (JSON-ready) and its file, if any."""

    result: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    file_name: str = ""


Work = Callable[[Job, Callable[[int], None]], Outcome]


def new_job(kind: str, survey: Survey, user: Any, options: dict, total: int = 0) -> Job:
    """Add a queued job (the caller commits, then calls :func:`start`)."""
    job = Job(
        id=secrets.token_urlsafe(16),
        kind=kind,
        survey_id=survey.id,
        user_id=getattr(user, "id", None),
        status="queued",
        options=options,
        total=total,
    )
    db.session.add(job)
    return job


def folder(kind: str) -> Path:
    """Where the files of jobs of ``kind`` are kept (``JOB_FOLDER``/kind)."""
    base = current_app.config.get("JOB_FOLDER") or Path(current_app.instance_path) / "jobs"
    path = Path(base) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


def start(job_id: str, work: Work) -> None:
    """Run ``work(job, progress)`` for the committed job ``job_id``: in a thread, or
    at once under ``JOBS_SYNC``. ``work`` returns the job's :class:`Outcome`; a
    :class:`ValueError` it raises is the message the job fails with."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_SYNC"):
        _run(app, job_id, work)
        return
    thread = threading.Thread(target=_run, args=(app, job_id, work), daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()


def wait_all(timeout: float = 60.0) -> None:
    """Wait for the running job threads (tests, and a clean shutdown)."""
    deadline = time.monotonic() + timeout
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))


def _run(app: Flask, job_id: str, work: Work) -> None:
    with app.app_context():
        try:
            job = db.session.get(Job, job_id)
            if job is None or job.status != "queued":
                return
            job.status = "running"
            job.updated_at = utcnow()
            db.session.commit()
            reporter = _Progress(job_id)
            outcome = work(job, reporter)
            reporter.flush()
            job = db.session.get(Job, job_id)
            job.status = "done"
            job.done = job.total  # all its work is done, rows skipped or refused included
            job.result = outcome.result
            job.path, job.file_name = outcome.path, outcome.file_name
            job.finished_at = job.updated_at = utcnow()
            db.session.commit()
            log.info("job %s (%s of %s) done", job_id, job.kind, job.survey_id)
        except Exception as exc:  # the job's outcome, shown to whoever started it
            db.session.rollback()
            message = str(exc) if isinstance(exc, ValueError) else "the job failed"
            log.exception("job %s failed", job_id)
            db.session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="failed", error=message[:5000], finished_at=utcnow())
            )
            db.session.commit()
        finally:
            db.session.remove()
            with _lock:
                _threads.discard(threading.current_thread())


class _Progress:
    """Counts rows and writes the count at most every :data:`PROGRESS_EVERY` seconds,
    each in a short transaction of its own."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.done = 0
        self.last = 0.0

    def __call__(self, done: int) -> None:
        self.done = done
        if time.monotonic() - self.last >= PROGRESS_EVERY:
            self.flush()

    def flush(self) -> None:
        self.last = time.monotonic()
        db.session.execute(
            update(Job).where(Job.id == self.job_id).values(done=self.done, updated_at=utcnow())
        )
        db.session.commit()


def state(job: Job) -> str:
    """The job's status, ``failed`` for one whose process stopped reporting."""
    if job.status in ("queued", "running") and aware(job.updated_at) < utcnow() - STALE:
        return "failed"
    return job.status


def error_of(job: Job) -> str:
    if job.status in ("queued", "running") and state(job) == "failed":
        return "the job was interrupted (the server stopped); start it again"
    return job.error


def find(job_id: str, kind: str | None = None) -> Job | None:
    query = select(Job).where(Job.id == job_id)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return db.session.scalars(query).first()


def prune(kind: str, keep: timedelta) -> None:
    """Delete the files of finished jobs older than ``keep`` (the rows stay, as a
    record; their file is gone)."""
    cutoff = utcnow() - keep
    old = db.session.scalars(
        select(Job).where(Job.kind == kind, Job.path != "", Job.created_at < cutoff)
    ).all()
    for job in old:
        Path(job.path).unlink(missing_ok=True)
        job.path = ""
    if old:
        log.info("%s old %s files deleted", len(old), kind)
