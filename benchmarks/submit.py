"""Survey submissions through the real path over HTTP, beside a bare insert (the ceiling).

In one run, against one database and the same gunicorn settings (``gunicorn.conf.py``):

* **real path**: N concurrent customers take servqual-22 from start to end as a browser
  does: GET each page, POST it with the page's CSRF token and signed response key, follow
  the redirect, and GET the thank-you page (7 x 2 + 1 = 15 requests per response; a new
  browser, without cookies, for each response);
* **ceiling**: the same client posts 50 answer fields to a bare Flask view that inserts
  them as one JSON row through Flask-SQLAlchemy (``benchmarks/ceiling.py``).

The client is ``benchmarks/loadclient.mjs`` (Node.js, its built-in http module): it shares
the cores with the server, so it is cheap, it is the same for both measurements, and its
own CPU time is printed. Each measurement counts the requests that end within a window
after a warm-up; errors are any unexpected status, redirect or page.

    python benchmarks/submit.py --postgres postgresql://survey:survey@127.0.0.1:5432/postgres
    python benchmarks/submit.py --sqlite --clients 200
    python benchmarks/submit.py --in-process 200   # app cost per request, no HTTP

The PostgreSQL URL names a server and a database to connect to; the benchmark drops and
creates its own database ``survey_submit_bench`` there. ``$TEST_POSTGRES_URL`` is the
default.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402

from config import Config, database_url  # noqa: E402
from questionnaires import SHIPPED_DIR, Questionnaire, load_questionnaire  # noqa: E402
from survey_app import create_app  # noqa: E402
from survey_app.extensions import db  # noqa: E402
from survey_app.surveys.services import store_questionnaire  # noqa: E402

SURVEY = "servqual-22"
BENCH_DATABASE = "survey_submit_bench"
SECRET_KEY = "submit-benchmark"
CLIENT = Path(__file__).resolve().parent / "loadclient.mjs"


# -- the database --------------------------------------------------------------------------
def fresh_postgres(server_url: str) -> str:
    """Drop and create the benchmark's own database on the server; return its URL."""
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    return re.sub(r"/[^/?]*(\?|$)", f"/{BENCH_DATABASE}\\1", database_url(plain), count=1)


def prepare(url: str) -> Questionnaire:
    """Migrate the survey schema, load servqual-22 and make the ceiling's table."""
    import ceiling

    path = SHIPPED_DIR / f"{SURVEY}.yaml"
    q = load_questionnaire(path)
    app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
    with app.app_context():
        upgrade()
        store_questionnaire(q, path.read_text(encoding="utf-8"), path.name)
        db.session.commit()
        db.engine.dispose()
    bare = ceiling.create_app(url)
    with bare.app_context():
        ceiling.db.create_all()
        ceiling.db.engine.dispose()
    return q


def page_forms(q: Questionnaire) -> list[dict[str, str]]:
    """The answers a customer posts on each page: every question answered."""
    forms = []
    for page in q.pages:
        form = {}
        for slot in page.slots:
            item, name = slot.item, f"q_{slot.name}"
            if item.kind in ("scale", "nps"):
                form[name] = str(min(max(5, item.scale.min), item.scale.max))
            elif item.kind in ("single", "multiple"):
                form[name] = item.choices[0].id
            else:
                form[name] = "Friendly staff, slow delivery."
        forms.append(form)
    return forms


def ceiling_form(q: Questionnaire) -> dict[str, str]:
    """50 posted answer fields, as in FIGURES.md's ceiling."""
    return {f"q_{c.name}": "5" for c in q.numeric_columns[:50]}


# -- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    log: Path

    def cpu_seconds(self) -> float:
        """CPU time of the gunicorn master and its living workers so far."""
        pids = [self.process.pid, *children(self.process.pid)]
        return sum(process_cpu(pid) for pid in pids)

    def problems(self) -> list[str]:
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines() if "[ERROR]" in line or "Traceback" in line]


@contextmanager
def gunicorn(app: str, url: str, args: argparse.Namespace, log: Path) -> Iterator[Server]:
    """Serve ``app`` with the project's gunicorn settings; stop it (and only it) after."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TRUSTED_HOSTS", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")
    }
    env.update(
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        SURVEY_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "benchmarks")]),
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        *(["--threads", str(args.threads)] if args.threads else []),
        app,
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(server)
        yield server
    finally:
        stop(process)


def wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(server.base + "/", timeout=5):
                return
        except urllib.error.HTTPError:
            return  # it answers (the ceiling has no page at /)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{server.log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the master we started (it stops its workers), SIGKILL its group if stuck."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- CPU accounting from /proc ---------------------------------------------------------------
TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def postgres_cpu() -> float:
    """CPU time so far of the PostgreSQL processes on this machine (0 if none are seen)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += process_cpu(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


# -- one measurement ---------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    client: dict
    server_cpu: float
    database_cpu: float
    machine_cpu: float
    machine_total: float
    server_problems: list[str]

    @property
    def rps(self) -> float:
        return self.client["requests"] / self.client["seconds"]

    @property
    def completes(self) -> float:
        return self.client["completed"] / self.client["seconds"]


def measure(name: str, app: str, url: str, args: argparse.Namespace, settings: dict) -> Result:
    with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as f:
        log = Path(f.name)
    try:
        with gunicorn(app, url, args, log) as server:
            settings = {
                **settings,
                "base": server.base,
                "clients": args.clients,
                "warmup": args.warmup,
                "duration": args.seconds,
                "maxRequests": args.max_requests,
            }
            busy0, total0 = machine_busy()
            cpu0, pg0 = server.cpu_seconds(), postgres_cpu()
            done = subprocess.run(
                [args.node, str(CLIENT)],
                input=json.dumps(settings),
                capture_output=True,
                text=True,
                timeout=args.warmup + args.seconds + 120,
                check=False,
            )
            cpu1, pg1 = server.cpu_seconds(), postgres_cpu()
            busy1, total1 = machine_busy()
            if done.returncode != 0:
                raise RuntimeError(f"the load client failed:\n{done.stderr[-3000:]}")
            return Result(
                name,
                json.loads(done.stdout),
                cpu1 - cpu0,
                pg1 - pg0,
                busy1 - busy0,
                total1 - total0,
                server.problems(),
            )
    finally:
        log.unlink(missing_ok=True)


def report(results: list[Result], args: argparse.Namespace, backend: str) -> None:
    print(
        f"\n{SURVEY}, {args.clients} clients, gunicorn {args.workers} {args.worker_class} "
        f"workers{f' x {args.threads} threads' if args.threads else ''}, {backend}; "
        f"{args.seconds:g} s measured after {args.warmup:g} s warm-up, {os.cpu_count()} cores\n"
    )
    head = (
        f"{'':34s} {'complete/s':>10s} {'requests/s':>10s} {'p50 ms':>8s} {'p95 ms':>8s} "
        f"{'p99 ms':>8s} {'errors':>7s}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        c = r.client
        completes = f"{r.completes:10.1f}" if r.name.startswith("real") else f"{'':>10s}"
        print(
            f"{r.name:34s} {completes} {r.rps:10.0f} {c['all']['p50']:8.1f} "
            f"{c['all']['p95']:8.1f} {c['all']['p99']:8.1f} {c['errors']:7d}"
        )
        if r.name.startswith("real"):
            for kind in ("get", "post"):
                s = c[kind]
                print(
                    f"  {kind.upper() + ' of a page or thanks':32s} {'':>10s} "
                    f"{s['count'] / c['seconds']:10.0f} {s['p50']:8.1f} {s['p95']:8.1f} "
                    f"{s['p99']:8.1f}"
                )
    real = [r for r in results if r.name.startswith("real")]
    bare = [r for r in results if r.name.startswith("ceiling")]
    if real and bare:
        ratio = statistics.median(r.rps for r in real) / statistics.median(r.rps for r in bare)
        print(f"\nratio of requests/s, real path / ceiling: {ratio:.2f} (goal: at least 0.70)")
    print(
        "\nCPU during each measurement (warm-up included), as a share of all cores, and "
        "gunicorn's CPU time per request:"
    )
    for r in results:
        total = r.machine_total or 1
        client = r.client["cpuSeconds"] / total
        server = r.server_cpu / total
        database = r.database_cpu / total
        other = max(r.machine_cpu / total - client - server - database, 0)
        per_request = r.server_cpu / max(r.client["allRequests"], 1) * 1e3
        print(
            f"  {r.name:32s} client {client:4.0%}  gunicorn {server:4.0%}  "
            f"PostgreSQL {database:4.0%}  other {other:4.0%}  idle "
            f"{1 - r.machine_cpu / total:4.0%}   {per_request:5.2f} ms/request"
        )
    for r in results:
        if r.client["errors"]:
            print(f"\n{r.name}: {r.client['errors']} errors, for example:")
            for kind, example in list(r.client["errorKinds"].items())[:5]:
                print(f"  {kind}: {example}")
        if r.server_problems:
            print(f"\n{r.name}: gunicorn logged {len(r.server_problems)} errors, the first:")
            for line in r.server_problems[:5]:
                print(f"  {line}")


def run_http(args: argparse.Namespace) -> None:
    if args.sqlite:
        tmp = tempfile.mkdtemp(prefix="submit-bench-")
        url, backend = f"sqlite:///{tmp}/submit.sqlite", "SQLite"
    else:
        if not args.postgres:
            sys.exit("give --postgres URL (or set TEST_POSTGRES_URL), or --sqlite")
        tmp = None
        url = fresh_postgres(args.postgres)
        backend = "PostgreSQL on loopback"
    try:
        q = prepare(url)
        real = {"mode": "survey", "path": f"/s/{SURVEY}", "pages": []}
        real["pages"] = [urlencode(form) for form in page_forms(q)]
        bare = {"mode": "ceiling", "path": "/insert", "body": urlencode(ceiling_form(q))}
        results = []
        for n in range(1, args.rounds + 1):
            suffix = f" (round {n})" if args.rounds > 1 else ""
            if args.only != "ceiling":
                results.append(
                    measure(f"real path{suffix}", "survey_app:create_app()", url, args, real)
                )
            if args.only != "real":
                results.append(measure(f"ceiling{suffix}", "ceiling:create_app()", url, args, bare))
        report(results, args, backend)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# -- in-process: the application's own cost per request, no HTTP -------------------------
def run_in_process(responses: int) -> None:
    """Complete responses through the Flask test client, one after the other."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/submit.sqlite"
        q = prepare(url)
        app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
        forms = page_forms(q)
        hidden = re.compile(r'name="(csrf_token|rk)" type="hidden" value="([^"]+)"')
        times: dict[str, list[float]] = {"GET": [], "POST": []}
        for _ in range(responses):
            client = app.test_client()
            path = f"/s/{SURVEY}"
            for number, form in enumerate(forms, start=1):
                start = time.perf_counter()
                html = client.get(path).get_data(as_text=True)
                times["GET"].append(time.perf_counter() - start)
                fields = dict(hidden.findall(html))
                start = time.perf_counter()
                response = client.post(path, data={**fields, "page": number, "nav": "next", **form})
                times["POST"].append(time.perf_counter() - start)
                if response.status_code != 302:
                    raise RuntimeError(response.get_data(as_text=True)[:500])
                path = response.headers["Location"]
        print(f"\n{responses} complete {SURVEY} responses in-process (SQLite, one core):")
        for method, values in times.items():
            values = values[len(values) // 10 :]  # the first tenth warms up
            print(
                f"  {method} of a page: median {statistics.median(values) * 1e3:.2f} ms, "
                f"mean {statistics.fmean(values) * 1e3:.2f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=0, help="for --worker-class gthread")
    parser.add_argument("--seconds", type=float, default=20, help="measured, each")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--max-requests", type=int, default=200_000, help="per measurement")
    parser.add_argument("--rounds", type=int, default=1, help="real path, ceiling, repeated")
    parser.add_argument("--only", choices=("real", "ceiling"), help="measure one side only")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--node", default=shutil.which("node") or "node")
    parser.add_argument(
        "--in-process", type=int, metavar="N", help="N responses in-process instead"
    )
    args = parser.parse_args()
    if args.in_process:
        run_in_process(args.in_process)
    else:
        run_http(args)


if __name__ == "__main__":
    main()
