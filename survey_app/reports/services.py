"""The report of a survey for a selection of responses: what ``/reports/<id>/data.json``,
the report pages, the offline file and the JSON API answer with.

:func:`report_json` takes plain, checked parameters (:func:`parse_parameters` reads them
from a request's query) and returns either the report (:class:`Ready`) or
:class:`Pending` with the seconds to wait before asking again. The report is the JSON of
``python -m analysis report --json`` for the selected complete responses, plus ``n`` (how
many the filters select), ``selection``, ``options`` and ``overview`` (responses per day).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flask import Flask, current_app, jsonify
from flask import Response as HttpResponse

from analysis.data import AnalysisError, SurveyData
from analysis.options import EXTRACTIONS, MISSING, ROTATIONS
from questionnaires import Questionnaire

from ..models import Response, Survey
from ..selection import Selection, SelectionError, check_version
from .cache import FrameCache, Jobs, ResultCache, Stamp, cache_root, current_stamp, file_lock

log = logging.getLogger(__name__)

OPTION_NAMES = ("factors", "extraction", "rotation", "missing", "bootstrap", "seed")
# the pages' own query parameters besides filters and options
PAGE_PARAMETERS = ("search", "offset")
MAX_BOOTSTRAP = 5000
MIN_RESPONSES = 10  # below this, a report says there are too few responses


class ParameterError(ValueError):
    """An analysis option that is not valid; the message says which and why."""


@dataclass(frozen=True)
class Options:
    """The analysis options of a report (``python -m analysis report``'s flags)."""

    factors: int | None = None
    extraction: str = "minres"
    rotation: str = "oblimin"
    missing: str | None = None  # None: the questionnaire's setting
    bootstrap: int = 200  # the pages show bootstrap intervals by default
    seed: int = 0

    def quick(self) -> Options:
        """The same report without the bootstrap (fast enough for the request path)."""
        return replace(self, bootstrap=0)

    def describe(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OPTION_NAMES}


DEFAULTS = Options()


def _integer(args, name: str, low: int, high: int | None = None) -> int | None:
    value = args.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r}: not a whole number") from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ParameterError(f"{name}={value!r}: must be {bound}")
    return number


def _choice(args, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = args.get(name)
    if value in (None, ""):
        return default
    if value not in allowed:
        raise ParameterError(f"{name}={value!r}: use one of {', '.join(allowed)}")
    return value


def parse_parameters(
    q: Questionnaire,
    args: Any,
    *,
    survey_id: str = "",
    versions: Iterable[int] | None = None,
) -> tuple[Selection, Options]:
    """The filters and analysis options of a query (``request.args`` or a mapping);
    with ``versions`` (the survey's version numbers) a ``version=`` it lacks is refused.

    Raises :class:`SelectionError` or :class:`ParameterError` with a message naming the
    parameter and what is allowed.
    """
    selection = Selection.from_args(q, args, reserved=(*OPTION_NAMES, *PAGE_PARAMETERS))
    if versions is not None:
        check_version(survey_id, selection.version, versions)
    factors = _integer(args, "factors", 1, 50)
    bootstrap = _integer(args, "bootstrap", 0, MAX_BOOTSTRAP)
    seed = _integer(args, "seed", 0, 2**32 - 1)
    options = Options(
        factors=factors,
        extraction=_choice(args, "extraction", tuple(EXTRACTIONS), DEFAULTS.extraction),
        rotation=_choice(args, "rotation", tuple(ROTATIONS), DEFAULTS.rotation),
        missing=_choice(args, "missing", tuple(MISSING), DEFAULTS.missing),
        bootstrap=DEFAULTS.bootstrap if bootstrap is None else bootstrap,
        seed=DEFAULTS.seed if seed is None else seed,
    )
    return selection, options


@dataclass(frozen=True)
class Ready:
    report: dict[str, Any]


@dataclass(frozen=True)
class Pending:
    retry_after: int  # seconds


# -- the report of one selection -----------------------------------------------------------
def compute_report(
    q: Questionnaire, frame: pd.DataFrame, selection: Selection, options: Options
) -> dict[str, Any]:
    """The analysis report of the rows of ``frame`` that ``selection`` keeps."""
    # the open texts stay behind: copying strings for every selected row is most of the
    # cost of a filter, and no analysis reads them
    texts = {c.name for c in q.text_columns}
    selected = selection.apply(frame[[c for c in frame.columns if c not in texts]])
    n = len(selected)
    if n < MIN_RESPONSES:
        report: dict[str, Any] = {
            "n_responses": n,
            "note": f"too few responses ({n}) for a report: at least {MIN_RESPONSES} are needed",
        }
    else:
        try:
            from analysis.report import build_report  # SciPy: loaded when first needed

            report = build_report(
                SurveyData(q, selected),
                factors=options.factors,
                extraction=options.extraction,
                rotation=options.rotation,
                bootstrap=options.bootstrap,
                seed=options.seed,
                missing=options.missing,
            )
        except AnalysisError as exc:  # data that cannot be analysed: say so, whole
            report = {"n_responses": n, "note": str(exc)}
    report["n"] = n
    report["selection"] = selection.describe()
    report["options"] = {**options.describe(), "missing": report.get("missing", options.missing)}
    report["overview"] = {"responses_by_day": responses_by_day(selected)}
    return report


def responses_by_day(frame: pd.DataFrame) -> list[list]:
    """``[[YYYY-MM-DD, count], ...]`` of the completion dates (UTC), days without any left
    out."""
    if frame.empty:
        return []
    moments = frame["submitted_at"].to_numpy(dtype="datetime64[ns]")
    days = moments.astype("datetime64[D]")
    days = days[~np.isnat(days)].astype(np.int64)
    if not len(days):
        return []
    first = int(days.min())
    counts = np.bincount(days - first)  # a count per day, no sort of n values
    seen = np.flatnonzero(counts)
    return [[str(np.datetime64(first + int(d), "D")), int(counts[d])] for d in seen]


# While no report of a settled stamp is ready yet, it is read for at most this many times
# REPORTS_REFRESH_SECONDS (a 1M frame's first read took 17-25 s under load).
SETTLE_LIMIT = 6
# A newer stamp that requests have seen unchanged for this many seconds is read at once:
# responses came as a batch (an import, a round of invitations), not as a stream.
QUIET_SECONDS = 1.0


@dataclass
class Settled:
    """The stamp requests read (see :meth:`ReportService.stamp`)."""

    stamp: Stamp
    read: float  # time.monotonic() when it was first read
    ready: float | None = None  # when its first report was computed
    newer: Stamp | None = None  # the newest stamp a request saw meanwhile
    newer_seen: float = 0.0  # when a request first saw that one


class ReportService:
    """The caches and background jobs of one app (see :mod:`.cache`)."""

    def __init__(self, app: Flask) -> None:
        root = Path(app.config.get("REPORTS_CACHE") or cache_root(app.instance_path))
        self.app = app
        self.frames = FrameCache(root)
        self.results = ResultCache(root)
        self.jobs = Jobs()
        self.frames.asked = self.jobs.asked
        self.latest: dict[str, Stamp] = {}  # the newest stamp a request saw, per survey
        self.settled: dict[tuple[str, int | None], Settled] = {}  # see stamp()
        self._settle_lock = threading.Lock()
        self.ahead: dict[str, list] = {}  # the jobs of the filters computed ahead, per survey
        self.completions: dict[str, tuple] = {}  # survey -> (stamp, when, counts)
        # the analysis (SciPy: 2 s to import) loaded while the first frame is read, not
        # after it: a fresh process's first report took 3.7 s instead of 1.9 s
        threading.Thread(target=preload_analysis, name="report-imports", daemon=True).start()

    def shutdown(self) -> None:
        """Drop queued reports, wait for those running and for frame files being written."""
        self.jobs.shutdown()
        self.frames.written()

    def stop(self) -> None:
        """The process is on its way out (gunicorn's ``worker_exit``): queued reports are
        dropped, the bootstrap's worker process ended, frame files being written finished;
        the reports computing now finish as the process exits."""
        from . import compute

        self.jobs.shutdown(wait=False)
        compute.stop()
        self.frames.written()

    def stamp(self, survey_id: str, version: int | None = None) -> Stamp:
        """The stamp requests read: the newest (:func:`current_stamp`), except while
        responses keep arriving. A stamp once read is read again, for a newer one that
        only adds responses to it, until its first report is ready and for
        ``REPORTS_REFRESH_SECONDS`` after (at most ``SETTLE_LIMIT`` times that in all).
        Requests then share the frame, the reports and the filters computed ahead, where
        at 50 responses/s each request had data of its own and appended and computed it
        anew. A deletion, a change or another version is never held back, nor responses
        that stopped arriving: a newer stamp that requests have seen unchanged for
        ``QUIET_SECONDS`` (an import of 500 responses showed after 9 s instead of 2 s)."""
        newest = current_stamp(survey_id, version)
        limit = float(self.app.config.get("REPORTS_REFRESH_SECONDS") or 0)
        if limit <= 0:
            return newest
        now = time.monotonic()
        with self._settle_lock:
            settled = self.settled.get((survey_id, version))
            if settled is not None and settled.stamp == newest:
                return newest
            if settled is not None and newest.appendable_from(settled.stamp):
                if settled.newer != newest:  # responses arrived since a request last looked
                    settled.newer, settled.newer_seen = newest, now
                ready = settled.ready
                if (
                    now - settled.newer_seen < QUIET_SECONDS
                    and now - settled.read < SETTLE_LIMIT * limit
                    and (ready is None or now - ready < limit)
                ):
                    return settled.stamp
            self.settled[(survey_id, version)] = Settled(newest, now)
        return newest

    def _report_ready(self, stamp: Stamp, version: int | None) -> None:
        """A report of ``stamp`` is computed: the time :meth:`stamp` counts from."""
        with self._settle_lock:
            settled = self.settled.get((stamp.survey_id, version))
            if settled is not None and settled.stamp == stamp and settled.ready is None:
                settled.ready = time.monotonic()

    def key(self, stamp: Stamp, selection: Selection, options: Options) -> str:
        return self.results.key(stamp, {"selection": selection.key, **options.describe()})

    def get(
        self,
        survey: Survey,
        selection: Selection,
        options: Options,
        wait: float | None,
        stamp: Stamp | None = None,
    ) -> Ready | Pending:
        """The report, from the cache or computed; if that takes longer than ``wait``
        seconds, :class:`Pending` (the work goes on in the background)."""
        stamp = stamp or self.stamp(survey.id, selection.version)
        self.latest[survey.id] = stamp
        key = self.key(stamp, selection, options)
        cached = self.results.read(survey.id, key)
        if cached is not None:
            self._report_ready(stamp, selection.version)
            self._hold_frame(stamp)
            return Ready({**cached, **self.customers(survey, stamp, selection)})
        q = _questionnaire(survey, stamp)
        # the bootstrap after the quick report of the same data: beside it, on 2 cores, it
        # delayed what the page shows first (a fresh report at 1M: 22 s instead of about 5)
        quick = self.jobs.running(self.key(stamp, selection, options.quick()))
        future = self._submit(stamp, key, q, selection, options, after=quick)
        if not selection.segments and options.bootstrap == 0:
            self._prefetch(stamp, q, selection, options, after=future)
        if wait is not None and wait <= 0 and not future.done():
            result = None
        else:
            result = self.jobs.wait(future, wait)
        if result is None:
            recent = self._recent(stamp, selection, options)
            if recent is None:
                return Pending(_retry_after(self.frames.rows(stamp), options))
            result = recent  # an earlier report of these filters, marked stale
        return Ready({**result, **self.customers(survey, stamp, selection)})

    def _hold_frame(self, stamp: Stamp) -> None:
        """A report served from the files: the frame read into memory meanwhile (as work
        that can wait), so that the filter a manager tries next is computed at once
        instead of after reading the frame (1.5 s at 1M)."""
        if self.frames.holds(stamp):
            return
        app = self.app

        def work() -> None:
            time.sleep(0.5)  # the page served from the files is sent first
            self.jobs.yield_to_requests()
            with app.app_context():
                self.frames.get(stamp)

        self.jobs.submit(f"frame:{stamp.text}", work, heavy=False, ahead=True)

    def customers(self, survey: Survey, stamp: Stamp, selection: Selection) -> dict[str, Any]:
        """The report's customer figures (``tier_pyramid``, ``follow_ups``; both None when
        the unit has no customer register and the survey no follow-up).

        Cached apart from the analysis, keyed by the responses' stamp and the follow-ups'
        and register's own (:func:`~survey_app.followups.reporting.data_stamp`): a case
        resolved shows at the next request without recomputing the analysis."""
        from ..followups.reporting import data_stamp, report_section

        depends = data_stamp(survey)
        if not depends["cases"] and not depends["customers"]:
            return {"tier_pyramid": None, "follow_ups": None}
        key = self.results.key(stamp, {"customers": selection.key, "data": depends})
        cached = self.results.read(survey.id, key)
        if cached is not None:
            return cached
        frame = self.frames.get(stamp)
        wanted = [c for c in ("response_id", "submitted_at", "tier") if c in frame]
        wanted += [c for c in selection.segments if c not in wanted]
        section = report_section(survey, selection.apply(frame[wanted]), selection)
        self.results.write(survey.id, key, section)
        return section

    def _latest_key(self, stamp: Stamp, selection: Selection, options: Options) -> str:
        """Where the key of the newest result of a selection and options is kept (a
        folder of its own: the results folder holds results only)."""
        parts = {"version": stamp.version_id, "selection": selection.key, **options.describe()}
        unstamped = replace(stamp, revision=0, max_id=0, last_completed=0)
        return "latest/" + self.results.key(unstamped, parts)

    def _recent(self, stamp: Stamp, selection: Selection, options: Options) -> dict | None:
        """While the report at ``stamp`` is computed, the newest one computed for the same
        selection and options at an earlier stamp, if it is at most ``REPORTS_STALE_SECONDS``
        old (marked ``stale``). Under a steady stream of submissions every request sees a
        new stamp; without this the page would wait for a computation that a newer stamp
        has already made out of date."""
        limit = float(self.app.config.get("REPORTS_STALE_SECONDS") or 0)
        if limit <= 0:
            return None
        pointer = self.results.read(stamp.survey_id, self._latest_key(stamp, selection, options))
        if pointer is None or time.time() - pointer.get("at", 0) > limit:
            return None
        older = Stamp(**{**pointer["stamp"], "series": tuple(pointer["stamp"]["series"])})
        if not stamp.appendable_from(older):
            return None  # a deletion or another version since: never serve it
        report = self.results.read(stamp.survey_id, pointer["key"])
        return None if report is None else {**report, "stale": True}

    def _submit(
        self,
        stamp: Stamp,
        key: str,
        q: Questionnaire,
        selection: Selection,
        options: Options,
        prefetch: bool = False,
        after: Future | None = None,
    ):
        app = self.app

        def work() -> dict | None:
            if after is not None and not after.cancelled():
                # the report a page waits for first: computed beside it, work that can
                # wait (a guess, the bootstrap) takes the CPU and the GIL from it
                # (measured at 1M: 6.6 s instead of 1.4 s). Not a guess moved to this
                # thread (cancelled): concurrent.futures.wait returns on a cancelled
                # future only when its pool reaches it, behind guesses that wait for
                # this very request (up to 30 s: a stall seen under load)
                wait_for([after])
            if prefetch or options.bootstrap:
                self.jobs.yield_to_requests()  # and any other report a request asked for
            newest = self.latest.get(stamp.survey_id)
            superseded = newest is not None and newest != stamp and newest.appendable_from(stamp)
            if superseded and not prefetch:
                # a request has since asked for a newer stamp (its job is queued): under
                # a steady stream of submissions, computing each stamp in turn would
                # never catch up. (A round computed ahead runs whole, see _prefetch.)
                return None
            with app.app_context():
                return self._compute(stamp, key, q, selection, options)

        return self.jobs.submit(key, work, heavy=options.bootstrap > 0, ahead=prefetch)

    def _prefetch(
        self,
        stamp: Stamp,
        q: Questionnaire,
        selection: Selection,
        options: Options,
        after: Future | None = None,
    ) -> None:
        """After the unfiltered report, the report of each single segment choice, in the
        background: the filter a manager tries first is then already computed.

        While a round is still running no new one starts: under a steady stream of
        submissions every request has a newer stamp, and a round superseded by each
        request would never finish; a finished round's reports answer those filters as
        stale ones (``REPORTS_STALE_SECONDS``) until the next round."""
        running = self.ahead.get(stamp.survey_id, [])
        if any(not future.done() for future in running):
            return
        jobs = []
        for section in q.segments:
            for item in section.items:
                for choice in item.choices:
                    one = replace(selection, segments={item.id: frozenset([choice.id])})
                    key = self.key(stamp, one, options)
                    if not self.results.path(stamp.survey_id, key).exists():
                        job = self._submit(stamp, key, q, one, options, prefetch=True, after=after)
                        jobs.append(job)
        self.ahead[stamp.survey_id] = jobs

    def _compute(
        self, stamp: Stamp, key: str, q: Questionnaire, selection: Selection, options: Options
    ) -> dict:
        path = self.results.path(stamp.survey_id, key)
        with file_lock(path.with_suffix(".lock")):  # another process may have made it
            cached = self.results.read(stamp.survey_id, key)
            if cached is not None:
                return cached
            frame = self.frames.get(stamp)  # also makes sure the frame file is current
            start = time.perf_counter()
            report = None
            if options.bootstrap and self.app.config.get("REPORTS_PROCESS", True):
                from .compute import StaleFrame, pool, report_from_file

                self.frames.written(stamp)  # the worker process reads the file
                path = str(self.frames.path(stamp))
                try:
                    report = (
                        pool().submit(report_from_file, path, stamp, q, selection, options).result()
                    )
                except StaleFrame:
                    log.info("report %s: frame file replaced; computing here", stamp.survey_id)
            if report is None:
                report = compute_report(q, frame, selection, options)
            report["computed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            self.results.write(stamp.survey_id, key, report)
            self.results.write(
                stamp.survey_id,
                self._latest_key(stamp, selection, options),
                {"key": key, "stamp": json.loads(stamp.text), "at": time.time()},
            )
            self._report_ready(stamp, selection.version)
            log.info(
                "report %s [%s] bootstrap=%s: %.2f s",
                stamp.survey_id,
                selection.key,
                options.bootstrap,
                time.perf_counter() - start,
            )
            return report


def preload_analysis() -> None:
    """Import the analysis (SciPy and the rest: about 2 s) now, in a process that is
    about to serve: gunicorn's master calls it before it forks its workers
    (``gunicorn.conf.py``), so that no worker, fresh after a HUP or a crash included,
    makes its first report wait for the import (it did: a two-segment filter asked in a
    process just started took 1.35 s, of which 1 s waiting for it)."""
    import analysis.report  # noqa: F401


def _questionnaire(survey: Survey, stamp: Stamp) -> Questionnaire:
    version = survey.version(stamp.version_number)
    return version.questionnaire


def _retry_after(rows: int, options: Options) -> int:
    """A guess of the seconds left from the responses last held (0 when none was: a
    second): about 1 s per 200k responses, more with a bootstrap."""
    per = 1 + rows / 200_000
    if options.bootstrap:
        per += options.bootstrap * rows / 20_000_000
    return max(1, min(30, math.ceil(per)))


def service() -> ReportService:
    """This app's report service (made on first use)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("reports")
    if found is None:
        found = app.extensions["reports"] = ReportService(app)
    return found


def report_json(
    survey: Survey,
    selection: Selection,
    options: Options,
    *,
    wait: float | None,
    stamp: Stamp | None = None,
) -> Ready | Pending:
    """The report of ``survey`` for ``selection`` with ``options``: what data.json and the
    JSON API answer. ``wait=None`` computes it whatever it takes (the command line);
    ``stamp`` saves reading it again when the caller has just read it."""
    return service().get(survey, selection, options, wait, stamp)


def data_stamp(survey: Survey, selection: Selection) -> Stamp:
    """The stamp of the responses ``selection`` reads (one query; see
    :meth:`ReportService.stamp`)."""
    return service().stamp(survey.id, selection.version)


COMPLETION_SECONDS = 60  # how long counts of unfinished responses may be shown again


def completion(survey: Survey, stamp: Stamp | None = None) -> dict[str, Any]:
    """Complete and started-but-unfinished responses of the whole survey (unfiltered).

    Counting takes a pass over the survey's rows (0.3 s at 1M), so with the report's
    ``stamp`` the counts made under that stamp are used again for up to
    ``COMPLETION_SECONDS``: a completion or deletion shows at once, a response just
    started within that time."""
    held = service().completions if stamp is not None else {}
    known = held.get(survey.id)
    if known is not None and known[0] == stamp and time.monotonic() - known[1] < COMPLETION_SECONDS:
        return known[2]
    complete = survey.response_count("complete")
    started = complete + survey.response_count("in_progress")
    counts = {
        "complete": complete,
        "in_progress": started - complete,
        "rate": complete / started if started else None,
    }
    if stamp is not None:
        held[survey.id] = (stamp, time.monotonic(), counts)
    return counts


def json_answer(result: Ready | Pending) -> HttpResponse:
    """What data.json and the JSON API answer: the report (200), or 202 with
    ``Retry-After`` while it is computed."""
    if isinstance(result, Pending):
        response = jsonify(status="computing", retry_after=result.retry_after)
        response.status_code = 202
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    return jsonify(result.report)


__all__ = [
    "DEFAULTS",
    "OPTION_NAMES",
    "Options",
    "ParameterError",
    "Pending",
    "Ready",
    "Response",
    "SelectionError",
    "completion",
    "json_answer",
    "parse_parameters",
    "report_json",
]


# -- open text -----------------------------------------------------------------------------
MIN_GROUP_TEXTS = 5  # a group with fewer answers shows no keywords
TEXTS_PER_PAGE = 50


def _scorers(q: Questionnaire, frame: pd.DataFrame) -> tuple[str, np.ndarray, np.ndarray] | None:
    """(basis, low, high) masks: the low and high third of the satisfaction score, else
    NPS detractors (0-6) and promoters (9-10)."""
    data = SurveyData(q, frame)
    scale = next(
        (
            s
            for s in data.scales
            if s.section.kind == "outcome" and s.section.role == "satisfaction"
        ),
        None,
    )
    if scale is not None:
        score = data.score(scale)
        third = (q.scale.max - q.scale.min) / 3
        return "satisfaction", score <= q.scale.min + third, score >= q.scale.max - third
    nps = next((i for i in q.items if i.type.recommends and i.id in frame), None)
    if nps is not None:
        values = frame[nps.id].to_numpy(float)
        return "nps", values <= 6, values >= 9
    return None


def keyword_summary(q: Questionnaire, frame: pd.DataFrame) -> dict[str, Any]:
    """Per open-text question: its keywords overall, per segment group and for low and
    high scorers (groups with fewer than :data:`MIN_GROUP_TEXTS` answers are left out)."""
    from analysis.keywords import keyword_counts

    out: dict[str, Any] = {}
    scorers = _scorers(q, frame)
    segments = [i for s in q.segments for i in s.items if i.id in frame]
    for column in q.text_columns:
        if column.name not in frame:
            continue
        values = frame[column.name]
        answered = values.notna().to_numpy() & (values.fillna("").str.strip() != "").to_numpy()
        texts = values.to_numpy(dtype=object)

        def top(
            mask: np.ndarray, how_many: int = 10, answered=answered, texts=texts
        ) -> list[list] | None:
            chosen = answered & mask
            if chosen.sum() < MIN_GROUP_TEXTS:
                return None
            return [list(p) for p in keyword_counts(([t] for t in texts[chosen]), how_many)]

        entry: dict[str, Any] = {
            "n": int(answered.sum()),
            "all": top(np.ones(len(frame), bool), 15),
        }
        entry["segments"] = {}
        for item in segments:
            groups = frame[item.id].to_numpy(dtype=object)
            entry["segments"][item.id] = {c.id: top(groups == c.id, 8) for c in item.choices}
        if scorers is not None:
            basis, low, high = scorers
            entry["scorers"] = {"basis": basis, "low": top(low, 8), "high": top(high, 8)}
        out[column.name] = entry
    return out


def text_rows(
    q: Questionnaire, frame: pd.DataFrame, search: str, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """The open answers (personal data) with the respondent's segments and scores, newest
    first; ``search`` keeps those containing it (case-insensitive)."""
    columns = [c.name for c in q.text_columns if c.name in frame]
    if not columns:
        return 0, []
    answered = np.zeros(len(frame), dtype=bool)
    for name in columns:
        answered |= frame[name].notna().to_numpy()
    if search:
        needle = search.casefold()
        hit = np.zeros(len(frame), dtype=bool)
        for name in columns:
            hit |= (
                frame[name].fillna("").str.casefold().str.contains(needle, regex=False).to_numpy()
            )
        answered &= hit
    where = np.flatnonzero(answered)[::-1]
    total = len(where)
    page = where[offset : offset + TEXTS_PER_PAGE]
    data = SurveyData(q, frame)
    scores = {
        s.name: data.score(s)
        for s in data.scales
        if s.section.kind == "outcome" and s.section.role == "satisfaction"
    }
    nps = [i.id for i in q.items if i.type.recommends and i.id in frame]
    segments = [i.id for s in q.segments for i in s.items if i.id in frame]
    rows = []
    for i in page:
        row = {
            "response_id": int(frame["response_id"].iloc[i]),
            "submitted_at": str(frame["submitted_at"].iloc[i])[:16],
            "segments": {s: _text_or_none(frame[s].iloc[i]) for s in segments},
            "scores": {name: _number(v[i]) for name, v in scores.items()},
            "texts": {name: _text_or_none(frame[name].iloc[i]) for name in columns},
        }
        row["scores"].update({item: _number(frame[item].iloc[i]) for item in nps})
        rows.append(row)
    return total, rows


def _text_or_none(value: Any) -> str | None:
    return (
        None
        if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value)
        else str(value)
    )


def _number(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def open_text(
    survey: Survey,
    selection: Selection,
    *,
    personal: bool,
    search: str = "",
    offset: int = 0,
    wait: float | None,
) -> Ready | Pending:
    """Keywords of the selected responses' open answers (and, when ``personal``, the
    answers themselves, a page of them)."""
    svc = service()
    stamp = svc.stamp(survey.id, selection.version)
    key = svc.results.key(stamp, {"keywords": selection.key})
    q = _questionnaire(survey, stamp)
    app = svc.app

    def work() -> dict:
        with app.app_context():
            frame = selection.apply(svc.frames.get(stamp, texts=True))
            keywords = svc.results.read(survey.id, key)
            if keywords is None:
                keywords = {"n": len(frame), "columns": keyword_summary(q, frame)}
                svc.results.write(survey.id, key, keywords)
            out = {"keywords": keywords}
            if personal:
                out["total"], out["rows"] = text_rows(q, frame, search, offset)
            return out

    job = f"{key}:{personal}:{search}:{offset}"
    result = svc.jobs.wait(svc.jobs.submit(job, work, heavy=False), wait)
    wait_for = _retry_after(svc.frames.rows(stamp), Options(bootstrap=0))
    return Pending(wait_for) if result is None else Ready(result)
