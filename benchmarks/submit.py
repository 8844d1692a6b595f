"""Indicative submission throughput through the real path, in one process.

Each request is a complete survey page POST: CSRF check, WTForms validation of every
answer, the stored answers decoded and re-encoded, one row written and committed, a
redirect. It runs the Flask app in-process (no HTTP server, no network), sequentially,
so it measures the application's own cost per submission on one core; FIGURES.md's
ceiling (2,200 requests/s, gunicorn with 4 workers on 2 cores, wrk) is the yardstick
for a real load test.

    python benchmarks/submit.py --pages 2000 [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from config import Config  # noqa: E402
from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.surveys.services import store_questionnaire  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def page_data(q, number: int) -> dict:
    data = {}
    for item in q.pages[number - 1].items:
        for column in q.columns_of(item):
            name = f"q_{q.column_name(item, column.measure)}"
            if column.kind in ("scale", "nps"):
                data[name] = "5"
            elif column.kind == "single":
                data[name] = item.choices[0].id
            elif column.kind == "text":
                data[name] = "ok"
    return data


def run(url: str, pages: int) -> float:
    app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": url})
    path = SHIPPED_DIR / "servqual-22.yaml"
    q = load_questionnaire(path)
    with app.app_context():
        upgrade()
        store_questionnaire(q, path.read_text(encoding="utf-8"), path.name)
        db.session.commit()
    client = app.test_client()
    forms = [page_data(q, n) for n in range(1, len(q.pages) + 1)]
    done = 0
    elapsed = 0.0
    while done < pages:
        html = client.get("/s/servqual-22").get_data(as_text=True)
        fields = dict(re.findall(r'name="(csrf_token|rk)" type="hidden" value="([^"]+)"', html))
        action = "/s/servqual-22"
        for number, form in enumerate(forms, start=1):
            start = time.perf_counter()
            response = client.post(action, data={**fields, "page": number, **form})
            elapsed += time.perf_counter() - start
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
            action = response.headers["Location"].replace(f"page={number + 1}&", "")
            done += 1
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {"SQLite": run(f"sqlite:///{tmp}/submit.sqlite", args.pages)}
    if args.postgres:
        import psycopg

        base = args.postgres.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "survey_submit_bench" WITH (FORCE)')
            conn.execute('CREATE DATABASE "survey_submit_bench"')
        url = base.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        results["PostgreSQL"] = run(f"{url}/survey_submit_bench", args.pages)
    print(
        f"\nComplete page submissions (servqual-22 pages, 8 or 9 items x 2 measures), "
        f"{args.pages} each, one process, sequential:"
    )
    for name, rate in results.items():
        print(f"{name:12s} {rate:8.0f} submissions/s on one core")


if __name__ == "__main__":
    main()
