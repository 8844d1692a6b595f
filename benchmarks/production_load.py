"""Load through the production stack: submissions beside the bare-insert ceiling, both
behind the same nginx, for 1 and 2 instances; then the report page and a 1M export of a
large survey while submissions go on at a steady rate.

Starts ``scripts/production.sh up`` from this checkout (PostgreSQL on 5433, nginx on
``--port``; ``--replica`` adds the streaming replica that reports and exports read) and
``down`` at the end (``--keep`` leaves it running).

1. **Submissions**, for each ``--instances`` count: N concurrent customers
   (``benchmarks/loadclient.mjs``, as in ``benchmarks/submit.py``) take servqual-22 through
   nginx (GET and POST of 7 pages with CSRF and signed keys, the thank-you page: 15
   requests per response) and, in the same run, post 50 fields to the bare insert of
   ``benchmarks/ceiling.py``, served by as many gunicorn masters with the same settings
   (``gunicorn.conf.py``, the same workers per instance) behind the same nginx (a location
   added through ``instance/production/nginx.d/``). Rounds alternate the two.
2. **A large survey** (``--responses``, default 1M, loaded once with COPY; later runs reuse
   it): while customers submit at a steady ``--rate`` (default 50 responses/s) through
   nginx, a manager (logged in through nginx) opens the report with no cache, changes
   filters, opens it again in fresh workers (gunicorn HUP: the disk cache, appended to),
   and exports every response to CSV on the export page (a background job, downloaded).

    python benchmarks/production_load.py                       # 1 and 2 instances, then 1M
    python benchmarks/production_load.py --replica --instances 2
    python benchmarks/production_load.py --skip-large --rounds 3
    python benchmarks/production_load.py --skip-large --instances 1 --skeleton

``--skeleton`` adds a third side to each round of part 1: the same client taking servqual-22
from ``benchmarks/skeleton.py``, a textbook Flask + Flask-WTF form (WTForms widgets and
validation, session, CSRF, one read and one write per page) behind the same nginx.

Needs root (or password-less sudo) the first time, for the Debian packages.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
STATE = ROOT / "instance" / "production"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import skeleton  # noqa: E402
from submit import (  # noqa: E402
    CLIENT,
    ceiling_form,
    children,
    free_port,
    gunicorn_environment,
    machine_busy,
    page_forms,
    process_cpu,
)

from questionnaires import SHIPPED_DIR, load_questionnaire  # noqa: E402

SURVEY = "servqual-22"
MANAGER = ("manager@example.com", "correct horse battery")
RESEARCHER = ("researcher@example.com", "correct horse battery")
CEILING_PATH = "/bench/insert"


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- the stack -------------------------------------------------------------------------------
class Stack:
    def __init__(self, port: int, replica: bool) -> None:
        self.port, self.replica = port, replica
        self.instances = 0
        self.bench: dict[str, list[subprocess.Popen]] = {}  # name -> gunicorn masters

    def up(self, instances: int) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REPORTS_DATABASE_URL", "WEB_CONCURRENCY")
        }
        command = ["bash", "scripts/production.sh", "up", "--instances", str(instances)]
        command += ["--port", str(self.port), *(["--replica"] if self.replica else [])]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"production.sh up failed:\n{done.stdout[-2000:]}{done.stderr}")
        self.instances = instances
        password = (STATE / "db_password").read_text().strip()
        self.database_url = f"postgresql://survey:{password}@127.0.0.1:5433/survey"
        self.replica_url = f"postgresql://survey:{password}@127.0.0.1:5434/survey"

    def down(self) -> None:
        self.stop_bench()
        subprocess.run(["bash", "scripts/production.sh", "down"], cwd=ROOT, check=False)

    def flask(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        done = subprocess.run(
            [str(ROOT / ".venv/bin/flask"), "--app", "survey_app", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": self.database_url},
            input=stdin,
            capture_output=True,
            text=True,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def workers_per_instance(self) -> int:
        """What production.sh gives each instance (so the ceiling gets the same)."""
        cores = os.cpu_count() or 1
        return (2 * cores + self.instances - 1) // self.instances

    def masters(self) -> list[int]:
        """The gunicorn masters: each instance's, then the reports' process."""
        return gunicorn_masters()

    def nginx(self) -> int:
        return int((STATE / "run" / "nginx.pid").read_text())

    def reload_nginx(self) -> None:
        conf = str(STATE / "nginx.conf")
        subprocess.run(["nginx", "-c", conf, "-p", str(STATE), "-s", "reload"], check=True)
        time.sleep(1.5)  # old workers finish, new ones take the new configuration

    # the ceiling (and the skeleton) behind the same nginx
    def start_bench(self, skeleton: bool = False) -> None:
        """The bare insert of ``benchmarks/ceiling.py`` at ``CEILING_PATH`` and, with
        ``skeleton``, the textbook form of ``benchmarks/skeleton.py`` under its prefix:
        each served by as many gunicorn masters as the service, with its settings."""
        import ceiling
        import skeleton as textbook

        from survey_app import create_app  # noqa: F401  (the app's engine options)

        url = self.database_url.replace("postgresql://", "postgresql+psycopg://")
        apps = [("ceiling", ceiling, f"location = {CEILING_PATH}", "/insert")]
        if skeleton:
            apps.append(("skeleton", textbook, f"location {textbook.PREFIX}/", ""))
        extra = STATE / "nginx.d"
        extra.mkdir(exist_ok=True)
        for name, module, location, target in apps:
            bare = module.create_app(url)
            with bare.app_context():
                module.db.create_all()
                module.db.engine.dispose()
            ports = [self._start_bench_master(name) for _ in range(self.instances)]
            servers = "".join(f"    server 127.0.0.1:{p};\n" for p in ports)
            (extra / f"http-bench-{name}.conf").write_text(
                f"upstream bench_{name} {{\n{servers}}}\n"
            )
            (extra / f"server-bench-{name}.conf").write_text(
                f"{location} {{\n"
                f"    proxy_pass http://bench_{name}{target};\n"
                "    proxy_set_header Host $host;\n"
                "    proxy_set_header X-Forwarded-For $remote_addr;\n"
                "    proxy_set_header X-Forwarded-Proto $scheme;\n"
                "    proxy_set_header X-Request-ID $request_id;\n"
                "}\n"
            )
        self.reload_nginx()
        checks = [("POST", CEILING_PATH, urlencode({"q_x": "5"}), 204)]
        if skeleton:
            checks.append(("GET", f"{textbook.PREFIX}/s", None, 200))
        for method, path, body, expected in checks:
            for _ in range(200):
                try:
                    if self.request(method, path, body)[0] == expected:
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            else:
                raise RuntimeError(f"{path} did not answer through nginx")

    def _start_bench_master(self, name: str) -> int:
        port = free_port()
        env = gunicorn_environment(
            DATABASE_URL=self.database_url,
            BEHIND_PROXY="1",  # the instances' gunicorn settings (gunicorn.conf.py)
            WEB_CONCURRENCY=str(self.workers_per_instance()),
            BIND=f"127.0.0.1:{port}",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]),
        )
        log = open(STATE / "log" / f"{name}-{port}.log", "w")  # noqa: SIM115
        self.bench.setdefault(name, []).append(
            subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py")]
                + ["--no-control-socket", f"{name}:create_app()"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        )
        return port

    def stop_bench(self) -> None:
        for path in (STATE / "nginx.d").glob("*-bench-*.conf"):
            path.unlink(missing_ok=True)
        if self.bench and (STATE / "run" / "nginx.pid").exists():
            self.reload_nginx()
        for process in (p for masters in self.bench.values() for p in masters):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.bench = {}

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            all_headers = dict(headers or {})
            if body is not None:
                all_headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()


# -- CPU of the stack's parts ----------------------------------------------------------------
def tree_cpu(pids: list[int]) -> float:
    return sum(process_cpu(p) + sum(process_cpu(c) for c in children(p)) for p in pids)


def postgres_cpu() -> dict[int, float]:
    """CPU so far of the PostgreSQL backends serving the stack's database (user and
    database ``survey``; the test server's databases have other names)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if title.startswith("postgres: survey survey "):
                found[int(entry.name)] = process_cpu(int(entry.name))
    return found


@dataclass
class Run:
    kind: str  # "real" or "ceiling"
    instances: int
    round: int
    client: dict
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, per part
    machine: tuple[float, float] = (0.0, 0.0)  # busy, total CPU seconds
    load: str = ""

    @property
    def rps(self) -> float:
        return self.client["requests"] / self.client["seconds"]

    @property
    def completes(self) -> float:
        return self.client["completed"] / self.client["seconds"]


def measure(stack: Stack, kind: str, round_: int, args, settings: dict) -> Run:
    settings = {
        **settings,
        "base": f"http://127.0.0.1:{stack.port}",
        "clients": args.clients,
        "warmup": args.warmup,
        "duration": args.seconds,
        "maxRequests": args.max_requests,
    }
    app_pids = stack.masters() if kind == "real" else [p.pid for p in stack.bench[kind]]
    busy0, total0 = machine_busy()
    app0, nginx0, pg0 = tree_cpu(app_pids), tree_cpu([stack.nginx()]), postgres_cpu()
    done = subprocess.run(
        [args.node, str(CLIENT)],
        input=json.dumps(settings),
        capture_output=True,
        text=True,
        timeout=args.warmup + args.seconds + 120,
        check=False,
    )
    app1, nginx1, pg1 = tree_cpu(app_pids), tree_cpu([stack.nginx()]), postgres_cpu()
    busy1, total1 = machine_busy()
    if done.returncode != 0:
        raise RuntimeError(f"the load client failed:\n{done.stderr[-3000:]}")
    client = json.loads(done.stdout)
    cpu = {
        "client": client["cpuSeconds"],
        "nginx": nginx1 - nginx0,
        "gunicorn": app1 - app0,
        "PostgreSQL": sum(c - pg0.get(p, 0.0) for p, c in pg1.items()),
    }
    return Run(
        kind, stack.instances, round_, client, cpu, (busy1 - busy0, total1 - total0), load_average()
    )


# -- part 1: submissions ---------------------------------------------------------------------
def submissions(stack: Stack, args) -> list[Run]:
    q = load_questionnaire(SHIPPED_DIR / f"{SURVEY}.yaml")
    real = {
        "mode": "survey",
        "path": f"/s/{SURVEY}",
        "pages": [urlencode(form) for form in page_forms(q)],
    }
    bare = {"mode": "ceiling", "path": CEILING_PATH, "body": urlencode(ceiling_form(q))}
    textbook = {**real, "path": f"{skeleton.PREFIX}/s"}
    runs = []
    stack.start_bench(skeleton=args.skeleton)
    try:
        for n in range(1, args.rounds + 1):
            runs.append(measure(stack, "real", n, args, real))
            if args.skeleton:
                runs.append(measure(stack, "skeleton", n, args, textbook))
            runs.append(measure(stack, "ceiling", n, args, bare))
    finally:
        stack.stop_bench()
    return runs


def print_submissions(runs: list[Run], args) -> None:
    print(
        f"\n{SURVEY} through nginx: {args.clients} clients, {args.rounds} round(s) of "
        f"{args.seconds:g} s after {args.warmup:g} s of warm-up; gunicorn.conf.py workers "
        f"(about 2 per core shared by the instances); {os.cpu_count()} cores"
    )
    head = (
        f"{'instances':>9s}  {'':10s}{'responses/s':>11s} {'requests/s':>10s} {'p50 ms':>7s} "
        f"{'p95 ms':>7s} {'p99 ms':>7s} {'errors':>6s}  {'ratio':>5s}  load avg"
    )
    print(head)
    print("-" * len(head))
    for n in sorted({r.instances for r in runs}):
        mine = [r for r in runs if r.instances == n]
        ceilings = {r.round: r for r in mine if r.kind == "ceiling"}
        for r in mine:
            ratio = (
                f"{r.rps / ceilings[r.round].rps:5.2f}"
                if r.kind != "ceiling" and r.round in ceilings
                else ""
            )
            shown = f"{r.completes:11.1f}" if r.kind != "ceiling" else f"{'':11s}"
            lat = {k: v if v is not None else float("nan") for k, v in r.client["all"].items()}
            print(
                f"{n:9d}  {r.kind + ' ' + str(r.round):10s}{shown} {r.rps:10.0f} "
                f"{lat['p50']:7.1f} {lat['p95']:7.1f} {lat['p99']:7.1f} "
                f"{r.client['errors']:6d}  {ratio:>5s}  {r.load}"
            )
        ceils = [r for r in mine if r.kind == "ceiling"]
        textbook = [r for r in mine if r.kind == "skeleton"]
        if textbook and ceils:
            ratio = statistics.median(r.rps for r in textbook) / statistics.median(
                r.rps for r in ceils
            )
            p99 = statistics.median(r.client["all"]["p99"] for r in textbook)
            print(
                f"{n:9d}  median: skeleton (textbook Flask-WTF form) / ceiling {ratio:.2f}, "
                f"p99 {p99:.0f} ms"
            )
        reals = [r for r in mine if r.kind == "real"]
        if reals and ceils:
            ratio = statistics.median(r.rps for r in reals) / statistics.median(
                r.rps for r in ceils
            )
            p99 = statistics.median(r.client["all"]["p99"] for r in reals)
            errors = sum(r.client["errors"] for r in mine)
            print(
                f"{n:9d}  median: real path / ceiling {ratio:.2f} (goal >= 0.70), real path "
                f"p99 {p99:.0f} ms (goal < 100), errors {errors} (goal 0)"
            )
    print(
        "\nwhere the CPU went while each ran (warm-up included), as a share of the machine's "
        "2 cores; CPU ms per request of each part:"
    )
    for r in runs:
        busy, total = r.machine
        shares = "  ".join(f"{k} {v / total:4.0%}" for k, v in r.cpu.items())
        other = max(busy - sum(r.cpu.values()), 0) / total
        per = "  ".join(
            f"{k} {v / max(r.client['allRequests'], 1) * 1e3:.2f}" for k, v in r.cpu.items()
        )
        print(
            f"  {r.instances} inst. {r.kind:8s} {r.round}: {shares}  other {other:4.0%}  "
            f"idle {1 - busy / total:4.0%}  | ms/request: {per}"
        )
    for r in runs:
        if r.client["errors"]:
            print(f"\n{r.instances} instance(s), {r.kind} {r.round}: errors, for example:")
            for kind, example in list(r.client["errorKinds"].items())[:5]:
                print(f"  {kind}: {example}")


# -- part 2: a large survey under a steady submission load ----------------------------------
def complete_count(stack: Stack) -> int:
    import psycopg

    with psycopg.connect(stack.database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM response WHERE survey_id = %s AND status = 'complete'",
            (SURVEY,),
        ).fetchone()[0]


def fill(stack: Stack, n: int) -> None:
    """COPY ``n`` simulated complete responses of the last 180 days in, in pieces."""
    import numpy as np
    import psycopg

    from analysis.simulate import simulate_responses
    from survey_app.storage import encode_frame

    q = load_questionnaire(SHIPPED_DIR / f"{SURVEY}.yaml")
    with psycopg.connect(stack.database_url) as conn:
        version = conn.execute(
            "SELECT id FROM questionnaire_version WHERE survey_id = %s ORDER BY number DESC",
            (SURVEY,),
        ).fetchone()[0]
        now = datetime.now(UTC)
        run = int(time.time())  # keys unique across runs that add more
        piece = 100_000
        for start in range(0, n, piece):
            count = min(piece, n - start)
            frame = simulate_responses(q, count, seed=11 + start)
            matrix = encode_frame(q, frame)
            texts = frame[[c.name for c in q.text_columns]].to_dict("records")
            rng = np.random.default_rng(12 + start)
            ages = rng.uniform(3600, 180 * 24 * 3600, count)
            langs = rng.choice(["zh", "en"], size=count)
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY response (survey_id, version_id, key, status, page, lang, answers, "
                    "texts, preset, test, created_at, updated_at, completed_at) FROM STDIN"
                ) as copy,
            ):
                for i in range(count):
                    done = now - timedelta(seconds=float(ages[i]))
                    row_texts = {k: v for k, v in texts[i].items() if isinstance(v, str)}
                    copy.write_row(
                        (
                            SURVEY,
                            version,
                            f"load-{run}-{start + i}",
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
            print(f"  {start + count:,} responses loaded", flush=True)
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE response")


class Browser:
    """A manager's browser through nginx: cookies kept, redirects returned."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.cookies = stack, {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = urlencode(form, doseq=True) if form is not None else None
        status, response_headers, data = self.stack.request(method, path, body, headers)
        for header in response_headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return status, response_headers, data

    def csrf(self, html: bytes) -> str:
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', html)
        if not match:
            raise RuntimeError("no CSRF token on the page")
        return match.group(1).decode()

    def login(self, account: tuple[str, str] = ("", "")) -> None:
        _, _, html = self.request("GET", "/login")
        email, password = account if account[0] else MANAGER
        form = {"csrf_token": self.csrf(html), "email": email, "password": password}
        status, headers, _ = self.request("POST", "/login", form)
        if status != 302:
            raise RuntimeError(f"the manager's login answered {status}")


def timed_page(browser: Browser, query: str = "", limit: float = 300) -> tuple[float, float]:
    """(the first request's time, the time until the page shows the report; NaN if it
    did not within ``limit`` seconds)."""
    start = time.perf_counter()
    first = None
    while True:
        t = time.perf_counter()
        status, _, html = browser.request("GET", f"/reports/{SURVEY}{query}")
        if first is None:
            first = time.perf_counter() - t
        if status != 200:
            raise RuntimeError(f"the report page answered {status}")
        if b'id="report-n"' in html:
            return first, time.perf_counter() - start
        if time.perf_counter() - start > limit:
            return first, float("nan")
        time.sleep(0.2)


def gunicorn_masters(reports: bool = True) -> list[int]:
    """Each instance's master, then the reports' process's unless ``reports`` is false."""
    run = STATE / "run"
    files = [*sorted(run.glob("gunicorn-*.pid")), *(run.glob("reports.pid") if reports else [])]
    return [int(p.read_text()) for p in files]


def worker_rss() -> dict[int, float]:
    """Resident MB of each worker of the instances (where exports run; the reports'
    process, which holds the report frames, is not one of them)."""
    found = {}
    for master in gunicorn_masters(reports=False):
        for pid in children(master):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        found[pid] = int(line.split()[1]) / 1024
            except FileNotFoundError:
                pass
    return found


def export_csv(browser: Browser) -> dict:
    """The export page's CSV of every response: job started, progress polled, file
    downloaded; time and the largest worker's memory growth meanwhile."""
    _, _, html = browser.request("GET", f"/staff/surveys/{SURVEY}/export")
    form = {"csrf_token": browser.csrf(html), "fmt": "csv", "layout": "wide"}
    for name in ("lang", "version"):
        select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>'.encode(), html, re.S)
        if select:
            chosen = re.search(rb'<option selected value="([^"]*)"', select.group(1)) or re.search(
                rb'<option[^>]*value="([^"]*)"', select.group(1)
            )
            form[name] = chosen.group(1).decode() if chosen else ""
    before = worker_rss()
    peak: dict[int, float] = dict(before)
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid, mb in worker_rss().items():
                peak[pid] = max(peak.get(pid, 0.0), mb)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        status, headers, body = browser.request("POST", f"/staff/surveys/{SURVEY}/export", form)
        if status != 302:
            raise RuntimeError(f"the export form answered {status}: {body[:300]!r}")
        job = urllib.parse.urlsplit(headers["Location"]).path
        while True:
            status, _, body = browser.request("GET", f"{job}/status")
            state = json.loads(body)
            if state["status"] == "done":
                break
            if state["status"] == "failed":
                raise RuntimeError(f"the export failed: {state['error']}")
            if time.perf_counter() - start > 900:
                raise RuntimeError("the export did not finish in 900 s")
            time.sleep(0.5)
        written = time.perf_counter() - start
        status, _, data = browser.request("GET", state["file"])
        if status != 200:
            raise RuntimeError(f"the export's file answered {status}")
    finally:
        stop.set()
        sampler.join()
    growth = max((peak[p] - before.get(p, peak[p])) for p in peak) if peak else 0.0
    return {
        "seconds": time.perf_counter() - start,
        "written": written,
        "rows": state["result"]["rows"],
        "mb": len(data) / 1e6,
        "growth_mb": growth,
        "peak_mb": max(peak.values()) if peak else 0.0,
    }


def replica_reads(stack: Stack) -> tuple[int, int] | None:
    """(transactions, rows returned) so far by the replica's ``survey`` database."""
    if not stack.replica:
        return None
    import psycopg

    with psycopg.connect(stack.replica_url) as conn:
        return conn.execute(
            "SELECT xact_commit + xact_rollback, tup_returned FROM pg_stat_database "
            "WHERE datname = 'survey'"
        ).fetchone()


def replica_lag(stack: Stack) -> str:
    import psycopg

    superuser = (STATE / "pg_superuser").read_text().strip()
    url = f"postgresql://postgres:{superuser}@127.0.0.1:5433/postgres"
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT max(replay_lag) FROM pg_stat_replication").fetchone()
    return str(row[0]) if row and row[0] is not None else "0 (idle)"


def large(stack: Stack, args) -> dict:
    have = complete_count(stack)
    if have < args.responses:
        print(f"\nloading {args.responses - have:,} responses (once; later runs reuse them)")
        start = time.perf_counter()
        fill(stack, args.responses - have)
        print(f"  loaded in {time.perf_counter() - start:.0f} s")
    for (email, password), role in ((MANAGER, "manager"), (RESEARCHER, "researcher")):
        stack.flask(
            "create-user", email, "--role", role, "--unit", "default", "--personal",
            stdin=password + "\n", check=False,
        )  # fmt: skip
    if stack.replica:  # the replica has replayed the load before anything is timed
        deadline = time.time() + 300
        import psycopg

        while time.time() < deadline:
            with psycopg.connect(stack.replica_url) as conn:
                if conn.execute("SELECT count(*) FROM response").fetchone()[0] >= args.responses:
                    break
            time.sleep(2)
    q = load_questionnaire(SHIPPED_DIR / f"{SURVEY}.yaml")
    background = {
        "mode": "survey",
        "path": f"/s/{SURVEY}",
        "pages": [urlencode(form) for form in page_forms(q)],
        "base": f"http://127.0.0.1:{stack.port}",
        "clients": 32,
        "warmup": 0,
        "duration": 3600,
        "maxRequests": 0,
        "rate": args.rate,
    }
    shutil.rmtree(ROOT / "instance" / "reports" / SURVEY, ignore_errors=True)
    settings = STATE / "log" / "background-client.json"
    settings.write_text(json.dumps(background))
    with settings.open() as stdin:
        client = subprocess.Popen(
            [args.node, str(CLIENT)],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    out: dict = {"loads": []}
    reads0 = replica_reads(stack)
    try:
        time.sleep(5)  # the submissions reach their pace
        browser = Browser(stack)
        browser.login()
        out["loads"].append(load_average())
        out["cold"] = timed_page(browser)
        print(f"  (no cache: first request {out['cold'][0]:.2f} s, shown {out['cold'][1]:.2f} s)")
        filters = ["?tier=A", "?region=north", "?tier=B&region=east"]
        out["filters"] = []
        for query in filters:
            out["filters"].append(timed_page(browser, query, args.step_limit)[1])
            print(f"  (filter {query}: shown {out['filters'][-1]:.2f} s)", flush=True)
        out["loads"].append(load_average())
        for master in stack.masters():  # fresh workers: nothing in memory, the disk cache
            os.kill(master, signal.SIGHUP)
        time.sleep(8)
        out["disk"] = timed_page(browser, "", args.step_limit)
        print(f"  (fresh workers: shown {out['disk'][1]:.2f} s)", flush=True)
        out["loads"].append(load_average())
        researcher = Browser(stack)  # managers may not export; researchers may
        researcher.login(RESEARCHER)
        out["export"] = export_csv(researcher)
        print(f"  (export: {out['export']})", flush=True)
        out["loads"].append(load_average())
        out["after_export"] = timed_page(browser, "?tier=B", args.step_limit)
        out["lag"] = replica_lag(stack) if stack.replica else None
    finally:
        client.terminate()
        summary, errors = client.communicate(timeout=120)
    reads1 = replica_reads(stack)
    if reads0 is not None and reads1 is not None:
        out["replica_reads"] = (reads1[0] - reads0[0], reads1[1] - reads0[1])
    if not summary.strip():
        raise RuntimeError(f"the background client printed nothing:\n{errors[-2000:]}")
    out["background"] = json.loads(summary)
    out["count"] = complete_count(stack)
    return out


def print_large(out: dict, stack: Stack, args) -> None:
    bg = out["background"]
    lat = bg["all"]
    where = ", reports and exports on the replica" if stack.replica else ""
    print(
        f"\n{out['count']:,} complete responses of {SURVEY}, through nginx, "
        f"{stack.instances} instance(s){where}; "
        f"meanwhile {bg['completed'] / bg['seconds']:.1f} responses/s submitted "
        f"(asked {args.rate:g}/s; p50 {lat['p50']:.0f} ms, p99 {lat['p99']:.0f} ms, "
        f"errors {bg['errors']})"
    )
    export = out["export"]
    rows = [
        ("report page, no cache: first request", out["cold"][0], "< 3 s (waits 2 s)"),
        ("report page, no cache: report shown", out["cold"][1], "< 10 s"),
        ("filter: one segment, computed ahead (tier=A)", out["filters"][0], "< 0.5 s"),
        ("filter: one segment (region=north)", out["filters"][1], "< 0.5 s"),
        ("filter: two segments (tier=B&region=east)", out["filters"][2], "< 0.5 s"),
        ("fresh workers, disk cache: report shown", out["disk"][1], "< 3 s"),
        ("filter change after the export", out["after_export"][1], "< 0.5 s"),
        (f"CSV export of {export['rows']:,} rows: written", export["written"], "< 60 s"),
        (f"  and downloaded ({export['mb']:.0f} MB)", export["seconds"], ""),
    ]
    print(
        f"{'measurement':44s} {'seconds':>8s}  goal (issues 7 and 6); nan: not shown within "
        f"{args.step_limit:g} s"
    )
    for label, seconds, goal in rows:
        print(f"{label:44s} {seconds:8.2f}  {goal}")
    print(
        f"export: the largest worker grew by {export['growth_mb']:.0f} MB (peak "
        f"{export['peak_mb']:.0f} MB resident; goal < 300 MB peak)"
    )
    print("filters:", ", ".join(f"{s:.2f}" for s in out["filters"]))
    print("load average (1, 5, 15 min) during the steps:", " | ".join(out["loads"]))
    if "replica_reads" in out:
        xacts, rows_ = out["replica_reads"]
        print(
            f"replica: {xacts:,} transactions and {rows_:,} rows read there meanwhile; "
            f"replay lag at the end {out['lag']}"
        )
    if bg["errors"]:
        print("background submission errors, for example:")
        for kind, example in list(bg["errorKinds"].items())[:5]:
            print(f"  {kind}: {example}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10, help="measured, each run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds, each run")
    parser.add_argument("--rounds", type=int, default=2, help="of real path, then ceiling")
    parser.add_argument("--max-requests", type=int, default=100_000, help="per run")
    parser.add_argument("--responses", type=int, default=1_000_000, help="of the large survey")
    parser.add_argument("--rate", type=float, default=50, help="responses/s meanwhile")
    parser.add_argument("--replica", action="store_true", help="reports read a replica")
    parser.add_argument(
        "--step-limit", type=float, default=120, help="seconds a filter or page may take"
    )
    parser.add_argument("--skip-submissions", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument(
        "--skeleton",
        action="store_true",
        help="also measure benchmarks/skeleton.py (a textbook Flask-WTF form) each round",
    )
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--node", default=shutil.which("node") or "node")
    args = parser.parse_args()

    stack = Stack(args.port, args.replica)
    print(f"started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{load_average()} (a shared machine: other sessions run tests meanwhile)")  # fmt: skip
    runs: list[Run] = []
    # a stack left running (--keep) may run older code: a second `up` keeps its masters
    subprocess.run(["bash", "scripts/production.sh", "down"], cwd=ROOT, capture_output=True)
    try:
        for n in args.instances:
            stack.up(n)
            stack.flask("load-questionnaire", f"questionnaires/{SURVEY}.yaml")
            if not args.skip_submissions:
                runs += submissions(stack, args)
        if runs:
            print_submissions(runs, args)
        if not args.skip_large:
            out = large(stack, args)
            print_large(out, stack, args)
    finally:
        if not args.keep:
            stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
