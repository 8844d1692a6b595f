"""The text summary shows everything the JSON report has."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from analysis.data import SurveyData, read_csv
from analysis.report import build_report
from analysis.simulate import simulate_responses
from analysis.summary import HEADER_KEYS, RENDER, TITLES, summarise
from questionnaires import SHIPPED_DIR, load_questionnaire

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def servqual():
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    frame = simulate_responses(q, 500, seed=4)
    frame.loc[3] = frame.loc[2]  # a duplicate, for the quality section
    return q, build_report(SurveyData(q, frame), bootstrap=20, seed=1)


def zone():
    q = load_questionnaire(SHIPPED_DIR / "zone-of-tolerance.yaml")
    return q, build_report(SurveyData(q, simulate_responses(q, 300, seed=2)))


def mobi():
    q = load_questionnaire(REFERENCE / "mobi.yaml")
    return q, build_report(SurveyData(q, read_csv(REFERENCE / "mobi.csv", q)), bootstrap=20)


def messy_available():
    """Missing answers by --missing available: FIML CFA, pairwise n, scores of answered items."""
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    data = SurveyData(q, read_csv(REFERENCE / "messy-servqual.csv", q))
    return q, build_report(data, factors=5, missing="available")


def paths(value, prefix=()):
    """Every key path into nested dictionaries (lists are leaves)."""
    if isinstance(value, dict):
        for key, v in value.items():
            yield (*prefix, key)
            yield from paths(v, (*prefix, key))


def without(report, path):
    out = copy.deepcopy(report)
    target = out
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return out


@pytest.mark.parametrize("make", [servqual, zone, mobi, messy_available])
def test_every_json_key_has_a_counterpart_in_the_summary(make):
    """Take away any key of the JSON: the summary must change (or cannot be made)."""
    q, report = make()
    text = summarise(report, q)
    for key in report:
        if key not in HEADER_KEYS:
            assert key in RENDER, f"section {key} has no layout in the summary"
            assert TITLES[key] in text
    missed = []
    for path in paths(report):
        try:
            changed = summarise(without(report, path), q) != text
        except (KeyError, TypeError):
            changed = True  # the summary reads it
        if not changed:
            missed.append(".".join(map(str, path)))
    assert not missed, f"not in the summary: {missed[:10]}"


def test_the_summary_names_zone_segments_and_loadings():
    q, report = servqual()
    text = summarise(report, q)
    assert "Segments" in text and "Kruskal-Wallis H=" in text and "Holm p=" in text
    assert "change of satisfaction 2026H1 -> 2026H2" in text
    assert "std. loadings" in text and "P_TA1" in text
    q, report = zone()
    assert "Zone of tolerance" in summarise(report, q)
