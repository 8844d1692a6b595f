"""Export time and peak memory of N stored SERVQUAL responses, side by side with a bare
``COPY ... TO STDOUT`` of the same rows.

Each measurement runs in a process of its own, so its peak resident memory (VmHWM,
everything the process held: Python, pandas, pyarrow and the data) is its own:

* ``COPY``: the response rows as stored (answers packed in bytea), streamed by the
  server to a file: the floor of any export;
* ``csv``, ``parquet`` (and optionally the other formats): the real export,
  ``survey_app.exports.services.write_export``, the code path of the command line,
  the staff page and the API.

    python benchmarks/export_speed.py --responses 1000000 \\
        --postgres postgresql://survey:survey@127.0.0.1/survey_test

Goal (issue 10): under 60 s and under 300 MB peak for CSV and Parquet at 1M responses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATABASE = "survey_bench_export"


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def fill(url: str, n: int) -> None:
    """A fresh database with servqual-22 and ``n`` complete responses (COPY)."""
    import numpy as np
    import psycopg
    from flask_migrate import upgrade

    from analysis.simulate import simulate_responses
    from config import Config, database_url
    from questionnaires import SHIPPED_DIR, load_questionnaire
    from survey_app import create_app
    from survey_app.extensions import db
    from survey_app.storage import encode_frame
    from survey_app.surveys.services import store_questionnaire

    base = database_url(url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    target = base.rsplit("/", 1)[0] + f"/{DATABASE}"
    path = SHIPPED_DIR / "servqual-22.yaml"
    q = load_questionnaire(path)
    app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": target, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        survey, _ = store_questionnaire(q, path.read_text(), path.name)
        db.session.commit()
        version_id = survey.current.id
        db.engine.dispose()
    rng = np.random.default_rng(1)
    comments = ["Faster please.", "更快一点", 'Staff were "great", thanks', "No"]
    with psycopg.connect(target) as conn:
        done = 0
        while done < n:
            size = min(100_000, n - done)
            frame = simulate_responses(q, size, seed=done)
            matrix = encode_frame(q, frame)
            width = matrix.shape[1] * 2
            blob = matrix.tobytes()
            starts = 1.77e9 + rng.uniform(0, 9e6, size)
            with conn.cursor().copy(
                "COPY response (survey_id, version_id, key, status, page, lang, answers, texts,"
                " created_at, updated_at, completed_at) FROM STDIN"
            ) as copy:
                for i in range(size):
                    texts = (
                        json.dumps({"SUGGESTION": comments[i % 4]}, ensure_ascii=False)
                        if i % 10 == 0
                        else "{}"
                    )
                    start = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(starts[i]))
                    end = time.strftime("%Y-%m-%d %H:%M:%S+00", time.gmtime(starts[i] + 420))
                    copy.write_row(
                        (
                            "servqual-22",
                            version_id,
                            f"bench{done + i:012d}x",
                            "complete",
                            6,
                            "zh" if i % 3 else "en",
                            blob[i * width : (i + 1) * width],
                            texts,
                            start,
                            end,
                            end,
                        )
                    )
            conn.commit()
            done += size
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE response")


def run_copy(url: str, out: str) -> dict:
    import psycopg

    start = time.perf_counter()
    with psycopg.connect(url) as conn, open(out, "wb") as handle:
        sql = (
            "COPY (SELECT * FROM response WHERE survey_id = 'servqual-22' ORDER BY id) "
            "TO STDOUT WITH (FORMAT csv, HEADER)"
        )
        with conn.cursor().copy(sql) as copy:
            for chunk in copy:
                handle.write(chunk)
    return {"seconds": time.perf_counter() - start}


def run_export(url: str, fmt: str, out: str) -> dict:
    from config import Config
    from survey_app import create_app
    from survey_app.exports.options import make_options
    from survey_app.exports.services import plan_export, write_export
    from survey_app.extensions import db
    from survey_app.models import Survey

    if os.environ.get("EXPORT_CHUNK"):  # to try other piece sizes
        from survey_app import storage

        storage.EXPORT_CHUNK = int(os.environ["EXPORT_CHUNK"])
    app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        survey = db.session.get(Survey, "servqual-22")
        idle = peak_mb()
        start = time.perf_counter()
        plan = plan_export(survey, make_options(survey.questionnaire, fmt), personal=True)
        rows = write_export(plan, Path(out))
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": rows, "idle_mb": idle}


def measure(args: argparse.Namespace) -> None:
    """One measurement in this process: print its figures as JSON."""
    url = args.url
    if args.run == "COPY":
        result = run_copy(url.replace("postgresql+psycopg://", "postgresql://"), args.out)
    else:
        result = run_export(url, args.run, args.out)
    result["peak_mb"] = peak_mb()
    result["size_mb"] = os.path.getsize(args.out) / 1e6
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument(
        "--formats", default="csv,parquet", help="comma-separated (also jsonl, xlsx, sav, dta)"
    )
    parser.add_argument("--keep", action="store_true", help="reuse the filled database")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        measure(args)
        return
    if not args.postgres:
        parser.error("give --postgres URL (or set TEST_POSTGRES_URL)")
    from config import database_url

    url = database_url(args.postgres).rsplit("/", 1)[0] + f"/{DATABASE}"
    if not args.keep:
        start = time.perf_counter()
        fill(args.postgres, args.responses)
        print(f"stored {args.responses:,} responses in {time.perf_counter() - start:.0f} s")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label in ["COPY", *args.formats.split(",")]:
            out = str(Path(tmp) / f"out.{label.lower()}")
            done = subprocess.run(
                [sys.executable, __file__, "--run", label, "--url", url, "--out", out],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"{label} failed:\n{done.stderr}")
            results[label] = json.loads(done.stdout.strip().splitlines()[-1])
            Path(out).unlink()
    print(f"\nExporting {args.responses:,} stored SERVQUAL responses (64 columns):")
    print(f"{'what':26s} {'seconds':>8s} {'peak MB':>8s} {'idle MB':>8s} {'file MB':>8s}")
    for label, r in results.items():
        name = "bare COPY ... TO STDOUT" if label == "COPY" else f"export --format {label}"
        idle = f"{r['idle_mb']:8.0f}" if "idle_mb" in r else f"{'':>8s}"
        print(f"{name:26s} {r['seconds']:8.1f} {r['peak_mb']:8.0f} {idle} {r['size_mb']:8.0f}")
    print("\npeak MB: the process's peak resident memory (VmHWM), interpreter and libraries")
    print("included; idle MB: the export process's peak before the export began.")


if __name__ == "__main__":
    main()
