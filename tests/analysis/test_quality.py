"""Response-quality flags: speeding, straight-lining, exact duplicates."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analysis.__main__ import main
from analysis.data import SurveyData, read_csv
from analysis.quality import quality
from analysis.report import build_report
from analysis.simulate import simulate_responses
from questionnaires import SHIPPED_DIR, load_questionnaire

SERVQUAL = load_questionnaire(SHIPPED_DIR / "servqual-22.yaml")
GENETIC = load_questionnaire(SHIPPED_DIR / "genetic-lab.yaml")


def frame_with_problems(q, n=200):
    frame = simulate_responses(q, n, seed=9)
    frame.insert(0, "response_id", [f"R{i}" for i in range(n)])
    start = pd.Timestamp("2026-11-01T10:00:00Z") + pd.to_timedelta(np.arange(n), unit="min")
    minutes = np.random.default_rng(9).uniform(6, 12, n)  # median about 9 minutes
    minutes[[5, 6]] = [2.5, 2.9]  # under a third of the median
    minutes[7] = 3.5  # over a third: not flagged
    frame.insert(1, "started_at", start.astype(str))
    frame.insert(2, "submitted_at", (start + pd.to_timedelta(minutes, unit="min")).astype(str))
    return frame


def test_speeding_straight_lining_and_duplicates_are_flagged():
    frame = frame_with_problems(SERVQUAL)
    # every answer of the tangibles matrix (4 items x E and P = 8) the same
    tangibles = [f"{m}_TA{i}" for m in "EP" for i in range(1, 5)]
    frame.loc[10, tangibles] = 7.0
    frame.loc[11, tangibles] = 7.0
    frame.loc[11, "E_TA1"] = np.nan  # an unanswered item is not a line
    frame.loc[20] = frame.loc[12].copy()  # an exact copy of response R12...
    frame.loc[20, "response_id"] = "R12"
    frame.loc[21] = frame.loc[12].copy()
    frame.loc[21, ["response_id", "SUGGESTION"]] = ["R21", "different"]  # ...and a near one
    result = quality(SurveyData(SERVQUAL, frame)).to_dict()
    assert result["speeding"]["ids"] == ["R5", "R6"]
    assert result["median_seconds"] == pytest_approx_minutes(frame)
    lines = result["straight_lining"]["ids"]
    assert "R10" in lines and "R11" not in lines
    for row in lines:  # the simulation's own straight-liners, checked by hand
        answers = frame.loc[frame["response_id"] == row].iloc[0]
        assert any(
            answers[[f"{m}_{i.id}" for m in "EP" for i in d.items]].nunique(dropna=False) == 1
            for d in SERVQUAL.dimensions
        )
    assert result["duplicates"]["ids"] == ["R12"]  # the later copy (row 21 of the data)
    assert result["n_flagged"] == 3 + len(lines) and result["n_checked"] == 200


def pytest_approx_minutes(frame):
    import pytest

    start = pd.to_datetime(frame["started_at"], utc=True)
    end = pd.to_datetime(frame["submitted_at"], utc=True)
    return pytest.approx(float(np.median((end - start).dt.total_seconds())), rel=1e-12)


def test_straight_lining_counts_reverse_keyed_items_as_answered():
    """genetic-lab reverses P_RE4: a straight-liner answers 7 there too (the raw answer)."""
    frame = frame_with_problems(GENETIC)
    matrix = [c.name for c in GENETIC.columns if c.section.id == "reliability"]
    assert len(matrix) >= 6 and "P_RE4" in matrix
    frame.loc[3, matrix] = 7.0
    result = quality(SurveyData(GENETIC, frame)).to_dict()
    assert "R3" in result["straight_lining"]["ids"]


def test_a_matrix_under_six_items_is_not_checked_for_straight_lining():
    """The satisfaction outcome has 3 items: the same answer on all of them is no line."""
    frame = frame_with_problems(SERVQUAL)
    before = set(quality(SurveyData(SERVQUAL, frame)).to_dict()["straight_lining"]["ids"])
    row = next(i for i in range(len(frame)) if f"R{i}" not in before)
    frame.loc[row, ["SAT1", "SAT2", "SAT3"]] = 7.0
    tangibles = [f"{m}_TA{i}" for m in "EP" for i in range(1, 5)]  # 8 items: checked
    other = next(i for i in range(row + 2, len(frame)) if f"R{i}" not in before)
    frame.loc[other, tangibles] = 7.0
    lines = quality(SurveyData(SERVQUAL, frame)).to_dict()["straight_lining"]["ids"]
    assert f"R{row}" not in lines and f"R{other}" in lines


def test_without_timestamps_speeding_says_why_and_ids_are_row_numbers():
    frame = simulate_responses(SERVQUAL, 50, seed=1)
    frame.loc[9] = frame.loc[4]
    result = quality(SurveyData(SERVQUAL, frame)).to_dict()
    assert "no started_at and submitted_at" in result["speeding"]["note"]
    assert result["duplicates"]["ids"] == [10]  # the 10th response, counted from 1


def test_exclude_flagged_leaves_them_out_of_every_analysis(tmp_path, capsys):
    frame = frame_with_problems(SERVQUAL)
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "out.json"
    q = str(SHIPPED_DIR / "servqual-22.yaml")
    assert main(["report", str(csv), "-q", q, "--json", str(out)]) == 0
    kept = json.loads(out.read_text())
    assert kept["quality"]["speeding"]["ids"] == ["R5", "R6"] and not kept["quality"]["excluded"]
    assert kept["n_responses"] == 200 and kept["reliability"]["P_tangibles"]["n"] == 200
    assert main(["report", str(csv), "-q", q, "--exclude-flagged", "--json", str(out)]) == 0
    excluded = json.loads(out.read_text())
    left = 200 - kept["quality"]["n_flagged"]
    assert left < 199
    assert excluded["quality"]["excluded"] and excluded["n_responses"] == left
    assert excluded["reliability"]["P_tangibles"]["n"] == left
    assert excluded["regression"]["n"] == left
    printed = capsys.readouterr().out
    assert "Response quality" in printed and "left out of every analysis" in printed
    direct = build_report(SurveyData(SERVQUAL, read_csv(csv, SERVQUAL)), exclude_flagged=True)
    assert direct["cfa"]["n"] == left


def test_the_report_pass_finds_what_the_standalone_checks_find():
    """The report runs the checks inside its one pass over the rows (reverse-keyed,
    shifted items); the result must be the same as the checks on the raw answers."""
    frame = frame_with_problems(GENETIC)
    matrix = [c.name for c in GENETIC.columns if c.section.id == "reliability"]
    frame.loc[3, matrix] = 7.0
    frame.loc[4, matrix] = 1.0
    frame.loc[8, matrix[0]] = np.nan
    frame.loc[30] = frame.loc[8].copy()  # a duplicate with a missing answer
    frame.loc[31] = frame.loc[9].copy()
    frame.loc[[30, 31], "response_id"] = ["C30", "C31"]
    standalone = quality(SurveyData(GENETIC, frame)).to_dict()
    report = build_report(SurveyData(GENETIC, frame))["quality"]
    assert report == standalone
    assert {"R3", "R4"} <= set(report["straight_lining"]["ids"])
    assert report["duplicates"]["ids"] == ["C30", "C31"]
