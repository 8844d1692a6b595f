"""The report pages, their data and downloads. Every view of a survey's report needs
``view_reports`` in the survey's unit; the open answers themselves need the personal
grant as well."""

from __future__ import annotations

import gzip
import math
import time
from functools import cache

import plotly
from flask import Response as HttpResponse
from flask import abort, g, jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .. import audit
from ..auth.policy import public, sees_personal, survey_requires
from ..extensions import db
from ..storage import version_numbers
from . import bp, notes, offline, pages
from .services import (
    DEFAULTS,
    OPTION_NAMES,
    ParameterError,
    Pending,
    Ready,
    SelectionError,
    completion,
    data_stamp,
    json_answer,
    open_text,
    parse_parameters,
    report_json,
)

# How long a request may wait for its report before answering "being computed", counted
# from its start (the stamp query included): with what follows the wait (the overview's
# counts, 0.2 s at 1M, and the templates, 0.3 s in a fresh process) a page stays under the
# speed goal of a cold page (3 s), so that no request holds a worker longer.
PAGE_WAIT = 2.0


def _budget(started: float) -> float:
    """What is left of :data:`PAGE_WAIT` for waiting on a report."""
    return max(0.0, PAGE_WAIT - (time.perf_counter() - started))


def _parameters():
    """The selection and options of the request, or a 400 page listing what is wrong."""
    q = g.survey.questionnaire
    try:
        return parse_parameters(
            q, request.args, survey_id=g.survey.id, versions=version_numbers(g.survey.id)
        )
    except (SelectionError, ParameterError) as exc:
        abort(400, description=str(exc))


def _page(name: str):
    started = time.perf_counter()
    survey = g.survey
    selection, options = _parameters()
    stamp = data_stamp(survey, selection)
    quick = report_json(survey, selection, options.quick(), wait=_budget(started), stamp=stamp)
    full = (
        report_json(survey, selection, options, wait=0, stamp=stamp) if options.bootstrap else quick
    )
    report = full.report if isinstance(full, Ready) else None
    if isinstance(quick, Ready) and (
        report is None or (report.get("stale") and not quick.report.get("stale"))
    ):
        report = quick.report  # the newest responses first, their intervals later
    with_intervals = isinstance(full, Ready) and report is full.report
    # an older report shown while the one with the newest responses is computed
    refreshing = report is not None and bool(report.get("stale"))
    lang = str(get_locale())
    q = survey.questionnaire
    labels = pages.Labels.of(q, lang)
    content = pages.BUILDERS[name](report, q, labels, _) if report is not None else None
    return render_template(
        f"reports/{name}.html",
        survey=survey,
        q=q,
        page=name,
        report=report,
        content=content,
        labels=labels,
        selection=selection,
        options=options,
        refreshing=refreshing,
        intervals_pending=report is not None and not with_intervals and not refreshing,
        pending=report is None,
        retry_after=(full if isinstance(full, Pending) else quick).retry_after
        if isinstance(full, Pending) or isinstance(quick, Pending)
        else None,
        # what the page waits for: the quick report of the newest responses when it shows
        # none or an older one, else the intervals
        poll_url=url_for(
            "reports.data",
            survey_id=survey.id,
            **{
                **request.args.to_dict(flat=False),
                **({"bootstrap": 0} if report is None or refreshing else {}),
            },
        ),
        completion=completion(survey, stamp) if name == "overview" else None,
    )


@bp.get("/<sid:survey_id>")
@survey_requires("view_reports")
def overview(survey_id: str):
    """The overview: responses, satisfaction, NPS and the plain-language summary."""
    return _page("overview")


@bp.get("/<sid:survey_id>/service-quality")
@survey_requires("view_reports")
def service(survey_id: str):
    """Expectation against perception per dimension, gaps, profile, zone of tolerance."""
    return _page("service")


@bp.get("/<sid:survey_id>/priorities")
@survey_requires("view_reports")
def priorities(survey_id: str):
    """What to fix first: the importance-performance matrix and the ranked drivers."""
    return _page("priorities")


@bp.get("/<sid:survey_id>/satisfaction")
@survey_requires("view_reports")
def satisfaction(survey_id: str):
    """The satisfaction model and the loyalty curve."""
    return _page("satisfaction")


@bp.get("/<sid:survey_id>/segments")
@survey_requires("view_reports")
def segments(survey_id: str):
    """Segments compared, and the trend across waves."""
    return _page("segments")


@bp.get("/<sid:survey_id>/customers")
@survey_requires("view_reports")
def customers(survey_id: str):
    """The customer pyramid, recovery after follow-ups and follow-ups resolved in time."""
    return _page("customers")


@bp.get("/<sid:survey_id>/methods")
@survey_requires("view_reports")
def methods(survey_id: str):
    """Reliability, factor analyses, the n of each analysis: what a researcher checks."""
    return _page("methods")


@bp.get("/<sid:survey_id>/open-text")
@survey_requires("view_reports")
def texts(survey_id: str):
    """Keywords of the open answers; the answers themselves for the personal grant."""
    started = time.perf_counter()
    survey = g.survey
    selection, _options = _parameters()
    personal = sees_personal(current_user)
    search = (request.args.get("search") or "").strip()[:200]
    try:
        offset = max(0, int(request.args.get("offset") or 0))
    except ValueError:
        abort(400, description=_("offset must be a whole number"))
    result = open_text(
        survey, selection, personal=personal, search=search, offset=offset, wait=_budget(started)
    )
    q = survey.questionnaire
    labels = pages.Labels.of(q, str(get_locale()))
    data = (
        dict(result.report, n=result.report["keywords"]["n"]) if isinstance(result, Ready) else None
    )
    charts = pages.keyword_charts(data["keywords"], q, labels, _) if data else []
    return render_template(
        "reports/texts.html",
        survey=survey,
        q=q,
        page="texts",
        report=data,
        content={"charts": charts},
        labels=labels,
        selection=selection,
        options=DEFAULTS,
        personal=personal,
        search=search,
        offset=offset,
        pending=data is None,
        intervals_pending=False,
        retry_after=result.retry_after if isinstance(result, Pending) else None,
        poll_url=None,
        per_page=50,
    )


@bp.get("/<sid:survey_id>/data.json")
@survey_requires("view_reports")
def data(survey_id: str):
    """The report's JSON for the filters and options of the query; 202 while computing."""
    started = time.perf_counter()
    q = g.survey.questionnaire
    try:
        selection, options = parse_parameters(
            q, request.args, survey_id=g.survey.id, versions=version_numbers(g.survey.id)
        )
    except (SelectionError, ParameterError) as exc:
        return jsonify(error=str(exc)), 400
    result = report_json(g.survey, selection, options, wait=_budget(started))
    return json_answer(result)


@bp.get("/<sid:survey_id>/report.html")
@survey_requires("view_reports")
def download(survey_id: str):
    """The whole report as one offline HTML file (audited)."""
    survey = g.survey
    selection, options = _parameters()
    result = report_json(survey, selection, options, wait=PAGE_WAIT)
    if isinstance(result, Pending):
        response = HttpResponse(
            _(
                "The report is being computed; try again in %(seconds)s seconds.",
                seconds=result.retry_after,
            ),
            status=202,
            mimetype="text/plain",
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    lang = str(get_locale())
    html = offline.build(survey, result.report, lang)
    audit.record(
        "report_download",
        survey.id,
        {"format": "html", "lang": lang, **selection.describe(), **options.describe()},
    )
    db.session.commit()
    response = HttpResponse(html, mimetype="text/html")
    response.headers["Content-Disposition"] = f'attachment; filename="report-{survey.id}.html"'
    return response


@bp.post("/<sid:survey_id>/downloads")
@survey_requires("view_reports")
def chart_download(survey_id: str):
    """Record that a chart was saved as an image (the browser makes the file)."""
    body = request.get_json(silent=True) or {}
    chart, fmt = str(body.get("chart", ""))[:80], str(body.get("format", ""))
    if fmt not in ("png", "svg") or not chart:
        return jsonify(error="give chart and format (png or svg)"), 400
    audit.record(
        "report_chart_download",
        g.survey.id,
        {
            "chart": chart,
            "format": fmt,
            "page": str(body.get("page", ""))[:40],
            "query": str(body.get("query", ""))[:500],
        },
    )
    db.session.commit()
    return jsonify(recorded=True)


@cache
def _plotly_bytes() -> tuple[bytes, bytes]:
    raw = plotly.offline.get_plotlyjs().encode("utf-8")
    return raw, gzip.compress(raw, 6)


@bp.get("/assets/plotly.min.js")
@public
def plotly_js():
    """plotly.js from the installed plotly package (never a CDN), cached by browsers."""
    raw, packed = _plotly_bytes()
    zipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(packed if zipped else raw, mimetype="text/javascript")
    if zipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["ETag"] = f'"plotly-{plotly.__version__}"'
    return response


@bp.context_processor
def report_context() -> dict:
    titles = {endpoint: title for endpoint, _path, title in pages.PAGES}
    page = request.endpoint.rsplit(".", 1)[-1] if request.endpoint else ""
    return {
        "page_title": _(titles.get(page, "Report")),
        "plotly_version": plotly.__version__,
        "option_names": OPTION_NAMES,
        **pages.template_values(_),
    }


@bp.app_template_filter("note")
def note_filter(value: object) -> object:
    """An analysis note in the page's language."""
    return notes.translate(value)


@bp.app_template_filter("exp")
def exp_filter(value: float) -> float:
    return math.exp(value)
