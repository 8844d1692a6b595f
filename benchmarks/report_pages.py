"""Report page speed at N stored responses on PostgreSQL, side by side with the analysis
command line on the same data.

Prints, for a servqual-22 survey with N complete responses:

* cold, no cache: a fresh process, empty cache folder: the first page request's own time
  (it waits at most the page budget, then answers "being computed") and the time until
  the page shows the report;
* cold, disk cache: a fresh process with the cache folder the app kept up to date;
* filter changes in a warm process (segment filters): until the page shows the filtered
  report (a page answered "being computed" polls ``data.json``, as the browser does);
* after 500 new responses, in the warm process (a running server: its frame in memory),
  and after 1,000 more, in a fresh process (the frame file on disk): until the page
  shows the report with them, not the older report shown meanwhile (the frame is
  appended, not reloaded);

Each child process waits for its background work (reports computed ahead, the bootstrap,
the frame file) before it exits, as a running server would finish it.
* the bootstrap (200 resamples) finishing in the background;
* ``python -m analysis report`` on a CSV of the same responses (reading the CSV included).

    python benchmarks/report_pages.py --responses 1000000 \\
        --postgres postgresql://survey:survey@127.0.0.1:5432/survey_test
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.simulate import simulate_responses  # noqa: E402
from config import Config, database_url  # noqa: E402
from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402

PATH = SHIPPED_DIR / "servqual-22.yaml"
SURVEY = "servqual-22"


def fresh_database(base: str, name: str) -> str:
    url = database_url(base).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def make_app(url: str, cache: Path):
    from survey_app import create_app

    return create_app(
        Config,
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "REPORTS_CACHE": str(cache),
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        },
    )


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = make_app(url, Path(tempfile.mkdtemp()))
    with app.app_context():
        upgrade()


def seed(url: str, n: int, extra: int = 0) -> None:
    """Load the questionnaire and COPY ``n`` simulated complete responses in."""
    from flask_migrate import upgrade

    from survey_app.auth.services import create_user
    from survey_app.extensions import db
    from survey_app.storage import encode_frame
    from survey_app.surveys.services import store_questionnaire

    app = make_app(url, Path(tempfile.mkdtemp()))
    with app.app_context():
        if not extra:
            upgrade()
            q = load_questionnaire(PATH)
            store_questionnaire(q, PATH.read_text(encoding="utf-8"), PATH.name)
            create_user("manager@example.com", "correct horse battery", "manager", ("default",))
            db.session.commit()
        survey_version = db.session.execute(
            db.text("SELECT id FROM questionnaire_version WHERE survey_id = :s"), {"s": SURVEY}
        ).scalar()
        db.engine.dispose()
    q = load_questionnaire(PATH)
    count = extra or n
    frame = simulate_responses(q, count, seed=7 + extra)
    matrix = encode_frame(q, frame)
    texts = frame[[c.name for c in q.text_columns]]
    rng = np.random.default_rng(8 + extra)
    now = datetime.now(UTC)
    # the seeded responses over the last 180 days; the extra ones just now (as new
    # responses arrive: completed after everything the cache has seen)
    ages = rng.uniform(0, 30, size=count) if extra else rng.uniform(60, 180 * 24 * 3600, count)
    langs = rng.choice(["zh", "en"], size=count)
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn, conn.cursor() as cur:
        start = cur.execute("SELECT coalesce(max(id), 0) FROM response").fetchone()[0]
        with cur.copy(
            "COPY response (survey_id, version_id, key, status, page, lang, answers, texts, "
            "preset, test, created_at, updated_at, completed_at) FROM STDIN"
        ) as copy:
            for i in range(count):
                done = now - timedelta(seconds=float(ages[i]))
                row_texts = {k: v for k, v in texts.iloc[i].items() if isinstance(v, str)}
                copy.write_row(
                    (
                        SURVEY,
                        survey_version,
                        f"bench-{start + i}-{extra}",
                        "complete",
                        7,
                        str(langs[i]),
                        matrix[i].tobytes(),
                        json.dumps(row_texts, ensure_ascii=False),
                        "{}",
                        False,
                        done - timedelta(minutes=8),
                        done,
                        done,
                    )
                )
        conn.commit()
        conn.execute("ANALYZE response")


def child(args: argparse.Namespace) -> None:
    """One fresh process: the measurements that need a cold app."""
    if args.verbose:  # the app's log (what was read, appended, computed, and when)
        logging.basicConfig(
            level=logging.INFO, format="%(relativeCreated)8.0f ms %(threadName)s %(message)s"
        )
    app = make_app(args.url, Path(args.cache))
    from survey_app.reports.services import preload_analysis

    preload_analysis()  # as gunicorn's master does before it forks (gunicorn.conf.py)
    client = app.test_client()
    from survey_app.auth.services import find_user

    with app.app_context():
        user = find_user("manager@example.com")
        user_id = user.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    out: dict[str, float | list] = {}

    def page(query: str = "", n: int | None = None) -> tuple[float, bool]:
        """(seconds, whether the page shows the report: with ``n`` responses when
        given, i.e. not an older report shown while the newer one is computed)."""
        start = time.perf_counter()
        answer = client.get(f"/reports/{SURVEY}{query}")
        if answer.status_code != 200:
            sys.exit(f"/reports/{SURVEY}{query} answered {answer.status_code}")
        shown = re.search(r'id="report-n" data-n="(\d+)"', answer.get_data(as_text=True))
        seconds = time.perf_counter() - start
        logging.getLogger("bench").info(
            "page %r: %.2f s, n %s", query, seconds, shown.group(1) if shown else "-"
        )
        return seconds, bool(shown) and n in (None, int(shown.group(1)))

    def until_shown(query: str = "", n: int | None = None) -> tuple[float, float]:
        """(the first request's seconds, seconds until the page shows the report). While
        the page says "being computed", poll ``data.json`` of the quick report every
        0.25 s as the page's script does (it waits Retry-After, at least 1 s), then load
        the page again."""
        logging.getLogger("bench").info("until shown: %r n=%s", query, n)
        begin = time.perf_counter()
        first, ready = page(query, n)
        while not ready:
            time.sleep(0.25)
            separator = "&" if query else "?"
            answer = client.get(f"/reports/{SURVEY}/data.json{query}{separator}bootstrap=0")
            logging.getLogger("bench").info("data.json: %s", answer.status_code)
            if answer.status_code == 200:
                report = answer.get_json()
                if not report.get("stale") and n in (None, report["n"]):
                    _, ready = page(query, n)
        return first, time.perf_counter() - begin

    out["first_request"], out["until_report"] = until_shown("", args.expect_n)
    if args.mode == "warm":
        filters = ["?tier=A", "?region=north", "?tier=B&region=east", "?wave=2026H1", "?tier=C"]
        out["filters"] = [until_shown(f)[1] for f in filters]
        out["filters_cached"] = [page(f)[0] for f in filters]
        start = time.perf_counter()
        while client.get(f"/reports/{SURVEY}/data.json").status_code != 200:
            time.sleep(0.5)
        out["bootstrap_ready"] = time.perf_counter() - start
        # new responses reach a running server, whose frame is in memory: appended
        seed(args.url, 0, extra=500)
        logging.getLogger("bench").info("500 new responses stored")
        out["appended_warm"] = until_shown("", count_complete(args.url))[1]
    # what a running server goes on with (the reports computed ahead, the bootstrap):
    # finished before this process exits, as the next measurement expects of the cache
    with app.app_context():
        from survey_app.reports.services import service

        service().jobs.idle()
        service().frames.written()
    print(json.dumps(out))


def run_child(args, mode: str, cache: Path, expect_n: int | None = None) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--url",
        args.url,
        "--cache",
        str(cache),
        "--mode",
        mode,
        *(["--expect-n", str(expect_n)] if expect_n else []),
        *(["--verbose"] if args.verbose else []),
    ]
    # the child's log (--verbose) and errors go to this process's stderr; numpy without
    # huge pages, as scripts/production.sh starts the app
    env = {"NUMPY_MADVISE_HUGEPAGE": "0", **os.environ}
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def count_complete(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM response WHERE status = 'complete'").fetchone()[0]


def cli_time(url: str, tmp: Path) -> tuple[float, float]:
    """(export to CSV, python -m analysis report on that CSV) in seconds."""
    app = make_app(url, tmp / "unused")
    from survey_app.storage import responses_frame

    with app.app_context():
        frame = responses_frame(SURVEY, include_text=False)
    csv = tmp / "data.csv"
    start = time.perf_counter()
    frame.to_csv(csv, index=False)
    export = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            str(csv),
            "-q",
            str(PATH),
            "--json",
            str(tmp / "cli.json"),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return export, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--url")
    parser.add_argument("--cache")
    parser.add_argument("--mode")
    parser.add_argument("--expect-n", type=int)
    parser.add_argument("--verbose", action="store_true", help="the children's app log")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not args.postgres:
        sys.exit("give --postgres URL (or set TEST_POSTGRES_URL)")
    name = f"survey_bench_reports_{args.responses}"
    if args.reuse:
        args.url = database_url(args.postgres).replace("postgresql+psycopg://", "postgresql://")
        args.url = args.url.rsplit("/", 1)[0] + f"/{name}"
        migrate(args.url)  # a database seeded by an older checkout
    else:
        args.url = fresh_database(args.postgres, name)
        start = time.perf_counter()
        seed(args.url, args.responses)
        print(f"seeded {args.responses:,} responses in {time.perf_counter() - start:.0f} s")
    tmp = Path(tempfile.mkdtemp(prefix="report-bench-"))
    cache = tmp / "cache"
    nocache = run_child(args, "cold", cache)
    disk = run_child(args, "warm", cache)
    seed(args.url, args.responses, extra=1000)
    appended = run_child(args, "cold", cache, expect_n=count_complete(args.url))
    export, cli = cli_time(args.url, tmp)
    rows = [
        ("page, cold, no cache: first request", nocache["first_request"], "< 3 s (waits 2 s)"),
        ("page, cold, no cache: report shown", nocache["until_report"], "< 10 s"),
        ("page, cold, disk cache: first request", disk["first_request"], "< 3 s"),
        ("500 new responses, running app: fresh report", disk["appended_warm"], "< 3 s"),
        ("1,000 new responses, fresh app: fresh report", appended["until_report"], "< 3 s"),
        (
            "filter change: report shown (median of 5)",
            statistics.median(disk["filters"]),
            "< 0.5 s",
        ),
        ("filter change: report shown (slowest of 5)", max(disk["filters"]), ""),
        ("filter change again (cached result)", statistics.median(disk["filters_cached"]), ""),
        ("bootstrap (200) ready in background", disk["bootstrap_ready"], "off the request path"),
        ("python -m analysis report on a CSV", cli, "same data"),
        ("(exporting that CSV)", export, ""),
    ]
    print(f"\n{args.responses:,} responses, servqual-22, PostgreSQL 15")
    print(f"{'measurement':44s} {'seconds':>8s}  goal")
    for label, seconds, goal in rows:
        print(f"{label:44s} {seconds:8.2f}  {goal}")
    print("\nfilters:", ", ".join(f"{s:.2f}" for s in disk["filters"]))


if __name__ == "__main__":
    main()
