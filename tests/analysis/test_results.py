"""Every analysis returns a frozen result object whose ``to_dict()`` is what the report
carries (issue 12: results as objects shared by the report, the CLI and the web pages)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from analysis import report as report_module
from analysis.data import SurveyData, read_csv
from analysis.report import build_report
from analysis.simulate import simulate_responses
from questionnaires import SHIPPED_DIR, load_questionnaire, parse_questionnaire

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def built_results(monkeypatch, data, **options):
    """Run the report, keeping every value the sections' builders returned."""
    seen = []
    original = report_module._section

    def recording(build):
        def keep():
            result = build()
            seen.append(result)
            return result

        return original(keep)

    monkeypatch.setattr(report_module, "_section", recording)
    return build_report(data, **options), seen


def test_every_analysis_returns_a_frozen_result_with_to_dict(monkeypatch):
    q = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
    report, seen = built_results(monkeypatch, SurveyData(q, simulate_responses(q, 300, seed=2)))
    mobi_q = parse_questionnaire((REFERENCE / "mobi.yaml").read_text())
    _, more = built_results(
        monkeypatch, SurveyData(mobi_q, read_csv(REFERENCE / "mobi.csv", mobi_q))
    )
    objects = [r for r in seen + more if not isinstance(r, dict)]
    names = {type(r).__name__ for r in objects}
    assert {
        "Reliability",
        "EFAResult",
        "CFAResult",
        "Gap",
        "Regression",
        "OrdinalLogit",
        "NPS",
        "SegmentComparison",
        "ScoreSummary",
        "PLSResult",
    } <= names
    for result in objects:
        assert dataclasses.is_dataclass(result), type(result)
        assert type(result).__dataclass_params__.frozen, type(result)
        field = dataclasses.fields(result)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, field, None)
    # the report carries exactly the objects' dictionaries
    assert report["cfa"]["chi2"] == next(r for r in seen if type(r).__name__ == "CFAResult").chi2
    regression = next(r for r in seen if type(r).__name__ == "Regression")
    assert report["regression"]["r2"] == regression.to_dict()["r2"]
