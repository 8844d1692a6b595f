"""The analysis engine's notes (why a figure was not computed) in the page's language.

``analysis/`` knows nothing of Flask and writes its notes in English, the language of the
CLI and of the JSON, which other tools read. The pages show them through ``translate``:
each note the engine can write is listed here once, as the English text with its
variable parts named (``%(n)s``); a note that matches is given in the page's language
with the same values, one that matches nothing (a new note not listed yet) stays as it
is. ``tests/survey_app/test_report_notes.py`` reads the engine's source and fails on a
note missing here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from flask_babel import gettext as flask_gettext


def N_(text: str) -> str:  # marks a text for the catalogue, translated when shown
    return text


NOTES = (
    # the report as a whole (survey_app/reports/services.py)
    N_("too few responses (%(n)s) for a report: at least %(min)s are needed"),
    # report.py: what the questionnaire lacks
    N_("fewer than 3 perception items"),
    N_("the questionnaire has no expectation and perception measures"),
    N_("the questionnaire has no satisfaction outcome"),
    N_("the questionnaire needs satisfaction and loyalty outcomes"),
    N_("the data has no segment columns"),
    N_("singular matrix: %(why)s"),
    # reliability.py, moments.py, pairwise.py
    N_("a scale needs at least 2 items (%(items)s)"),
    N_("too few complete responses (%(n)s) for a scale of %(k)s items"),
    N_("the items' correlation matrix is singular (an item repeats or combines others)"),
    N_("alpha if item deleted is not defined on a scale of two items (one item is left)"),
    N_("omega not computed: %(why)s"),
    N_(
        "improper one-factor solution (a Heywood case): the communality of %(items)s is at "
        "or over 1"
    ),
    N_("item %(item)s has the same answer in every response"),
    N_("items %(a)s and %(b)s are answered together by fewer than 2 respondents"),
    N_("items %(a)s and %(b)s have no variance over the rows that answer both"),
    # efa.py, cfa.py
    N_("the number of factors must be 1..%(max)s, got %(k)s"),
    N_("too few responses (%(n)s) for a factor analysis of %(p)s items"),
    N_("the correlation matrix is singular (an item repeats or combines others)"),
    N_("improper solution (a Heywood case): the communality of %(items)s is at or over 1"),
    N_("a one-factor CFA needs at least 3 items"),
    N_("too few responses (%(n)s) for a CFA of %(p)s items"),
    N_(
        "the covariance matrix is singular (an item repeats or combines others); the CFA "
        "cannot be fitted"
    ),
    # gaps.py
    N_("dimension %(dimension)s: fewer than 2 responses with both scores"),
    N_("dimension %(dimension)s: fewer than 2 complete responses"),
    N_("dimension %(dimension)s: no complete responses"),
    N_("too few responses with this score (%(n)s)"),
    # drivers.py
    N_("more than %(k)s drivers: exact Shapley values not computed"),
    N_("too few complete responses (%(n)s) for a regression on %(k)s drivers"),
    N_("driver %(item)s has the same score in every response"),
    N_("the drivers are collinear (singular matrix)"),
    N_("the outcome has the same score in every response"),
    N_("too few complete responses for bootstrap intervals"),
    # loyalty.py
    N_("too few complete responses (%(n)s) for the loyalty models"),
    N_("satisfaction or loyalty takes too few distinct values for the models"),
    N_(
        "only one answer%(answer)s among the %(n)s responses that answer the item and have a "
        "satisfaction score: an ordinal model needs two"
    ),
    N_("the ordinal logit did not converge"),
    # segments.py
    N_("too few NPS answers (%(n)s)"),
    N_("fewer than two groups with at least 2 answers"),
    N_("the score is the same within every group"),
    N_("the score is constant within a group: Welch's test is undefined"),
    N_("fewer than 2 answers in a wave"),
    # quality.py
    N_("the data has no started_at and submitted_at columns"),
    N_("no response has both a start and a submission time"),
)

_NAME = re.compile(r"%\((\w+)\)s")
NESTED = {"why"}  # parts that are notes themselves


@cache
def _patterns() -> list[tuple[re.Pattern, str]]:
    found = []
    for text in NOTES:
        pattern, last = "", 0
        for match in _NAME.finditer(text):
            pattern += re.escape(text[last : match.start()]) + f"(?P<{match.group(1)}>.*?)"
            last = match.end()
        found.append((re.compile(pattern + re.escape(text[last:]) + r"\Z", re.S), text))
    return found


def translate(note: object, gettext: Callable[..., str] = flask_gettext) -> object:
    """``note`` in the page's language (anything but a known note's text: unchanged);
    ``gettext(text, **values)`` translates and fills."""
    if not isinstance(note, str):
        return note
    for pattern, text in _patterns():
        match = pattern.match(note)
        if match:
            values = {
                name: translate(value, gettext) if name in NESTED else value
                for name, value in match.groupdict().items()
            }
            return gettext(text, **values)
    return note
