"""The report pages, data.json and the offline file, through the app (SQLite and
PostgreSQL). Numbers are checked against ``python -m analysis report``'s JSON of the same
responses (the CLI on a CSV export), never against the code under test."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from survey_app.demo import add_demo_responses
from survey_app.extensions import db
from survey_app.models import AuditEntry
from survey_app.storage import responses_frame

from ..conftest import login_as

ROOT = Path(__file__).resolve().parents[2]
PAGES = (
    "",
    "/service-quality",
    "/priorities",
    "/satisfaction",
    "/segments",
    "/customers",
    "/methods",
    "/open-text",
)


@pytest.fixture
def reports_app(app, tmp_path):
    app.config["REPORTS_CACHE"] = str(tmp_path / "reports-cache")
    app.extensions.pop("reports", None)
    return app


@pytest.fixture
def seeded(reports_app, make_survey, make_user):
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 400, seed=5)
    manager = make_user("manager", ("default",))
    return survey, q, manager


def ready(client, url: str):
    """GET ``url`` until the report is computed (a page says so while it is not)."""
    import time

    for _ in range(300):
        response = client.get(url)
        html = response.get_data(as_text=True)
        if response.status_code != 200 or 'id="report-n"' in html:
            return response
        time.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


def ready_json(client, url: str):
    import time

    for _ in range(600):
        response = client.get(url)
        if response.status_code != 202:
            return response
        time.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


def cli_report(q_path: Path, frame, tmp_path: Path, *args: str) -> dict:
    """The analysis command line's JSON on a CSV of the same responses."""
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "cli.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            str(csv),
            "-q",
            str(q_path),
            "--json",
            str(out),
            *args,
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return json.loads(out.read_text())


def test_every_page_opens_for_a_manager(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    for path in PAGES:
        response = ready(client, f"/reports/{survey.id}{path}")
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert "data-figure=" in html, path
        assert html.count("plotly.min.js") == 1, path
        for _e, sub in [("o", p) for p in PAGES]:
            assert f'href="/reports/{survey.id}{sub}"' in html
        # every chart has its data as a table (its text alternative), named by its title
        assert html.count('class="chart-table"') == html.count("data-figure="), path
        assert 'aria-label="Chart: ' in html and 'aria-label="Chart: gaps"' not in html
        # one h1, and no heading level skipped
        levels = [int(h) for h in re.findall(r"<h([1-6])\b", html.split("<main", 1)[1])]
        assert levels[0] == 1 and levels.count(1) == 1, path
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), (path, levels)


def close(a, b, path="report"):
    """Recursive comparison of two JSON values (floats to 1e-9 relative)."""
    if isinstance(a, dict):
        assert set(a) == set(b), f"{path}: keys differ: {set(a) ^ set(b)}"
        for k in a:
            close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-12), path
    elif ".ids[" in path:  # the CLI reads a CSV's ids as text
        assert str(a) == str(b), path
    else:
        assert a == b, path


EXTRA = ("n", "selection", "options", "overview", "computed_at", "tier_pyramid", "follow_ups")


def test_data_json_is_the_cli_report_of_the_selected_responses(client, seeded, tmp_path):
    survey, q, manager = seeded
    login_as(client, manager)
    response = ready_json(
        client, f"/reports/{survey.id}/data.json?tier=A&tier=B&region=north&bootstrap=30&seed=4"
    )
    assert response.status_code == 200
    data = response.get_json()
    frame = responses_frame(survey.id, metadata=True)
    chosen = frame[frame["tier"].isin(["A", "B"]) & (frame["region"] == "north")]
    assert data["n"] == len(chosen) > 0
    expected = cli_report(
        ROOT / "questionnaires" / "servqual-22.yaml",
        chosen,
        tmp_path,
        "--bootstrap",
        "30",
        "--seed",
        "4",
    )
    close(expected, {k: v for k, v in data.items() if k not in EXTRA})
    # the intervals the priorities page draws, on both axes, are in it
    ipa = data["importance_performance"]["reliability"]
    assert len(ipa["importance_ci"]) == 2 and len(ipa["performance_ci"]) == 2
    assert data["selection"]["segments"] == {"region": ["north"], "tier": ["A", "B"]}


def test_data_json_with_dates_version_and_analysis_options_is_the_cli_report(
    client, seeded, tmp_path
):
    import pandas as pd

    survey, q, manager = seeded
    login_as(client, manager)
    frame = responses_frame(survey.id, metadata=True)
    days = pd.to_datetime(frame["submitted_at"], utc=True).dt.date
    ordered = sorted(days)
    start, end = ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4]
    chosen = frame[((days >= start) & (days <= end)).to_numpy()]
    options = {"factors": "3", "extraction": "ml", "rotation": "varimax", "missing": "available"}
    query = "&".join(f"{k}={v}" for k, v in options.items())
    response = ready_json(
        client,
        f"/reports/{survey.id}/data.json?from={start}&to={end}&version=1&{query}&bootstrap=0",
    )
    assert response.status_code == 200
    data = response.get_json()
    assert data["n"] == len(chosen) and 0 < len(chosen) < len(frame)
    flags = [part for k, v in options.items() for part in (f"--{k}", v)]
    expected = cli_report(ROOT / "questionnaires" / "servqual-22.yaml", chosen, tmp_path, *flags)
    close(expected, {k: v for k, v in data.items() if k not in EXTRA})
    assert data["efa"]["n_factors"] == 3 and data["efa"]["rotation"] == "varimax"
    assert data["selection"]["from"] == str(start) and data["selection"]["version"] == 1


def test_report_parameters_cannot_be_segment_ids():
    from questionnaires.loader import RESERVED_IDS
    from survey_app.reports.services import OPTION_NAMES, PAGE_PARAMETERS

    assert {*OPTION_NAMES, *PAGE_PARAMETERS, "from", "to", "version", "lang"} <= RESERVED_IDS


def test_data_json_answers_202_with_retry_after_while_computing(client, seeded, monkeypatch):
    from survey_app.reports import routes

    survey, q, manager = seeded
    login_as(client, manager)
    monkeypatch.setattr(routes, "PAGE_WAIT", 0)
    first = client.get(f"/reports/{survey.id}/data.json?bootstrap=300&seed=9")
    assert first.status_code == 202
    assert int(first.headers["Retry-After"]) >= 1
    assert first.get_json()["status"] == "computing"
    import time

    for _ in range(200):
        again = client.get(f"/reports/{survey.id}/data.json?bootstrap=300&seed=9")
        if again.status_code == 200:
            break
        time.sleep(0.1)
    assert again.status_code == 200
    assert again.get_json()["importance_performance"]["bootstrap"]["resamples"] == 300


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("tier=Z", "not one of the choices"),
        ("colour=red", "unknown parameter"),
        ("bootstrap=-1", "bootstrap"),
        ("rotation=spin", "rotation"),
        ("from=yesterday", "not a date"),
        ("version=7", "version=7: survey servqual-22 has the versions 1"),  # was a 500
    ],
)
def test_bad_parameters_get_a_400_naming_them(client, seeded, query, message):
    survey, q, manager = seeded
    login_as(client, manager)
    response = client.get(f"/reports/{survey.id}/data.json?{query}")
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert client.get(f"/reports/{survey.id}?{query}").status_code == 400


def test_a_filter_changes_the_n_of_every_page(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    frame = responses_frame(survey.id)
    expected = int((frame["region"] == "east").sum())
    for path in PAGES[:-1]:
        html = ready(client, f"/reports/{survey.id}{path}?region=east").get_data(as_text=True)
        match = re.search(r'id="report-n" data-n="(\d+)"', html)
        assert match and int(match.group(1)) == expected, path
        assert 'value="east" checked' in html


def test_a_date_range_changes_the_n_of_every_page(client, seeded):
    """``from``/``to`` (completion dates in UTC, both days included) on every page."""
    survey, q, manager = seeded
    login_as(client, manager)
    days = responses_frame(survey.id, metadata=True)["submitted_at"].dt.tz_convert("UTC").dt.date
    ordered = sorted(set(days))
    since, until = ordered[len(ordered) // 3], ordered[2 * len(ordered) // 3]
    expected = int(((days >= since) & (days <= until)).sum())
    assert 0 < expected < len(days)
    for path in PAGES[:-1]:
        url = f"/reports/{survey.id}{path}?from={since}&to={until}"
        html = ready(client, url).get_data(as_text=True)
        match = re.search(r'id="report-n" data-n="(\d+)"', html)
        assert match and int(match.group(1)) == expected, path
        assert f'name="from" value="{since}"' in html and f'name="to" value="{until}"' in html


def test_new_responses_reach_the_report(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    before = ready_json(client, f"/reports/{survey.id}/data.json?bootstrap=0").get_json()["n"]
    add_demo_responses(survey, 25, seed=99)
    after = ready_json(client, f"/reports/{survey.id}/data.json?bootstrap=0").get_json()["n"]
    assert after == before + 25


def test_the_overview_counts_unfinished_responses_in_the_completion_rate(
    reports_app, make_survey, make_user
):
    from ..conftest import SurveyTaker, page_answers

    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 12, seed=3)
    for _ in range(4):  # four people answer the first page and stop
        taker = SurveyTaker(reports_app.test_client(), survey.id)
        taker.open()
        assert taker.submit(page_answers(q, 1)).status_code == 302
    client = reports_app.test_client()
    login_as(client, make_user("manager", ("default",)))
    html = ready(client, f"/reports/{survey.id}").get_data(as_text=True)
    facts = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", html))
    assert facts["Complete responses (all)"] == "12"
    assert facts["Started, not finished"] == "4"
    assert facts["Completion rate (all)"] == "75%"  # 12 of 16


def test_the_ordinal_models_of_the_loyalty_items_are_on_the_page(client, seeded, tmp_path):
    survey, q, manager = seeded
    login_as(client, manager)
    data = ready_json(client, f"/reports/{survey.id}/data.json").get_json()
    html = ready(client, f"/reports/{survey.id}/satisfaction").get_data(as_text=True)
    table = html.split("Ordinal models of each loyalty item", 1)[1].split("</table>", 1)[0]
    for item, model in data["loyalty"]["ordinal"].items():
        row = re.search(rf"<td>{item}: .*?</td>(.*?)</tr>", table).group(1)
        cells = re.findall(r'<td class="num">(.*?)</td>', row)
        assert cells == [str(model["n"]), f"{model['coef']:.3f}", f"{math.exp(model['coef']):.2f}"]


def test_too_few_responses_say_so(client, reports_app, make_survey, make_user):
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, 4, seed=1)
    login_as(client, make_user("manager", ("default",)))
    for path in PAGES[:-1]:
        html = ready(client, f"/reports/{survey.id}{path}").get_data(as_text=True)
        assert "Too few responses" in html and "data-figure" not in html, path


def hostile_texts(survey):
    from survey_app.models import Response

    rows = db.session.scalars(
        db.select(Response).where(Response.survey_id == survey.id).limit(6)
    ).all()
    for row in rows:
        row.texts = {
            "COMPLAINT": '<script>alert(1)</script><img src=x onerror="alert(2)"> 太慢 slow service'
        }
    db.session.commit()


def test_open_text_keywords_for_everyone_answers_only_with_the_personal_grant(
    client, seeded, make_user
):
    survey, q, manager = seeded
    hostile_texts(survey)
    login_as(client, manager)
    html = ready(client, f"/reports/{survey.id}/open-text").get_data(as_text=True)
    assert "keywords-COMPLAINT-all" in html
    # per low and high scorers and per segment group, for a role without the personal grant
    assert "keywords-COMPLAINT-low" in html and "keywords-COMPLAINT-high" in html
    assert re.search(r'data-chart="keywords-COMPLAINT-(tier|region)-', html)
    assert '<table class="data texts"' not in html
    assert "onerror" not in unescape(html.split("<main", 1)[1]).split("data-figure", 1)[0]
    assert "<script>alert" not in html and "alert(1)" not in html
    personal = make_user("researcher", ("default",), personal=True)
    login_as(client, personal)
    html = ready(client, f"/reports/{survey.id}/open-text?search=slow").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html
    assert re.search(r"<p>6 answers</p>", html)


def pval(p: float) -> str:
    return "&lt; .001" if p < 0.001 else f"{p:.3f}"


def test_the_pages_tables_show_the_numbers_of_the_report(client, seeded, make_user):
    """The satisfaction model, the segments' pairwise comparisons (effect size, Holm p),
    the methods' reliability table and factor-analysis line, and an open answer's
    segments and scores, as the pages show them, are the report's (data.json, itself
    checked against the command line's) and the stored answers'."""
    from questionnaires import translate

    survey, q, manager = seeded
    login_as(client, manager)
    data = ready_json(client, f"/reports/{survey.id}/data.json?bootstrap=0").get_json()

    html = ready(client, f"/reports/{survey.id}/satisfaction").get_data(as_text=True)
    reg = data["regression"]
    assert reg["coef"] and f"R² = {reg['r2']:.3f}" in html
    for d in reg["std_beta"]:  # (the dimensions: the intercept is not a row)
        row = f'<td class="num">{reg["coef"][d]:.3f}</td>'
        assert row in html and f'<td class="num">{reg["se_hc3"][d]:.3f}</td>' in html, d
        assert f'<td class="num">{reg["vif"][d]:.2f}</td>' in html, d

    html = ready(client, f"/reports/{survey.id}/segments").get_data(as_text=True)
    compared = 0
    for tests in data["segments"].values():
        for score, comparison in tests.items():
            for r in comparison.get("pairwise", []) if score != "change" else []:
                cells = (
                    f'<td class="num">{r["hedges"]:.2f}</td><td class="num">{pval(r["p"])}</td>'
                    f'<td class="num">{pval(r["p_holm"])}'
                )
                assert cells in html, (score, r)
                compared += 1
    assert compared >= 6

    html = ready(client, f"/reports/{survey.id}/methods").get_data(as_text=True)
    for scale, r in data["reliability"].items():
        if "alpha" not in r:
            continue
        low, high = r["alpha_ci"]
        assert f'<td class="num">{r["alpha"]:.2f}' in html, scale
        assert f"<td>[{low:.2f}, {high:.2f}]</td>" in html, scale
        if r.get("omega_total") is not None:
            assert f'<td class="num">{r["omega_total"]:.2f}' in html, scale
    efa = data["efa"]
    assert f"KMO = {efa['kmo']:.2f}" in html
    assert f"χ² = {efa['bartlett']['chi2']:.1f}, df = {efa['bartlett']['df']:.0f}" in html

    # an open answer with the respondent's segments and scores (personal grant)
    from survey_app.models import Response

    row = db.session.scalars(
        db.select(Response).where(Response.survey_id == survey.id, Response.status == "complete")
    ).first()
    row.texts = {"COMPLAINT": "the queue-ticket printer is broken"}
    db.session.commit()
    answers = responses_frame(survey.id).set_index("response_id").loc[row.id]
    login_as(client, make_user("researcher", ("default",), personal=True))
    html = ready(client, f"/reports/{survey.id}/open-text?search=queue-ticket").get_data(
        as_text=True
    )
    assert "<p>1 answers</p>" in html or "<p>1 answer</p>" in html
    cells = html.split('<table class="data texts"', 1)[1].split("</table>", 1)[0]
    tier = next(i for i in q.items if i.id == "tier")
    tier_title = translate(tier.text, "en")
    choice = next(c for c in tier.choices if c.id == answers["tier"])
    assert f"{tier_title}: {translate(choice.title, 'en')}" in unescape(cells)
    assert f" {answers['NPS']:.2f}<br>" in cells
    satisfaction = answers[["SAT1", "SAT2", "SAT3"]].astype(float).mean()
    assert f" {satisfaction:.2f}<br>" in cells
    assert "the queue-ticket printer is broken" in cells


def test_the_survey_page_links_to_the_report(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    html = client.get(f"/staff/surveys/{survey.id}").get_data(as_text=True)
    assert f'href="/reports/{survey.id}"' in html


def test_plotly_js_comes_from_the_installed_package_with_caching(client, seeded):
    import plotly

    response = client.get("/reports/assets/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    import gzip

    assert gzip.decompress(response.data).decode() == plotly.offline.get_plotlyjs()


def test_chart_downloads_and_the_offline_file_are_audited(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    client.application.config["WTF_CSRF_ENABLED"] = False
    ok = client.post(f"/reports/{survey.id}/downloads", json={"chart": "gaps", "format": "svg"})
    assert ok.status_code == 200
    assert (
        client.post(
            f"/reports/{survey.id}/downloads", json={"chart": "gaps", "format": "exe"}
        ).status_code
        == 400
    )
    file = ready_json(client, f"/reports/{survey.id}/report.html?tier=A")
    assert file.status_code == 200 and "attachment" in file.headers["Content-Disposition"]
    actions = [(e.action, json.loads(e.details)) for e in db.session.scalars(db.select(AuditEntry))]
    assert (
        "report_chart_download",
        {"chart": "gaps", "format": "svg", "page": "", "query": ""},
    ) in actions
    html_downloads = [d for a, d in actions if a == "report_download"]
    assert html_downloads and html_downloads[0]["segments"] == {"tier": ["A"]}


def test_flask_report_writes_one_offline_file(reports_app, seeded, tmp_path):
    survey, q, manager = seeded
    out = tmp_path / "report.html"
    result = reports_app.test_cli_runner().invoke(
        args=[
            "report",
            survey.id,
            "--out",
            str(out),
            "--lang",
            "zh",
            "--where",
            "tier=A",
            "--bootstrap",
            "20",
        ]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    import plotly

    assert html.count(plotly.offline.get_plotlyjs()[:200]) == 1
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.S)  # plotly.js names its site
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", markup)
    assert html.count("<script") == 2  # plotly.js once, the page script once
    assert "服务质量" in html and "data-figure" in html
    entry = db.session.scalars(
        db.select(AuditEntry).where(AuditEntry.action == "report_download")
    ).one()
    assert json.loads(entry.details)["segments"] == {"tier": ["A"]}
    bad = reports_app.test_cli_runner().invoke(
        args=["report", survey.id, "--out", str(out), "--where", "tier=Q"]
    )
    assert bad.exit_code == 1 and "not one of the choices" in bad.output


def test_flask_report_prints_a_pdf_without_network(reports_app, seeded, tmp_path):
    from survey_app.reports.offline import chromium

    if chromium() is None:
        pytest.skip("no Chromium to print with")
    survey, q, manager = seeded
    out, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    result = reports_app.test_cli_runner().invoke(
        args=["report", survey.id, "--out", str(out), "--pdf", str(pdf), "--bootstrap", "0"]
    )
    assert result.exit_code == 0, result.output
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") + data.count(b"/Type/Page") >= 3


def test_single_segment_filters_are_computed_ahead(client, seeded):
    import time

    survey, q, manager = seeded
    login_as(client, manager)
    ready_json(client, f"/reports/{survey.id}/data.json?bootstrap=0")
    choices = sum(len(i.choices) for s in q.segments for i in s.items)
    folder = Path(client.application.config["REPORTS_CACHE"]) / survey.id / "results"
    for _ in range(600):
        if len(list(folder.glob("*.json"))) >= 1 + choices:
            break
        time.sleep(0.1)
    assert len(list(folder.glob("*.json"))) >= 1 + choices
    # a request for one of them is answered from the file, as the analysis would answer
    response = client.get(f"/reports/{survey.id}/data.json?bootstrap=0&region=west")
    assert response.status_code == 200
    frame = responses_frame(survey.id)
    assert response.get_json()["n"] == int((frame["region"] == "west").sum())


# Names of methods, statistics and file formats that stay as they are in Chinese texts
LATIN = {
    "Bartlett",
    "Bentler",
    "Cronbach's",
    "Feldt",
    "HTML",
    "JSON",
    "json",
    "Hedges'",
    "Heywood",  # a Heywood case
    "Holm",
    "Kruskal-Wallis",
    "McDonald's",
    "RMSEA",
    "SRMR",
    "Welch",
    "alpha",
    "omega",
    "beta",
    "drop",
    "data",
    "minres",  # psych's names of the extraction and rotation, and an option's name
    "oblimin",
    "bootstrap",
    "python",
    "analysis",
    "report",
    "Wilson",
}


def english_words(client, survey) -> dict[str, list[str]]:
    """The English words left on each report page in Chinese: {word: [pages]}."""
    left: dict[str, list[str]] = {}
    for path in PAGES:
        html = ready(client, f"/reports/{survey.id}{path}?lang=zh").get_data(as_text=True)
        assert '<html lang="zh-CN">' in html, path
        main = html.split("<main", 1)[1].split(">", 1)[1]
        for data in (  # data, not interface text: answers' keywords, codes, column ids
            r"<script.*?</script>",
            r'<details class="chart-table">.*?</details>',
            r"<code>.*?</code>",
            r"<small>\([A-Za-z_0-9]+\)</small>",
        ):
            main = re.sub(data, " ", main, flags=re.S)
        text = unescape(re.sub(r"<[^>]+>", " ", main))
        for word in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text):
            if word not in LATIN:
                left.setdefault(word, []).append(path)
    return left


def test_every_page_in_chinese_has_no_english_interface_text(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    assert english_words(client, survey) == {}


@pytest.mark.parametrize("responses", [4, 15])
def test_the_engines_notes_are_in_chinese_on_chinese_pages(
    client, reports_app, make_survey, make_user, responses
):
    """4 responses: too few for a report; 15: a report whose factor analyses, CFA and
    other figures are replaced by the engine's notes of why (English in its JSON)."""
    survey, q = make_survey("servqual-22")
    add_demo_responses(survey, responses, seed=3)
    login_as(client, make_user("manager", ("default",)))
    assert english_words(client, survey) == {}
    overview = ready(client, f"/reports/{survey.id}?lang=zh").get_data(as_text=True)
    methods = ready(client, f"/reports/{survey.id}/methods?lang=zh").get_data(as_text=True)
    if responses == 4:
        assert "答卷太少（4 份），无法生成报告：至少需要 10 份" in overview
    else:
        data = ready_json(client, f"/reports/{survey.id}/data.json").get_json()
        assert data["efa"]["note"] == "too few responses (15) for a factor analysis of 22 items"
        assert "答卷太少（15 份），不足以对 22 道题做因子分析" in methods
        english = ready(client, f"/reports/{survey.id}/methods?lang=en").get_data(as_text=True)
        assert data["efa"]["note"] in english  # English pages show the engine's own words


def test_the_methods_page_says_which_responses_each_missing_method_leaves_out(client, seeded):
    survey, q, manager = seeded
    login_as(client, manager)
    listwise = ready(client, f"/reports/{survey.id}/methods").get_data(as_text=True)
    assert "did not answer all the items" in listwise
    available = ready(client, f"/reports/{survey.id}/methods?missing=available")
    text = available.get_data(as_text=True)
    assert available.status_code == 200
    assert "available cases" in text and "half of the scale" in text
    assert "did not answer all the items" not in text


def test_a_page_without_its_report_waits_for_the_quick_one_not_the_bootstrap(
    client, seeded, monkeypatch
):
    """A page that shows no report yet reloads when the report without the bootstrap is
    ready (seconds at 1M), not when its intervals are (a minute)."""
    from survey_app.reports import routes

    survey, q, manager = seeded
    login_as(client, manager)
    monkeypatch.setattr(routes, "PAGE_WAIT", 0)
    html = client.get(f"/reports/{survey.id}?tier=A&region=north").get_data(as_text=True)
    assert 'id="pending"' in html and 'id="report-n"' not in html
    poll = unescape(re.search(r'id="pending" data-poll="([^"]+)"', html).group(1))
    assert "bootstrap=0" in poll and "tier=A" in poll and "region=north" in poll
    answer = ready_json(client, poll)
    assert answer.status_code == 200 and answer.get_json()["options"]["bootstrap"] == 0


def older_reports(client, seeded, reports_app):
    """The quick report and the one with intervals of the 400 seeded responses computed,
    then a new response (reports at most 600 s old may be shown meanwhile), logged in."""
    from survey_app.reports.services import Options, Ready, report_json
    from survey_app.selection import Selection
    from survey_app.surveys.services import record_response

    from .exports_data import servqual_answers

    reports_app.config["REPORTS_STALE_SECONDS"] = 600
    survey, q, manager = seeded
    login_as(client, manager)
    everyone = Selection.from_args(q, {})
    for bootstrap in (0, 20):
        assert isinstance(
            report_json(survey, everyone, Options(bootstrap=bootstrap), wait=None), Ready
        )
    record_response(survey, servqual_answers(4))
    db.session.commit()
    return survey


def test_the_newest_responses_are_shown_before_an_older_report_with_intervals(
    client, seeded, monkeypatch, reports_app
):
    """While the bootstrap of new responses is computed, the page shows the quick report
    of every response (intervals pending), not the older report that has intervals."""
    import threading

    from survey_app.reports.services import ReportService

    survey = older_reports(client, seeded, reports_app)
    gate = threading.Event()
    compute = ReportService._compute

    def slow_bootstrap(self, stamp, key, q, selection, options):
        if options.bootstrap:
            gate.wait(30)
        return compute(self, stamp, key, q, selection, options)

    monkeypatch.setattr(ReportService, "_compute", slow_bootstrap)
    try:
        html = ready(client, f"/reports/{survey.id}?bootstrap=20").get_data(as_text=True)
        assert re.search(r'id="report-n" data-n="(\d+)"', html).group(1) == "401"
        assert "bootstrap intervals are still being computed" in html
        poll = unescape(re.search(r'id="pending" data-poll="([^"]+)"', html).group(1))
        assert "bootstrap=0" not in poll  # the page now waits for the intervals
        older = client.get(poll).get_json()  # meanwhile: the older report, marked stale
        assert older["n"] == 400 and older["stale"] is True
    finally:
        gate.set()


def test_an_older_report_shown_meanwhile_says_so_and_waits_for_the_newest(
    client, seeded, monkeypatch, reports_app
):
    import time

    from survey_app.reports import routes

    survey = older_reports(client, seeded, reports_app)
    monkeypatch.setattr(routes, "PAGE_WAIT", 0)
    html = client.get(f"/reports/{survey.id}?bootstrap=20&lang=zh").get_data(as_text=True)
    assert re.search(r'id="report-n" data-n="(\d+)"', html).group(1) == "400"
    assert "又收到了新的答卷" in html  # says it is older, in the page's language
    poll = unescape(re.search(r'id="pending" data-poll="([^"]+)"', html).group(1))
    assert "bootstrap=0" in poll
    for _ in range(300):  # what the page's script waits for: a report that is not stale
        answer = client.get(poll)
        if answer.status_code == 200 and not answer.get_json().get("stale"):
            break
        time.sleep(0.1)
    assert answer.get_json()["n"] == 401


def test_a_report_served_from_the_files_reads_the_frame_for_the_next_filter(seeded, reports_app):
    from survey_app.reports.cache import current_stamp
    from survey_app.reports.services import Options, Ready, report_json, service
    from survey_app.selection import Selection

    survey, q, _manager = seeded
    everyone = Selection.from_args(q, {})
    assert isinstance(report_json(survey, everyone, Options(bootstrap=0), wait=None), Ready)
    service().shutdown()
    reports_app.extensions.pop("reports")  # a fresh process, the cache folder kept
    answer = report_json(survey, everyone, Options(bootstrap=0), wait=0)
    assert isinstance(answer, Ready) and answer.report["n"] == 400  # from the file
    service().jobs.idle()
    assert service().frames.holds(current_stamp(survey.id))


def test_a_filter_asked_while_its_guess_is_queued_does_not_wait_for_the_guesses(
    reports_app, seeded
):
    """The guess of a filter still queued behind a guess that waits for the requests
    (``yield_to_requests``, up to 30 s) is moved to the request's thread; the request's
    report must not wait for the moved guess's turn. (It did: ``concurrent.futures.wait``
    on a cancelled future returns only when its pool reaches it, and that pool's guess
    waited for this very request: a 30 s stall in the production load benchmark.)"""
    import threading
    import time

    from survey_app.reports.services import Options, Ready, service
    from survey_app.selection import Selection

    survey, q, manager = seeded
    svc = service()
    options = Options(bootstrap=0)
    north = Selection.from_args(q, {"region": "north"})
    stamp = svc.stamp(survey.id, north.version)
    gate = threading.Event()
    try:  # the guesses' thread busy, and the guess of region=north queued behind it
        svc.jobs.submit("a guess that waits", lambda: gate.wait(30) and None, False, True)
        queued = svc.jobs.submit(svc.key(stamp, north, options), lambda: None, False, True)
        started = time.monotonic()
        answer = svc.get(survey, north, options, wait=10, stamp=stamp)
        assert isinstance(answer, Ready) and answer.report["n"] > 0
        assert time.monotonic() - started < 8 and queued.cancelled()
    finally:
        gate.set()
