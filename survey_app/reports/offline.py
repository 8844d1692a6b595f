"""The whole report as one self-contained HTML file (plotly.js embedded once), for mail
and cron, and a PDF of it printed by headless Chromium where one is installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import plotly
from flask import render_template
from flask_babel import gettext as _

from config import ROOT

from ..models import Survey
from . import pages

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def build(survey: Survey, report: dict[str, Any], lang: str) -> str:
    """The offline file of ``report`` (keywords and open answers are not included: the
    file leaves the service, and the answers are personal data)."""
    q = survey.questionnaire
    labels = pages.Labels.of(q, lang)
    sections = [(name, title) for name, _path, title in pages.PAGES if name in pages.BUILDERS]
    if "note" in report:  # too few responses to analyse: the customer figures need none
        sections = [(name, title) for name, title in sections if name in pages.WITHOUT_ANALYSIS]
    contents = {name: pages.BUILDERS[name](report, q, labels, _) for name, _t in sections}
    selection = report.get("selection", {})
    parts = [f"{k}={'|'.join(v)}" for k, v in selection.get("segments", {}).items()]
    parts += [f"{k}={selection[k]}" for k in ("from", "to", "version") if selection.get(k)]
    return render_template(
        "reports/offline.html",
        survey=survey,
        q=q,
        lang=lang,
        report=report,
        labels=labels,
        sections=sections,
        contents=contents,
        layout="reports/_bare.html",
        completion=None,
        filters_text=", ".join(parts) or _("none (all responses)"),
        css=(ROOT / "static" / "style.css").read_text(encoding="utf-8"),
        plotly_js=plotly.offline.get_plotlyjs(),
        reports_js=(ROOT / "static" / "reports.js").read_text(encoding="utf-8"),
        offline=True,
        **pages.template_values(_),
    )


def chromium() -> str | None:
    """The path of a Chromium to print with, if one is installed."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class PdfError(RuntimeError):
    """The PDF could not be printed; the message says why."""


def print_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> None:
    """Print an offline report to PDF with headless Chromium (no network: the file
    holds everything); the charts are drawn before printing."""
    browser = chromium()
    if browser is None:
        raise PdfError("no Chromium is installed (apt-get install chromium) to print the PDF")
    with tempfile.TemporaryDirectory(prefix="report-pdf-") as profile:
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=30000",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"Chromium did not finish printing within {timeout:.0f} s") from exc
    if done.returncode != 0 or not pdf_path.exists() or pdf_path.stat().st_size == 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise PdfError(f"Chromium could not print the PDF: {message[0]}")
