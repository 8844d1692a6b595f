"""The SPSS and Stata files open in the programs researchers use: GNU PSPP and R's
haven read them with their labels and missing values (Debian ``pspp`` and
``r-cran-haven``; skipped where they are not installed, except under CI)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest

from .exports_data import add_servqual_responses
from .test_exports import export


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs {program} (scripts/test.sh installs it)")
        pytest.skip(f"{program} is not installed")
    return path


@pytest.fixture
def servqual(app, make_survey):
    survey, q = make_survey("servqual-22")
    return survey, add_servqual_responses(survey)


def pspp_tables(sav, tmp_path, variables: str) -> str:
    syntax = tmp_path / "look.sps"
    syntax.write_text(f"GET FILE='{sav}'.\nDISPLAY DICTIONARY /VARIABLES={variables}.\n")
    out = tmp_path / "look.csv"
    done = subprocess.run(
        [need("pspp"), "-O", "format=csv", "-o", str(out), str(syntax)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_text(encoding="utf-8")


def pspp_cases(sav, tmp_path, *options) -> list[dict]:
    out = tmp_path / "cases.csv"
    done = subprocess.run(
        [need("pspp-convert"), *options, str(sav), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))


def test_pspp_reads_labels_and_declared_missing_values(app, servqual, tmp_path):
    survey, _responses = servqual
    sav = export(app, tmp_path, survey.id, "sav", "--missing-code", "-9")
    tables = pspp_tables(sav, tmp_path, "E_TA1 P_TA1 tier complete")
    rows = {line.split(",")[0]: line.split(",") for line in tables.splitlines()}
    assert rows["P_TA1"][2] == "Our company: Its equipment is up to date."
    assert rows["P_TA1"][3] == "Ordinal" and rows["P_TA1"][-1] == "-9"  # declared missing
    assert rows["tier"][3] == "Nominal" and rows["tier"][-1] == "-9"
    assert ",1,Strongly disagree" in tables and ",7,Strongly agree" in tables
    assert ",2,B (regular)" in tables and ",1,Yes" in tables
    assert "-9[a],No answer" in tables  # labelled, and marked user-missing
    kept = pspp_cases(sav, tmp_path)
    recoded = pspp_cases(sav, tmp_path, "--recode")  # user-missing to system-missing
    assert kept[2]["P_TA1"] == "-9" and kept[2]["NPS"] == "-9"
    assert recoded[2]["P_TA1"].strip() == "" and recoded[2]["NPS"].strip() == ""
    assert kept[0]["P_TA1"] == recoded[0]["P_TA1"] == "6"
    labelled = pspp_cases(sav, tmp_path, "--labels")
    assert labelled[1]["tier"] == "B (regular)" and labelled[0]["E_TA1"] == "Strongly agree"


def test_pspp_reads_system_missing_and_chinese_labels(app, servqual, tmp_path):
    survey, _responses = servqual
    sav = export(app, tmp_path, survey.id, "sav", "--lang", "zh")
    tables = pspp_tables(sav, tmp_path, "E_TA1 tier")
    assert "优秀的公司: 设备先进、与时俱进。" in tables and ",1,A（重点客户）" in tables
    cases = pspp_cases(sav, tmp_path)
    assert cases[2]["P_TA1"].strip() == "" and cases[2]["P_TA2"] == "4"
    assert cases[3]["SUGGESTION"] == "更快一点"


R_SCRIPT = r"""
suppressMessages({library(haven); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
sav <- read_sav(args[1], user_na = TRUE)
plain <- read_sav(args[2])
dta <- read_dta(args[3])
labs <- function(x) { l <- attr(x, "labels"); setNames(as.list(unname(l)), names(l)) }
out <- list(
  sav_label = attr(sav$P_TA1, "label"),
  sav_labels = labs(sav$E_TA1),
  sav_tier = labs(sav$tier),
  sav_na_values = attr(sav$P_TA1, "na_values"),
  sav_third = as.numeric(unclass(sav$P_TA1)[3]),
  sav_third_is_na = is.na(sav$P_TA1[3]),
  plain_third_is_na = is.na(plain$P_TA1[3]),
  plain_first = as.numeric(plain$P_TA1[1]),
  plain_text = plain$SUGGESTION[4],
  plain_zh_label = attr(plain$E_TA1, "label"),
  dta_label = attr(dta$P_TA1, "label"),
  dta_tier = labs(dta$tier),
  dta_third_tagged = is_tagged_na(dta$P_TA1[3], "a"),
  dta_first = as.numeric(dta$P_TA1[1]),
  dta_na_label = names(attr(dta$P_TA1, "labels"))[is_tagged_na(attr(dta$P_TA1, "labels"), "a")],
  started = format(plain$started_at[1], "%Y-%m-%d %H:%M:%S", tz = "UTC")
)
cat(toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def test_r_haven_reads_labels_and_missing_values(app, servqual, tmp_path):
    rscript = need("Rscript")
    survey, _responses = servqual
    sav = export(app, tmp_path, survey.id, "sav", "--missing-code", "-9", name="user.sav")
    plain = export(app, tmp_path, survey.id, "sav", "--lang", "zh", name="plain.sav")
    dta = export(app, tmp_path, survey.id, "dta", "--missing-code", "-9", name="user.dta")
    script = tmp_path / "read.R"
    script.write_text(R_SCRIPT)
    done = subprocess.run(
        [rscript, str(script), str(sav), str(plain), str(dta)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 and "there is no package called" in done.stderr:
        if os.environ.get("CI"):
            pytest.fail(done.stderr)
        pytest.skip("R's haven or jsonlite is not installed")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["sav_label"] == "Our company: Its equipment is up to date."
    assert got["sav_labels"] == {
        "Strongly disagree": 1,
        "Neutral": 4,
        "Strongly agree": 7,
        "No answer": -9,
    }
    assert got["sav_tier"]["B (regular)"] == 2
    assert got["sav_na_values"] == -9
    assert got["sav_third"] == -9 and got["sav_third_is_na"] is True  # user-missing, kept
    assert got["plain_third_is_na"] is True and got["plain_first"] == 6
    assert (
        got["plain_text"] == "更快一点"
        and got["plain_zh_label"] == "优秀的公司: 设备先进、与时俱进。"
    )
    assert got["dta_label"] == "Our company: Its equipment is up to date."
    assert got["dta_tier"] == {
        "A (key account)": 1,
        "B (regular)": 2,
        "C (occasional)": 3,
        "No answer": "NA",  # the label of the tagged missing value .a
    }
    assert got["dta_third_tagged"] is True and got["dta_first"] == 6
    assert got["dta_na_label"] == "No answer"
    assert got["started"] == "2026-01-01 09:30:00"
