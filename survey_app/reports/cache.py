"""The analysis frame and the computed reports of a survey, cached on disk and in memory.

Both caches are keyed by a *stamp* read from the database on every request: the latest
completion time and the largest id of the series' complete responses, the survey's
``data_revision`` (bumped by a trigger whenever a complete response is deleted or changed,
see :class:`~survey_app.models.Survey`), and the questionnaire version the frame is read
under. A completion, a new row (an import, backdated or not), a deletion, an edit or a new
version changes the stamp, so a stale entry is never served, by any process or instance
that shares the instance folder: files are written whole (a temporary file, then
``os.replace``) and every file carries the stamp it was made for. The stamp costs three
index lookups, never a count of the rows (which took 0.4 s per request at 1M).

* The frame (``instance/reports/<survey>/v<version id>.arrow``): an Arrow IPC file with
  the stamp in its metadata, uncompressed and memory-mapped when read (no copy: the
  processes that read it share the page cache's pages). When only responses were added
  since it was written, the new ones are read (those completed since a moment before its
  latest completion, or with a larger id than its largest) and appended instead of
  reading everything.
* Results (``instance/reports/<survey>/results/<hash>.json``): one report JSON per
  stamp, selection and analysis options.

Work that may take long (loading 1M responses, the bootstrap) runs in background threads;
a request waits for it at most a given time (:func:`Jobs.wait`). A file lock per result
makes the processes of one machine compute each report once.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from flask import current_app
from sqlalchemy import select

from ..models import Response, Survey
from ..storage import open_texts, reading, responses_frame, series_versions

log = logging.getLogger(__name__)

# Bump when the report's content changes for the same data (cached results are then
# recomputed instead of served).
ENGINE = "reports-2"
# Responses completed this long before the cached latest completion are read again when
# appending, for transactions that committed out of order; duplicates are dropped by id.
OVERLAP = timedelta(minutes=5)
MAX_RESULTS = 300  # result files kept per survey (the oldest go first)
# the longest work that can wait (a frame file's write, a guess) waits for the reports
# that requests asked for
YIELD_LIMIT = 30.0


@dataclass(frozen=True)
class Stamp:
    """What the cached data of a survey must match (see the module's docstring)."""

    survey_id: str
    version_id: int  # the version whose questionnaire defines the columns
    version_number: int
    series: tuple[int, ...]  # the version ids read together
    revision: int  # the survey's data_revision
    max_id: int  # the largest id of a complete response, 0 when there is none
    last_completed: float  # epoch seconds, 0 when there is no response

    @property
    def text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def appendable_from(self, old: Stamp) -> bool:
        """Whether a frame made at ``old`` can be brought to this stamp by appending."""
        return (
            old.survey_id == self.survey_id
            and old.version_id == self.version_id
            and old.series == self.series
            and old.revision == self.revision
            and old.max_id <= self.max_id
            and old.last_completed <= self.last_completed
        )


def current_stamp(survey_id: str, version: int | None = None) -> Stamp:
    """The stamp of the responses a report of ``survey_id`` reads now (one query).

    It is read where the frame is read: on the read replica when one is configured. So
    the stamp describes the replica's data, lag included, never the main database's
    newer state: a frame is never filed under a stamp whose responses it lacks. The
    replica replays commits in the main database's order, so a later read there sees
    everything an earlier one saw, which the appending (``completed_since`` with its
    overlap, ``or_after_id``) relies on as it does on the main database.
    """
    versions = series_versions(survey_id, version)
    if not versions:
        raise LookupError(f"no survey {survey_id}")
    ids = [v.id for v in versions]
    # one statement (one snapshot): a deletion shows in both parts or in neither
    complete = select(Response).where(
        Response.survey_id == survey_id,
        Response.status == "complete",
        Response.test.is_(False),
        Response.version_id.in_(ids),
        Response.completed_at.is_not(None),
    )

    def latest(column):
        return complete.with_only_columns(column).order_by(column.desc()).limit(1).scalar_subquery()

    query = select(Survey.data_revision, latest(Response.id), latest(Response.completed_at)).where(
        Survey.id == survey_id
    )
    with reading(replica=True) as connection:
        revision, max_id, last = connection.execute(query).one()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return Stamp(
        survey_id,
        versions[-1].id,
        versions[-1].number,
        tuple(ids),
        int(revision),
        int(max_id or 0),
        last.timestamp() if last is not None else 0.0,
    )


def cache_root(instance_path: str | Path) -> Path:
    return Path(instance_path) / "reports"


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by every process of this machine (released if one dies)."""
    handle = _acquire(path)
    try:
        yield
    finally:
        _release(handle)


def _acquire(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")  # noqa: SIM115 (released by _release, maybe in another thread)
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _release(handle) -> None:
    try:
        fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write(temporary path)``, then move it over ``path``: readers see all or nothing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(name))
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


# -- the frame -----------------------------------------------------------------------------
class FrameCache:
    """Each survey's responses frame: in this process's memory, on disk, or from the
    database; brought up to date by appending when only responses were added."""

    def __init__(self, root: Path, keep: int = 3) -> None:
        self.root = root
        self.keep = keep
        # (survey, version id) -> (stamp, frame, whether the frame has the open texts)
        self._memory: OrderedDict[tuple[str, int], tuple[Stamp, pd.DataFrame, bool]] = OrderedDict()
        self._lock = threading.Lock()
        self._writers: dict[Path, threading.Thread] = {}  # frame files being written
        # whether a report a request asked for is being computed (set by the service):
        # the file's write waits for it, see _write_later
        self.asked: Callable[[], bool] = lambda: False
        self._waiting = 0  # threads of this process waiting for a frame file's lock
        # the last older stamp served from a newer frame held: (stamp, that frame, its rows)
        self._older: tuple[Stamp, pd.DataFrame, pd.DataFrame] | None = None

    def path(self, stamp: Stamp) -> Path:
        return self.root / stamp.survey_id / f"v{stamp.version_id}.arrow"

    def rows(self, stamp: Stamp) -> int:
        """The responses of the survey's frame this process last held (0: none held)."""
        with self._lock:
            held = self._memory.get((stamp.survey_id, stamp.version_id))
        return 0 if held is None else len(held[1])

    def holds(self, stamp: Stamp) -> bool:
        """Whether this process holds the frame at ``stamp`` in memory."""
        with self._lock:
            held = self._memory.get((stamp.survey_id, stamp.version_id))
        return held is not None and held[0] == stamp

    def get(self, stamp: Stamp, texts: bool = False) -> pd.DataFrame:
        """The frame of every complete response at ``stamp`` (with metadata); the open
        texts at least when ``texts`` (a frame read from the database is read without
        them, which halves that read: :meth:`_write_later` adds them)."""
        key = (stamp.survey_id, stamp.version_id)
        with self._lock:
            held = self._memory.get(key)
        if held is not None and held[0] == stamp and (held[2] or not texts):
            return held[1]
        if held is not None and held[0].appendable_from(stamp) and (held[2] or not texts):
            # an older stamp of the frame held (a filter computed ahead, or the bootstrap,
            # for data that requests have since gone past): its rows, not the database's
            # whole read again (14 s at 1M under load, while the pages waited); kept for
            # the next filter of the same round (a copy of the rows each: 0.3 s at 1M)
            with self._lock:
                older = self._older
            if older is None or older[0] != stamp or older[1] is not held[1]:
                older = (stamp, held[1], at_stamp(held[1], stamp))
                with self._lock:
                    self._older = older
            return older[2]
        path = self.path(stamp)
        with self._lock:
            self._waiting += 1
        try:
            lock = _acquire(path.with_suffix(".lock"))  # one process loads, the others read
        finally:
            with self._lock:
                self._waiting -= 1
        try:
            with self._lock:  # (a frame file written meanwhile may have changed it)
                held = self._memory.get(key)
            disk = _disk_stamp(path)
            if disk == stamp:  # (mapped, the open texts included: no copy to read)
                frame, complete = _read_frame(path), True
            else:
                # the fuller of memory and disk that can be appended to, if any
                base = None
                if held is not None and stamp.appendable_from(held[0]):
                    base = held
                fuller = disk is not None and (
                    base is None
                    or (disk.max_id, disk.last_completed) > (base[0].max_id, base[0].last_completed)
                )
                if fuller and stamp.appendable_from(disk):
                    base = (disk, _read_frame(path), True)
                frame, complete = self._load(stamp, base)
                if texts and not complete:
                    frame, complete = _with_texts_from_database(frame, stamp), True
                self._hold(key, stamp, frame, complete)
                # written while the report is computed, the lock held until it is
                self._write_later(path, stamp, frame, complete, lock)
                lock = None
                return frame
        finally:
            if lock is not None:
                _release(lock)
        self._hold(key, stamp, frame, complete)
        return frame

    def _hold(self, key: tuple[str, int], stamp: Stamp, frame: pd.DataFrame, complete: bool):
        with self._lock:
            self._memory[key] = (stamp, frame, complete)
            self._older = None  # (rows of the frame held before)
            self._memory.move_to_end(key)
            while len(self._memory) > self.keep:
                self._memory.popitem(last=False)

    def _write_later(
        self,
        path: Path,
        stamp: Stamp,
        frame: pd.DataFrame,
        complete: bool,
        lock,
    ) -> None:
        """Write the frame file in a thread of its own, then release ``lock`` (the other
        processes wait for the file, the report of this one is computed meanwhile). A
        frame held without its open texts gets them first, from the database.

        Reading the texts and converting the frame hold Python's GIL for seconds: beside
        the report a request waits for, they made it take 8.9 s instead of 1.7 s at 1M.
        So the write waits until no such report is being computed (at most
        ``YIELD_LIMIT`` seconds), unless a thread of this process waits for the lock."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def write() -> None:
            try:
                deadline = time.monotonic() + YIELD_LIMIT
                while self.asked() and not self._waiting and time.monotonic() < deadline:
                    time.sleep(0.05)
                whole = frame
                if not complete:
                    with app.app_context():
                        whole = _with_texts_from_database(frame, stamp)
                write_atomically(path, lambda tmp: _write_frame(tmp, stamp, whole))
                if not complete:
                    key = (stamp.survey_id, stamp.version_id)
                    with self._lock:
                        held = self._memory.get(key)
                    if held is not None and held[0] == stamp and not held[2]:
                        self._hold(key, stamp, whole, True)
            except Exception:
                log.exception("report frame %s: not written", stamp.survey_id)
            finally:
                _release(lock)

        writer = threading.Thread(target=write, name="report-frame-writer")
        with self._lock:
            self._writers = {p: w for p, w in self._writers.items() if w.is_alive()}
            self._writers[path] = writer
        writer.start()

    def written(self, stamp: Stamp | None = None) -> None:
        """Wait until the frame file of ``stamp`` (or every file) is written."""
        with self._lock:
            writers = list(self._writers.items())
        for path, writer in writers:
            if stamp is None or path == self.path(stamp):
                writer.join()

    def _load(
        self, stamp: Stamp, old: tuple[Stamp, pd.DataFrame, bool] | None
    ) -> tuple[pd.DataFrame, bool]:
        """The frame at ``stamp`` and whether it has the open texts: ``old`` (stamp, frame,
        whether it has them) with the new responses appended, or every response read
        without the open texts (which take half of the time of a whole read:
        :meth:`_write_later` adds them)."""
        start = time.perf_counter()
        version = stamp.version_number
        if old is not None and stamp.appendable_from(old[0]) and old[0].last_completed:
            since = datetime.fromtimestamp(old[0].last_completed, UTC) - OVERLAP
            new = at_stamp(
                responses_frame(
                    stamp.survey_id,
                    version=version,
                    metadata=True,
                    completed_since=since,
                    or_after_id=old[0].max_id,
                    include_text=old[2],
                    replica=True,
                ),
                stamp,
            )
            frame = _append(old[1], new)
            log.info(
                "report frame %s: %s responses appended in %.2f s",
                stamp.survey_id,
                len(frame) - len(old[1]),
                time.perf_counter() - start,
            )
            return frame, old[2]
        everything = responses_frame(
            stamp.survey_id, version=version, metadata=True, include_text=False, replica=True
        )
        frame = at_stamp(everything, stamp)
        log.info(
            "report frame %s: %s responses loaded in %.2f s",
            stamp.survey_id,
            len(frame),
            time.perf_counter() - start,
        )
        return frame, False


def _with_texts_from_database(frame: pd.DataFrame, stamp: Stamp) -> pd.DataFrame:
    """``frame`` (read without the open texts) with them, matched by id, in the columns'
    order of a whole read."""
    start = time.perf_counter()
    q = series_versions(stamp.survey_id, stamp.version_number)[-1].questionnaire
    names = [c.name for c in q.text_columns]
    found = open_texts(stamp.survey_id, names, version=stamp.version_number, replica=True)
    texts = found.set_index("response_id").reindex(frame["response_id"].to_numpy())
    log.info(
        "report frame %s: open texts added in %.2f s", stamp.survey_id, time.perf_counter() - start
    )
    out = frame.copy(deep=False)
    for name in names:
        out[name] = pd.array(texts[name].to_numpy(), dtype="string")
    order = [c.name for c in q.columns]
    return out[[c for c in out.columns if c not in order] + order]


def at_stamp(frame: pd.DataFrame, stamp: Stamp) -> pd.DataFrame:
    """The rows of ``frame`` (read after ``stamp``) that the stamp covers: those completed
    by its latest completion with an id up to its largest. While customers submit, a read
    that follows the stamp's query finds newer responses; filed under the older stamp, a
    report would count responses that its stamp says it lacks.

    A response whose completion time is earlier but which committed after the stamp
    was read is missing from such a frame; the next append reads it (``OVERLAP``), and
    a response is never counted twice (appending drops the ids the frame holds)."""
    if frame.empty:
        return frame
    moments = frame["submitted_at"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    keep = (frame["response_id"].to_numpy() <= stamp.max_id) & (
        moments <= round(stamp.last_completed * 1e6) + 1
    )
    return frame if keep.all() else frame.loc[keep].reset_index(drop=True)


def _append(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """``old`` with the rows of ``new`` whose ids it lacks, in id order, types kept."""
    fresh = new.loc[~new["response_id"].isin(old["response_id"])]
    if fresh.empty:
        return old
    both = pd.concat([old, fresh], ignore_index=True)
    for name in old.columns:
        if isinstance(old[name].dtype, pd.CategoricalDtype) and not isinstance(
            both[name].dtype, pd.CategoricalDtype
        ):
            categories = list(old[name].cat.categories)
            categories += [c for c in pd.unique(fresh[name].dropna()) if c not in categories]
            both[name] = pd.Categorical(both[name], categories=categories)
    ids = both["response_id"].to_numpy()
    if (ids[1:] > ids[:-1]).all():  # the usual case: only newer ids (no sort of 1M rows)
        return both
    return both.sort_values("response_id", ignore_index=True)


def _write_frame(path: Path, stamp: Stamp, frame: pd.DataFrame) -> None:
    """The frame as an Arrow IPC file that :func:`_read_frame` maps without copying: one
    record batch, uncompressed, answers as floats with NaN (not Arrow nulls, which
    pandas would fill in a copy). A 1M-response frame is 478 MB instead of 131 MB with
    lz4, and read by a fresh process in 0.01 s instead of 0.2-1.5 s."""
    # one thread: pyarrow's pool refuses work once the interpreter is exiting
    table = pa.Table.from_pandas(frame, preserve_index=False, nthreads=1)
    for name in frame.columns:
        if frame[name].dtype == np.float64:
            index = table.schema.get_field_index(name)
            values = pa.array(frame[name].to_numpy(), type=pa.float64(), from_pandas=False)
            table = table.set_column(index, table.schema.field(index), values)
    metadata = dict(table.schema.metadata or {})
    metadata[b"survey-report-stamp"] = stamp.text.encode()
    # (columns appended to are chunked; a batch per chunk would make every column a copy)
    table = table.replace_schema_metadata(metadata).combine_chunks()
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(len(table), 1))


def _disk_stamp(path: Path) -> Stamp | None:
    """The stamp a frame file was written for (its metadata only), or None."""
    try:
        with pa.memory_map(str(path)) as source:
            metadata = pa.ipc.open_file(source).schema.metadata or {}
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return None
    raw = metadata.get(b"survey-report-stamp")
    if raw is None:
        return None
    fields = json.loads(raw)
    return Stamp(**{**fields, "series": tuple(fields["series"])})


def _text_columns(schema: pa.Schema) -> list[str]:
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def _mapped_table(path: Path) -> pa.Table:
    """The table of a frame file, memory-mapped: its columns are the file's pages (the
    page cache, shared by every process that reads the file), not copies. A file
    replaced meanwhile (``os.replace``) stays mapped whole until its table is dropped."""
    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()


def _read_frame(path: Path, texts: bool = True) -> pd.DataFrame:
    table = _mapped_table(path)
    if not texts:
        table = table.drop_columns(_text_columns(table.schema))
    return table.to_pandas(split_blocks=True)  # (no copy into one block per type)


# -- results -------------------------------------------------------------------------------
class ResultCache:
    """Report JSON files, one per stamp, selection and options."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def key(self, stamp: Stamp, parts: dict[str, Any]) -> str:
        text = json.dumps({"engine": ENGINE, "stamp": stamp.text, **parts}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:40]

    def path(self, survey_id: str, key: str) -> Path:
        return self.root / survey_id / "results" / f"{key}.json"

    def read(self, survey_id: str, key: str) -> dict | None:
        try:
            return json.loads(self.path(survey_id, key).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write(self, survey_id: str, key: str, value: dict) -> None:
        path = self.path(survey_id, key)
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        files = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for stale in files[:-MAX_RESULTS]:
            stale.unlink(missing_ok=True)


# -- background work -----------------------------------------------------------------------
class Jobs:
    """Report computations off the request path: quick ones (no bootstrap) and heavy
    ones (the bootstrap) in separate threads, each key computed once per process.

    What a request asked for comes first: the guesses of what will be asked next
    (``ahead``) wait for :meth:`yield_to_requests`, and a request for a guess still
    queued moves it to the quick thread."""

    def __init__(self) -> None:
        self.quick = ThreadPoolExecutor(1, thread_name_prefix="report-quick")
        self.heavy = ThreadPoolExecutor(1, thread_name_prefix="report-heavy")
        # guesses of what will be asked next: never queued before what was asked
        self.ahead = ThreadPoolExecutor(1, thread_name_prefix="report-ahead")
        self._running: dict[str, Future] = {}
        self._guesses: set[Future] = set()  # the futures of self.ahead not yet done
        self._asked = 0  # jobs of the quick thread queued or running
        # reentrant: cancelling a future runs its callbacks (which lock) at once
        self._lock = threading.RLock()
        self._quiet = threading.Condition(self._lock)

    def submit(
        self, key: str, work: Callable[[], dict | None], heavy: bool, ahead: bool = False
    ) -> Future:
        with self._lock:
            future = self._running.get(key)
            # a guess not started yet, asked for now: it goes first
            asked_guess = not ahead and not heavy and future in self._guesses
            if future is not None and asked_guess and future.cancel():
                future = None
            if future is not None:
                return future
            pool = self.ahead if ahead else self.heavy if heavy else self.quick
            future = pool.submit(work)
            self._running[key] = future
            if ahead:
                self._guesses.add(future)
            elif not heavy:
                self._asked += 1
        # outside the lock: a future already done runs its callback right here
        future.add_done_callback(lambda f, k=key: self._forget(k, f))
        if not ahead and not heavy:
            future.add_done_callback(self._answered)
        return future

    def _answered(self, future: Future) -> None:
        with self._quiet:
            self._asked -= 1
            self._quiet.notify_all()

    def asked(self) -> bool:
        """Whether a report a request asked for is queued or being computed."""
        with self._lock:
            return self._asked > 0

    def yield_to_requests(self, limit: float = YIELD_LIMIT) -> None:
        """Wait until no report a request asked for is queued or running, at most
        ``limit`` seconds (work that can wait must not starve forever)."""
        deadline = time.monotonic() + limit
        with self._quiet:
            while self._asked > 0 and (left := deadline - time.monotonic()) > 0:
                self._quiet.wait(left)

    def running(self, key: str) -> Future | None:
        """The job of ``key`` while it is queued or running."""
        with self._lock:
            return self._running.get(key)

    def idle(self) -> None:
        """Wait until every job submitted so far, and those they submit, has finished."""
        while True:
            with self._lock:
                running = list(self._running.values())
            if not running:
                return
            for future in running:
                if not future.cancelled():
                    future.exception()  # waits; a failure is the job's own business

    def shutdown(self, wait: bool = True) -> None:
        """Drop what is queued and wait for what runs (an app being torn down), unless
        not ``wait``."""
        for pool in (self.ahead, self.quick, self.heavy):
            pool.shutdown(wait=wait, cancel_futures=True)

    def _forget(self, key: str, future: Future) -> None:
        with self._lock:
            self._guesses.discard(future)
            if self._running.get(key) is future:
                del self._running[key]

    @staticmethod
    def wait(future: Future, seconds: float | None) -> dict | None:
        """The result, or None if it takes longer than ``seconds`` (it goes on)."""
        try:
            return future.result(timeout=seconds)
        except (FutureTimeout, CancelledError):  # (a guess a request moved ahead)
            return None
