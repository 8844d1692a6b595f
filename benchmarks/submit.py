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
import runpy
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
def fresh_postgres(server_url: str) -> tuple[str, str]:
    """Drop and create the benchmark's own database on the server: its URL, and the
    server's version."""
    import psycopg

    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
    url = re.sub(r"/[^/?]*(\?|$)", f"/{BENCH_DATABASE}\\1", database_url(plain), count=1)
    return url, version


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
        """The lines of gunicorn's log from its first error or traceback on (at most 40)."""
        lines = self.log.read_text(errors="replace").splitlines()
        first = next(
            (i for i, line in enumerate(lines) if "[ERROR]" in line or "Traceback" in line), None
        )
        return [] if first is None else lines[first : first + 40]


def gunicorn_environment(**settings: str) -> dict[str, str]:
    """This process's environment for a benchmark's gunicorn, with ``settings``: without
    the worker settings and trusted hosts a shell may have exported for the service, which
    would override the benchmark's own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TRUSTED_HOSTS", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")
    }
    env.update(settings)
    return env


@contextmanager
def gunicorn(
    app: str, url: str, args: argparse.Namespace, log: Path, root: Path = ROOT
) -> Iterator[Server]:
    """Serve ``app`` of the checkout at ``root`` with this checkout's gunicorn settings;
    stop it (and only it) after."""
    port = free_port()
    env = gunicorn_environment(
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        SURVEY_BASE_URL=f"http://127.0.0.1:{port}",
        PYTHONPATH=os.pathsep.join([str(root), str(ROOT / "benchmarks")]),
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        *(["--workers", str(args.workers)] if args.workers else []),
        *(["--worker-class", args.worker_class] if args.worker_class else []),
        *(["--threads", str(args.threads)] if args.threads else []),
        app,
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=out, start_new_session=True
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


def postgres_cpu() -> dict[int, float]:
    """CPU time so far of each PostgreSQL backend serving the benchmark's database (its
    process title names the database; other users of the server are left out)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if title.startswith("postgres:") and f" {BENCH_DATABASE} " in title:
                found[int(entry.name)] = process_cpu(int(entry.name))
    return found


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU time used between two readings by the processes alive at the second."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) of the whole machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


# -- one measurement ---------------------------------------------------------------------------
@dataclass
class Result:
    kind: str  # "real", "baseline" or "ceiling"
    round: int
    client: dict
    server_cpu: float
    database_cpu: float
    machine_cpu: float
    machine_total: float
    server_problems: list[str]

    @property
    def name(self) -> str:
        return NAMES[self.kind]

    @property
    def rps(self) -> float:
        return self.client["requests"] / self.client["seconds"]

    @property
    def completes(self) -> float:
        return self.client["completed"] / self.client["seconds"]

    def share(self, seconds: float) -> float:
        return seconds / (self.machine_total or 1)

    @property
    def ms_per_request(self) -> float:
        """gunicorn's CPU time (master and workers) per request served."""
        return self.server_cpu / max(self.client["allRequests"], 1) * 1e3

    @property
    def stack_ms_per_request(self) -> float:
        """CPU time per request of everything serving it: gunicorn, the PostgreSQL
        backends of the benchmark's database, and the load client."""
        spent = self.server_cpu + self.database_cpu + self.client["cpuSeconds"]
        return spent / max(self.client["allRequests"], 1) * 1e3


NAMES = {"baseline": "real path (baseline)", "real": "real path", "ceiling": "ceiling"}


def measure(
    kind: str, n: int, url: str, args: argparse.Namespace, settings: dict, root: Path = ROOT
) -> Result:
    app = "ceiling:create_app()" if kind == "ceiling" else "survey_app:create_app()"
    with tempfile.NamedTemporaryFile(suffix=".log", delete=False) as f:
        log = Path(f.name)
    try:
        with gunicorn(app, url, args, log, root) as server:
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
                kind,
                n,
                json.loads(done.stdout),
                cpu1 - cpu0,
                cpu_since(pg0, pg1),
                busy1 - busy0,
                total1 - total0,
                server.problems(),
            )
    finally:
        log.unlink(missing_ok=True)


def gunicorn_settings(args: argparse.Namespace) -> str:
    """The workers the runs used: gunicorn.conf.py's, unless given on the command line."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    workers = args.workers or conf["workers"]
    kind = args.worker_class or conf.get("worker_class", "sync")
    threads = args.threads or conf.get("threads", 1)
    return f"{workers} {kind} workers" + (f" x {threads} threads" if kind == "gthread" else "")


def report(results: list[Result], args: argparse.Namespace, backend: str) -> None:
    print(
        f"\n{SURVEY}: {args.clients} clients; gunicorn, {gunicorn_settings(args)}; {backend}; "
        f"{os.cpu_count()} cores; {args.rounds} round(s) of {args.seconds:g} s measured after "
        f"{args.warmup:g} s of warm-up\n"
    )
    head = (
        f"{'':30s} {'complete/s':>10s} {'requests/s':>10s} {'p50 ms':>8s} {'p95 ms':>8s} "
        f"{'p99 ms':>8s} {'errors':>7s}"
    )
    print(head)
    print("-" * len(head))

    def row(label: str, completes: float | None, rps: float, lat: dict, errors: int) -> None:
        shown = f"{completes:10.1f}" if completes is not None else f"{'':>10s}"
        print(
            f"{label:30s} {shown} {rps:10.0f} {lat['p50']:8.1f} {lat['p95']:8.1f} "
            f"{lat['p99']:8.1f} {errors:7d}"
        )

    for r in results:
        label = f"{r.name}, round {r.round}" if args.rounds > 1 else r.name
        row(label, None if r.kind == "ceiling" else r.completes, r.rps, r.client["all"], 0)
        if r.client["errors"]:
            print(f"{'':30s} ^ {r.client['errors']} errors")
    kinds = [k for k in NAMES if any(r.kind == k for r in results)]
    medians = {}
    for kind in kinds:
        runs = [r for r in results if r.kind == kind]
        medians[kind] = statistics.median(r.rps for r in runs)
        if args.rounds > 1:
            row(
                f"{NAMES[kind]}, median",
                None if kind == "ceiling" else statistics.median(r.completes for r in runs),
                medians[kind],
                {p: statistics.median(r.client["all"][p] for r in runs) for p in PERCENTILES},
                sum(r.client["errors"] for r in runs),
            )
    print()
    for kind in ("baseline", "real"):
        if kind in medians and "ceiling" in medians:
            per_round = [
                r.rps / c.rps
                for r in results
                if r.kind == kind
                for c in results
                if c.kind == "ceiling" and c.round == r.round
            ]
            spread = " (rounds: " + ", ".join(f"{x:.2f}" for x in per_round) + ")"
            print(
                f"requests/s, {NAMES[kind]} / ceiling: {medians[kind] / medians['ceiling']:.2f}"
                f"{spread if len(per_round) > 1 else ''}; goal: at least 0.70"
            )
    if "baseline" in medians and "real" in medians:
        print(f"requests/s, real path / baseline: {medians['real'] / medians['baseline']:.2f}")
    cost = {
        kind: statistics.median(r.stack_ms_per_request for r in results if r.kind == kind)
        for kind in kinds
    }
    print(
        "\nCPU time per request (gunicorn, PostgreSQL backends and client; median): "
        + ", ".join(f"{NAMES[k]} {v:.2f} ms" for k, v in cost.items())
    )
    for kind in ("baseline", "real"):
        if kind in cost and "ceiling" in cost:
            print(
                f"  ceiling / {NAMES[kind]}: {cost['ceiling'] / cost[kind]:.2f}, the ratio of "
                "requests/s to expect when nothing else runs on the machine"
            )
    print(
        "\nCPU while each ran (warm-up included), as a share of the machine, and gunicorn's "
        "CPU time per request; 'other' is everything else on the machine:"
    )
    for r in results:
        label = f"{r.name}, round {r.round}" if args.rounds > 1 else r.name
        client = r.share(r.client["cpuSeconds"])
        server, database = r.share(r.server_cpu), r.share(r.database_cpu)
        other = max(r.share(r.machine_cpu) - client - server - database, 0)
        print(
            f"  {label:30s} client {client:4.0%}  gunicorn {server:4.0%}  PostgreSQL "
            f"{database:4.0%}  other {other:4.0%}  idle {1 - r.share(r.machine_cpu):4.0%}"
            f"  | {r.ms_per_request:5.2f} ms/request"
        )
    for r in results:
        if r.client["errors"]:
            print(f"\n{r.name}, round {r.round}: {r.client['errors']} errors, for example:")
            for kind, example in list(r.client["errorKinds"].items())[:5]:
                print(f"  {kind}: {example}")
        if r.server_problems:
            print(f"\n{r.name}, round {r.round}: gunicorn logged errors, the first:")
            for line in r.server_problems:
                print(f"  {line}")


PERCENTILES = ("p50", "p95", "p99")


def database(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """(URL, description, temporary folder) of the benchmark's fresh database."""
    if args.sqlite:
        tmp = tempfile.mkdtemp(prefix="submit-bench-")
        return f"sqlite:///{tmp}/submit.sqlite", "SQLite", tmp
    if not args.postgres:
        sys.exit("give --postgres URL (or set TEST_POSTGRES_URL), or --sqlite")
    url, version = fresh_postgres(args.postgres)
    return url, f"PostgreSQL {version} on loopback", None


def run_http(args: argparse.Namespace) -> None:
    url, backend, tmp = database(args)
    try:
        q = prepare(url)
        real = {"mode": "survey", "path": f"/s/{SURVEY}"}
        real["pages"] = [urlencode(form) for form in page_forms(q)]
        bare = {"mode": "ceiling", "path": "/insert", "body": urlencode(ceiling_form(q))}
        results = []
        for n in range(1, args.rounds + 1):
            if args.baseline:
                results.append(measure("baseline", n, url, args, real, args.baseline))
            if args.only != "ceiling":
                results.append(measure("real", n, url, args, real))
            if args.only != "real":
                results.append(measure("ceiling", n, url, args, bare))
        report(results, args, backend)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# -- in-process: the application's own CPU time per request, no HTTP -----------------------
class CpuProfile:
    """Where the app's CPU time goes: every millisecond of this process's CPU time
    (SIGPROF) the stack is sampled. A sample is filed under the library that the
    innermost frame of the app's own code called into (a query made by a view is SQL),
    under the app's own code when it is running itself, and, outside any code of the
    app (Flask's own before and after request work), under the outermost library
    running. Samples outside the app (the test client) are left out."""

    LIBRARIES = (
        ("SQL: SQLAlchemy, psycopg", ("/sqlalchemy/", "/psycopg/", "/flask_sqlalchemy/")),
        ("templates: Jinja", ("/jinja2/", "/markupsafe/", "/templates/")),
        ("forms and CSRF: WTForms, Flask-WTF", ("/wtforms/", "/flask_wtf/")),
        ("signed cookie and keys: Flask session, itsdangerous", ("/sessions.py", "/itsdangerous/")),
        ("rate limits: Flask-Limiter", ("/flask_limiter/", "/limits/")),
        ("language: Flask-Babel", ("/flask_babel/", "/babel/")),
        ("staff login: Flask-Login", ("/flask_login/",)),
    )
    OWN = ("/survey_app/", "/questionnaires/", str(Path(__file__).parent / "ceiling.py"))

    def __init__(self) -> None:
        self.samples: dict[str, int] = {}

    def _file(self, files: list[str]) -> str:
        """The label of a sample whose stack is ``files``, outermost first."""
        own = [i for i, name in enumerate(files) if any(part in name for part in self.OWN)]
        for name in files[own[-1] + 1 if own else 0 :]:
            for label, parts in self.LIBRARIES:
                if any(part in name for part in parts):
                    return label
        if own:
            return "own code: views, services, storage, questionnaires"
        return "Flask, Werkzeug: request handling"

    def _sample(self, signum, frame) -> None:
        files = []
        while frame is not None:
            files.append(frame.f_code.co_filename)
            if frame.f_code.co_name == "wsgi_app" and frame.f_code.co_filename.endswith(
                "flask/app.py"
            ):
                label = self._file(files[::-1])
                self.samples[label] = self.samples.get(label, 0) + 1
                return
            frame = frame.f_back

    @contextmanager
    def sampling(self) -> Iterator[None]:
        previous = signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, 0.001, 0.001)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
            signal.signal(signal.SIGPROF, previous)

    def shares(self) -> dict[str, float]:
        total = sum(self.samples.values()) or 1
        return {label: n / total for label, n in self.samples.items()}


def run_in_process(args: argparse.Namespace) -> None:
    """Complete responses through the Flask test client, one after the other, and as
    many posts to the ceiling's view; CPU time of this process, best of three batches."""
    import ceiling

    url, backend, tmp = database(args)
    try:
        q = prepare(url)
        app = create_app(Config, {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY})
        bare = ceiling.create_app(url).test_client()
        body = urlencode(ceiling_form(q))
        forms = page_forms(q)
        hidden = re.compile(r'name="(csrf_token|rk)" type="hidden" value="([^"]+)"')

        def timed(times: dict, kind: str, call, *args, **kwargs):
            start = time.process_time()
            response = call(*args, **kwargs)
            times[kind] += time.process_time() - start
            return response

        def responses(count: int) -> dict[str, float]:
            times = {"GET": 0.0, "POST": 0.0}
            for _ in range(count):
                client = app.test_client()
                path = f"/s/{SURVEY}"
                for number, form in enumerate(forms, start=1):
                    html = timed(times, "GET", client.get, path).get_data(as_text=True)
                    data = {**dict(hidden.findall(html)), "page": number, "nav": "next", **form}
                    response = timed(times, "POST", client.post, path, data=data)
                    if response.status_code != 302:
                        raise RuntimeError(response.get_data(as_text=True)[:500])
                    path = response.headers["Location"]
                if timed(times, "GET", client.get, path).status_code != 200:
                    raise RuntimeError("no thank-you page")
            gets, posts = count * (len(forms) + 1), count * len(forms)
            return {
                "GET": times["GET"] / gets,
                "POST": times["POST"] / posts,
                "all": (times["GET"] + times["POST"]) / (gets + posts),
            }

        def inserts(count: int) -> float:
            start = time.process_time()
            for _ in range(count):
                response = bare.post(
                    "/insert", data=body, content_type="application/x-www-form-urlencoded"
                )
                if response.status_code != 204:
                    raise RuntimeError(response.get_data(as_text=True)[:500])
            return (time.process_time() - start) / count

        responses(max(args.in_process // 10, 2))  # warm up: templates, caches, pool
        inserts(100)
        batches = [
            (responses(args.in_process), inserts(args.in_process * (2 * len(forms) + 1)))
            for _ in range(3)
        ]  # interleaved, so that both sides see the same machine
        real = min((r for r, _ in batches), key=lambda t: t["all"])
        floor = min(f for _, f in batches)
        print(
            f"\n{SURVEY} in-process, {backend}: CPU time per request, best of 3 batches of "
            f"{args.in_process} complete responses (no HTTP server, one process)"
        )
        print(f"  real path, GET of a page or thanks  {real['GET'] * 1e3:6.2f} ms")
        print(f"  real path, POST of a page           {real['POST'] * 1e3:6.2f} ms")
        print(f"  real path, all requests             {real['all'] * 1e3:6.2f} ms")
        print(f"  ceiling, POST inserting one row     {floor * 1e3:6.2f} ms")
        print(f"  real path / ceiling                 {real['all'] / floor:6.2f} x")
        if args.profile:
            spent = {}
            for side, run, per_request in (
                ("real", lambda: responses(args.in_process), real["all"]),
                ("ceiling", lambda: inserts(args.in_process * (2 * len(forms) + 1)), floor),
            ):
                profile = CpuProfile()
                with profile.sampling():
                    run()
                spent[side] = {k: v * per_request for k, v in profile.shares().items()}
            print("\nwhere the app's CPU time goes, ms per request (sampled):")
            print(f"  {'':58s} {'real path':>9s} {'ceiling':>8s}")
            labels = sorted(
                set(spent["real"]) | set(spent["ceiling"]), key=lambda k: -spent["real"].get(k, 0)
            )
            for label in labels:
                print(
                    f"  {label:58s} {spent['real'].get(label, 0) * 1e3:9.2f} "
                    f"{spent['ceiling'].get(label, 0) * 1e3:8.2f}"
                )
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--worker-class", help="default: gunicorn.conf.py's")
    parser.add_argument("--threads", type=int, help="default: gunicorn.conf.py's")
    parser.add_argument("--seconds", type=float, default=10, help="measured, each run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds, each run")
    parser.add_argument("--rounds", type=int, default=3, help="of real path, then ceiling")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per run")
    parser.add_argument("--only", choices=("real", "ceiling"), help="measure one side only")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="another checkout (e.g. of main): its real path is measured in each round too",
    )
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--postgres", default=os.environ.get("TEST_POSTGRES_URL"))
    parser.add_argument("--node", default=shutil.which("node") or "node")
    parser.add_argument(
        "--profile", action="store_true", help="with --in-process: where the CPU time goes"
    )
    parser.add_argument(
        "--in-process",
        type=int,
        metavar="N",
        help="instead: CPU time per request in-process, batches of N complete responses",
    )
    args = parser.parse_args()
    if args.baseline:
        args.baseline = args.baseline.resolve()
    if args.in_process:
        run_in_process(args)
    else:
        run_http(args)


if __name__ == "__main__":
    main()
