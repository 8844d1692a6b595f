"""Load time of N SERVQUAL responses into the analysis frame, by storage layout.

Runs side by side, in one run, on one PostgreSQL server:

* ``packed``: this project's layout (one row per response, numeric answers packed as
  int16 in a bytea column), loaded by the real ``survey_app.storage.responses_frame``;
* ``wide``: one table per questionnaire with a smallint column per answer column;
* ``jsonb``: one row per response with the answers as JSONB, columns extracted in SQL;
* ``per-answer``: one row per answer (run at a tenth of N, then scaled, as it is slow).

and the packed layout on SQLite. Each alternative is read the fastest way we know:
``COPY ... TO STDOUT`` parsed by ``pandas.read_csv(engine="pyarrow")``.

    python benchmarks/storage_load.py --responses 1000000 \\
        --postgres postgresql://survey:survey@127.0.0.1/survey_test
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from analysis.simulate import simulate_responses  # noqa: E402
from config import Config, database_url  # noqa: E402
from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.storage import MISSING, encode_frame, responses_frame  # noqa: E402
from survey_app.surveys.services import store_questionnaire  # noqa: E402

PATH = SHIPPED_DIR / "servqual-22.yaml"


def fresh_database(base: str, name: str) -> str:
    url = database_url(base).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"


def timed(label: str, fn, results: dict, repeat: int = 2):
    best = float("inf")
    value = None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    results[label] = best
    return value


def copy_to_frame(conn: psycopg.Connection, sql: str) -> pd.DataFrame:
    buffer = io.BytesIO()
    with conn.cursor().copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    return pd.read_csv(buffer, engine="pyarrow")


def load_table(conn, label: str, table: str, rows, select: str, results: dict, sizes: dict):
    """Create ``table`` (name and columns), COPY ``rows`` in, analyse it, then time
    loading it back into a frame with ``select`` and record its size under ``label``."""
    name = table.split()[0]
    conn.execute(f"CREATE TABLE {table}")
    with conn.cursor().copy(f"COPY {name} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute(f"ANALYZE {name}")
    conn.commit()
    timed(label, lambda: copy_to_frame(conn, select), results)
    sizes[label] = relation_mb(conn, name)


def relation_mb(conn: psycopg.Connection, table: str) -> float:
    return conn.execute(f"SELECT pg_total_relation_size('{table}')").fetchone()[0] / 1e6


def write_packed(conn, survey_id: str, version_id: int, matrix: np.ndarray) -> None:
    row_bytes = matrix.shape[1] * 2
    blob = matrix.tobytes()
    with conn.cursor().copy(
        "COPY response (survey_id, version_id, key, status, page, lang, answers, texts,"
        " created_at, updated_at, completed_at) FROM STDIN"
    ) as copy:
        for i in range(matrix.shape[0]):
            chunk = blob[i * row_bytes : (i + 1) * row_bytes]
            copy.write_row(
                (
                    survey_id,
                    version_id,
                    f"bench{i:012d}x",
                    "complete",
                    6,
                    "en",
                    chunk,
                    "{}",
                    "2026-01-01",
                    "2026-01-01",
                    "2026-01-01",
                )
            )
    conn.commit()


def check_same(loaded: pd.DataFrame, frame: pd.DataFrame, matrix: np.ndarray, q) -> None:
    """Fail loudly, saying what differs, if the loaded frame is not what was written."""
    problems = []
    if len(loaded) != len(frame):
        problems.append(f"{len(loaded)} rows loaded, {len(frame)} written")
    else:
        reloaded = encode_frame(q, loaded)
        rows, cols = np.nonzero(reloaded != matrix)
        if len(rows):
            problems.append(
                f"{len(rows)} cells differ, first at row {rows[0]} column "
                f"{q.numeric_columns[cols[0]].name}: {reloaded[rows[0], cols[0]]} loaded, "
                f"{matrix[rows[0], cols[0]]} written; ids {loaded['response_id'][:3].tolist()}"
            )
    if problems:
        raise SystemExit("the loaded frame differs from the data written: " + "; ".join(problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres:
        parser.error("give --postgres URL (or set TEST_POSTGRES_URL)")
    n = args.responses
    q = load_questionnaire(PATH)
    text = PATH.read_text(encoding="utf-8")
    print(f"simulating {n:,} responses of {q.id} ({len(q.numeric_columns)} numeric columns)...")
    frame = simulate_responses(q, n, seed=1)
    matrix = encode_frame(q, frame)
    names = [c.name for c in q.numeric_columns]
    results: dict[str, float] = {}
    sizes: dict[str, float] = {}

    url = fresh_database(args.postgres, "survey_storage_bench")
    app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": database_url(url)})
    with app.app_context(), psycopg.connect(url) as conn:
        upgrade()
        survey, _ = store_questionnaire(q, text, PATH.name)
        db.session.commit()
        write_packed(conn, survey.id, survey.current.id, matrix)
        conn.execute("ANALYZE response")  # the steady state autovacuum reaches
        conn.commit()
        loaded = timed(
            "packed bytea (PostgreSQL)",
            lambda: responses_frame(survey.id, q, include_text=False),
            results,
        )
        check_same(loaded, frame, matrix, q)
        sizes["packed bytea (PostgreSQL)"] = relation_mb(conn, "response")

        # one wide table, a smallint column per answer column
        cols = ", ".join(f'"{c}" smallint' for c in names)
        select = ", ".join(f'"{c}"' for c in names)
        load_table(
            conn,
            "wide table, COPY + pyarrow",
            f"bench_wide (id bigint PRIMARY KEY, {cols})",
            (
                [i, *[None if v == MISSING else v for v in row]]
                for i, row in enumerate(matrix.tolist())
            ),
            f"SELECT id, {select} FROM bench_wide ORDER BY id",
            results,
            sizes,
        )

        # JSONB answers, columns extracted in SQL
        extract = ", ".join(f"(answers->>'{c}')::smallint AS \"{c}\"" for c in names)
        load_table(
            conn,
            "JSONB, extracted in SQL",
            "bench_jsonb (id bigint PRIMARY KEY, answers jsonb)",
            (
                [i, json.dumps({c: v for c, v in zip(names, row, strict=True) if v != MISSING})]
                for i, row in enumerate(matrix.tolist())
            ),
            f"SELECT id, {extract} FROM bench_jsonb ORDER BY id",
            results,
            sizes,
        )

        # one row per answer, at a tenth of the size, pivoted in pandas
        tenth = max(n // 10, 1)
        conn.execute(
            "CREATE TABLE bench_answer (response bigint, col smallint, value smallint,"
            " PRIMARY KEY (response, col))"
        )
        with conn.cursor().copy("COPY bench_answer FROM STDIN") as copy:
            for i, row in enumerate(matrix[:tenth].tolist()):
                for j, v in enumerate(row):
                    if v != MISSING:
                        copy.write_row((i, j, v))
        conn.execute("ANALYZE bench_answer")
        conn.commit()
        label = f"one row per answer (x10 of {tenth:,})"
        timed(
            label,
            lambda: copy_to_frame(conn, "SELECT * FROM bench_answer ORDER BY response, col").pivot(
                index="response", columns="col", values="value"
            ),
            results,
            repeat=1,
        )
        results[label] *= 10
        sizes[label] = relation_mb(conn, "bench_answer") * 10
        db.session.remove()
        db.engine.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.sqlite"
        app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": sqlite_url})
        with app.app_context():
            upgrade()
            survey, _ = store_questionnaire(q, text, PATH.name)
            db.session.commit()
            rows = [
                {
                    "survey_id": survey.id,
                    "version_id": survey.current.id,
                    "key": f"k{i:014d}x",
                    "status": "complete",
                    "page": 6,
                    "lang": "en",
                    "answers": matrix[i].tobytes(),
                    "texts": {},
                    "created_at": pd.Timestamp("2026-01-01", tz="UTC"),
                    "updated_at": pd.Timestamp("2026-01-01", tz="UTC"),
                    "completed_at": pd.Timestamp("2026-01-01", tz="UTC"),
                }
                for i in range(n)
            ]
            from survey_app.models import Response

            for start in range(0, n, 50_000):
                db.session.execute(db.insert(Response), rows[start : start + 50_000])
            db.session.commit()
            del rows
            timed(
                "packed bytea (SQLite)",
                lambda: responses_frame(survey.id, q, include_text=False),
                results,
            )
            sizes["packed bytea (SQLite)"] = Path(f"{tmp}/bench.sqlite").stat().st_size / 1e6

    base = results["packed bytea (PostgreSQL)"]
    print(f"\nLoading {n:,} responses x {len(names)} columns into a DataFrame (best of 2):")
    print(f"{'layout':42s} {'seconds':>8s} {'vs packed':>10s} {'MB on disk':>11s}")
    for label, seconds in results.items():
        print(f"{label:42s} {seconds:8.2f} {seconds / base:9.2f}x {sizes.get(label, 0):11.0f}")


if __name__ == "__main__":
    main()
