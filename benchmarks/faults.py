"""Faults under load: nothing acknowledged is lost, nothing is stored twice.

Starts the production stack (``scripts/production.sh up --instances 2``), loads the
servqual-22 questionnaire and lets simulated customers take it through nginx while
faults happen: a gunicorn worker, a whole instance and the reports' process killed
with SIGKILL, PostgreSQL restarted, the database turned read-only, and the disk full
(SQLite on a small tmpfs, served by its own gunicorn). A customer whose request fails
sends the same form again (the same CSRF token and server-signed response key), as a
browser's reload does, until it is accepted or the run ends. Each scenario prints

    sent, acknowledged, stored, duplicates, lost

where *acknowledged* counts customers who saw the thank-you page, *stored* the complete
responses in the database, *duplicates* complete responses beyond one per customer, and
*lost* acknowledged customers whose response is not stored complete: lost and duplicates
must be 0, and the script exits 1 otherwise. It also checks that every failed request
was a 503 (never a 500 or a traceback), that ``/healthz`` says 503 with ``no-store`` while
the database is away, and that the service recovers by itself. For the reports' process
it checks that nginx sends report pages to it, to an instance while it is down, that
``status`` then exits 1 naming it, and that ``up`` brings it back and keeps the instances'
masters (same pids).

    python benchmarks/faults.py [--port 8090] [--customers 16] [--keep]

Needs root (or password-less sudo) for the Debian packages and the tmpfs; CI runs it.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from stack_checks import (
    PAGE_FIELDS,
    Browser,
    answered_by,
    check_external_database,
    print_checks,
    run_checks,
)

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "instance" / "production"
SURVEY = "servqual-22"


def run(*args: str, env: dict | None = None, check: bool = True) -> str:
    done = subprocess.run(
        args, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# -- customers -----------------------------------------------------------------------------
@dataclass
class Tally:
    sent: int = 0
    acknowledged: int = 0
    statuses: Counter = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)  # response keys of acknowledged customers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, code: int | str) -> None:
        with self.lock:
            self.statuses[code] += 1


class Customer:
    """One browser: cookies, the pages it was shown, forms sent again after a failure."""

    def __init__(self, port: int, answers: list[dict], tally: Tally, stop: threading.Event):
        self.answers, self.tally, self.stop = answers, tally, stop
        self.browser = Browser(port)

    def request(self, method: str, path: str, body: dict | None = None):
        status, headers, data = self.browser.request(method, path, body)
        return status, headers, data.decode("utf-8", "replace")

    def until_ok(self, method: str, path: str, body: dict | None, want: int):
        """Send until the answer is ``want`` (a reload after a failure); None if stopped."""
        while not self.stop.is_set():
            try:
                status, headers, text = self.request(method, path, body)
            except (OSError, http.client.HTTPException):
                status, headers, text = "connection", {}, ""
            if method == "POST":
                with self.tally.lock:
                    self.tally.sent += 1
            self.tally.status(status)
            if status == want:
                return status, headers, text
            if status == 500 or (isinstance(status, int) and "Traceback" in text):
                self.tally.status("traceback")
            time.sleep(0.3)
        return None

    def take(self) -> None:
        got = self.until_ok("GET", f"/s/{SURVEY}", None, 200)
        if got is None:
            return
        html = got[2]
        for answers in self.answers:
            fields = dict(PAGE_FIELDS.findall(html))
            form = {**fields, **answers, "nav": "next"}
            got = self.until_ok("POST", f"/s/{SURVEY}", form, 302)
            if got is None:
                return
            location = got[1]["Location"]
            if "/thanks" in location:
                key = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["r"][0]
                with self.tally.lock:
                    self.tally.acknowledged += 1
                    self.tally.keys.append(key)
                return
            got = self.until_ok(
                "GET",
                urllib.parse.urlsplit(location).path + "?" + urllib.parse.urlsplit(location).query,
                None,
                200,
            )
            if got is None:
                return
            html = got[2]


def page_answers(database_url: str) -> list[dict]:
    """Form data answering every page of servqual-22 (the same for everyone)."""
    sys.path.insert(0, str(ROOT))
    from questionnaires import SHIPPED_DIR, load_questionnaire

    q = load_questionnaire(SHIPPED_DIR / f"{SURVEY}.yaml")
    pages = []
    for page in q.pages:
        form: dict = {}
        for slot in page.slots:
            item = slot.item
            if item.scale is not None:
                form[f"q_{slot.name}"] = str(min(max(5, item.scale.min), item.scale.max))
            elif item.choices and item.type.numeric and len(slot.columns) == 1:
                form[f"q_{slot.name}"] = item.choices[0].id
            elif not item.type.numeric:
                form[f"q_{slot.name}"] = "fine"
        pages.append(form)
    return pages


def customers_while(port: int, answers: list[dict], count: int, fault, seconds: float) -> Tally:
    """``count`` customers take the survey again and again while ``fault()`` runs."""
    tally, stop = Tally(), threading.Event()

    def loop() -> None:
        while not stop.is_set():
            Customer(port, answers, tally, stop).take()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    fault()
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return tally


# -- the stack -----------------------------------------------------------------------------
class Stack:
    def __init__(self, port: int) -> None:
        self.port = port
        self.up_output = ""  # of the last up

    def up(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self.up_output = subprocess.run(
            ["bash", "scripts/production.sh", "up", "--instances", "2", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout
        password = (STATE / "db_password").read_text().strip()
        self.database_url = f"postgresql://survey:{password}@127.0.0.1:5433/survey"

    def down(self) -> None:
        subprocess.run(
            ["bash", "scripts/production.sh", "down"],
            cwd=ROOT,
            check=False,
            stdout=subprocess.DEVNULL,
        )

    def flask(self, *args: str) -> str:
        return run(
            str(ROOT / ".venv/bin/flask"),
            "--app",
            "survey_app",
            *args,
            env={"DATABASE_URL": self.database_url},
        )

    def sql(self, statement: str, superuser: bool = False) -> str:
        pg = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        if superuser:  # from the postgres database: ALTER DATABASE survey works read-only too
            url = "postgresql://postgres@127.0.0.1:5433/postgres"
            env = {"PGPASSWORD": (STATE / "pg_superuser").read_text().strip()}
        else:
            url, env = self.database_url, {}
        return run(str(pg / "psql"), url, "-qAt", "-c", statement, env=env).strip()

    def pg_ctl(self, *args: str) -> None:
        pg = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1]
        command = [str(pg / "pg_ctl"), "-D", str(STATE / "pgdata"), "-w", "-t", "60", *args]
        if os.getuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def masters(self) -> list[int]:
        return [int(p.read_text()) for p in sorted((STATE / "run").glob("gunicorn-*.pid"))]

    def reports_master(self) -> int:
        return int((STATE / "run" / "reports.pid").read_text())

    def status(self) -> tuple[int, str]:
        done = subprocess.run(
            ["bash", "scripts/production.sh", "status"], cwd=ROOT, capture_output=True, text=True
        )
        return done.returncode, done.stdout

    def served_by(self, path: str) -> tuple[int, str]:
        """(the answer's status, which process's log has its request id: "reports",
        "gunicorn-1", ... or "" when none)."""
        browser = Browser(self.port)
        status = browser.request("GET", path)[0]
        return status, answered_by(browser.request_ids)[0]

    def healthz(self) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            return response.status, response.headers.get("Cache-Control", "")
        except OSError:
            return 0, ""
        finally:
            connection.close()

    def complete_keys(self) -> list[str]:
        rows = self.sql(
            f"SELECT key FROM response WHERE survey_id = '{SURVEY}' AND status = 'complete'"
        )
        return rows.splitlines() if rows else []


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def report(name: str, tally: Tally, stored_before: set[str], stored_after: list[str]) -> bool:
    new = [k for k in stored_after if k not in stored_before]
    counts = Counter(new)
    duplicates = sum(c - 1 for c in counts.values())
    lost = sum(1 for key in tally.keys if key not in counts)
    extra = len(set(new) - set(tally.keys))  # stored but never acknowledged: fine, unseen
    bad = {k: v for k, v in tally.statuses.items() if k in (500, "traceback")}
    print(
        f"{name:34s} sent {tally.sent:5d}  acknowledged {tally.acknowledged:4d}  "
        f"stored {len(new):4d}  duplicates {duplicates}  lost {lost}   "
        f"(stored, thanks unseen: {extra}; answers: "
        f"{', '.join(f'{k}: {v}' for k, v in sorted(tally.statuses.items(), key=str))})"
    )
    return duplicates == 0 and lost == 0 and not bad


# -- the scenarios ---------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--customers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=12, help="load after each fault")
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    args = parser.parse_args()

    stack = Stack(args.port)
    started = time.monotonic()
    stack.up()
    up_seconds, first_up = time.monotonic() - started, stack.up_output
    ok = True
    try:
        # a run stopped half-way may have left the database read-only
        stack.sql("ALTER DATABASE survey SET default_transaction_read_only = off", True)
        stack.flask("load-questionnaire", f"questionnaires/{SURVEY}.yaml")
        answers = page_answers(stack.database_url)
        ok &= run_checks(stack, args.port, (up_seconds, first_up), answers[0])
        print(f"{args.customers} customers through nginx on port {args.port}, 2 instances:\n")

        def scenario(name: str, fault, after=None) -> None:
            nonlocal ok
            print(time.strftime("%H:%M:%S"), end=" ")
            before = set(stack.complete_keys())
            tally = customers_while(args.port, answers, args.customers, fault, args.seconds)
            if after is not None:
                after()
            ok &= report(name, tally, before, stack.complete_keys())
            if tally.acknowledged == 0:  # the service must work again after each fault
                print(f"{'':34s} no customer finished: the service did not recover")
                ok = False

        scenario("no fault (baseline)", lambda: None)
        scenario(
            "SIGKILL of a gunicorn worker",
            lambda: os.kill(children(stack.masters()[0])[0], signal.SIGKILL),
        )

        def kill_instance() -> None:
            master = stack.masters()[1]
            workers = children(master)
            for pid in [master, *workers]:
                os.kill(pid, signal.SIGKILL)
            time.sleep(4)
            stack.up()  # brings the missing instance back, keeps the other

        scenario("SIGKILL of a whole instance", kill_instance)

        # The reports go to their own process; while it is down the instances answer them,
        # `status` says so, and `up` brings it back keeping the instances' masters.
        stack_checks: dict = {"before": stack.served_by(f"/reports/{SURVEY}")}

        def kill_reports() -> None:
            stack_checks["masters"] = stack.masters()
            master = stack.reports_master()
            for pid in [master, *children(master)]:
                os.kill(pid, signal.SIGKILL)
            time.sleep(3)
            stack_checks["down"] = stack.served_by(f"/reports/{SURVEY}")
            stack_checks["status_down"] = stack.status()
            stack.up()
            stack_checks["status_up"] = stack.status()
            stack_checks["after"] = stack.served_by(f"/reports/{SURVEY}")

        scenario("SIGKILL of the reports' process", kill_reports)
        ok &= reports_process_checks(stack, stack_checks)

        outage: dict = {}

        def restart_postgres() -> None:
            stack.pg_ctl("stop", "-m", "fast")
            time.sleep(1)
            outage["healthz"] = stack.healthz()
            time.sleep(3)
            stack.pg_ctl("start", "-l", str(STATE / "pgdata" / "server.log"))
            start = time.time()
            while stack.healthz()[0] != 200 and time.time() - start < 60:
                time.sleep(0.2)
            outage["recovered_in"] = time.time() - start

        scenario("PostgreSQL restarted", restart_postgres)
        status, cache = outage["healthz"]
        print(
            f"{'':34s} /healthz during the outage: {status} ({cache}); "
            f"healthy again {outage['recovered_in']:.1f} s after the restart"
        )
        ok &= status == 503 and cache == "no-store" and outage["recovered_in"] < 15

        def read_only() -> None:
            stack.sql("ALTER DATABASE survey SET default_transaction_read_only = on", True)
            stack.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'survey' AND pid <> pg_backend_pid()",
                True,
            )
            time.sleep(4)
            stack.sql("ALTER DATABASE survey SET default_transaction_read_only = off", True)
            stack.sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'survey' AND pid <> pg_backend_pid()",
                True,
            )

        scenario("database read-only for 4 s", read_only)
        ok &= disk_full(args)
    finally:
        if not args.keep:
            stack.down()
    ok &= external_database(args)
    print("\nresult:", "nothing lost, nothing stored twice" if ok else "FAILED")
    return 0 if ok else 1


def external_database(args) -> bool:
    """The stack on a PostgreSQL server it did not start: the test server of
    ``scripts/test.sh`` (``TEST_POSTGRES_URL``), a database of its own there."""
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        print("external database: no TEST_POSTGRES_URL: not run")
        return os.environ.get("CI") is None
    return print_checks(
        [("an external database", lambda: check_external_database(server, args.port + 2))]
    )


def reports_process_checks(stack: Stack, checks: dict) -> bool:
    """Print and judge what ``kill_reports`` saw."""
    down_code, down_text = checks["status_down"]
    up_code, up_text = checks["status_up"]
    findings = [
        ("a report page served by the reports' process", checks["before"][1] == "reports"),
        (
            "while it is down, by an instance (no 502)",
            checks["down"][0] < 500 and checks["down"][1].isdigit(),
        ),
        (
            "status then exits 1 and lists it not running",
            down_code == 1
            and re.search(r"^reports( \d+)? \(not running\)", down_text, re.M) is not None,
        ),
        ("up again: status exits 0 and lists it", up_code == 0 and "\nreports " in up_text),
        ("up again kept the instances' masters", stack.masters() == checks["masters"]),
        ("served by the reports' process again", checks["after"][1] == "reports"),
    ]
    for label, good in findings:
        print(f"{'':34s} {label}: {'yes' if good else 'NO'}")
    if not all(good for _, good in findings):
        print(f"{'':34s} (seen: {checks})")
    return all(good for _, good in findings)


def disk_full(args) -> bool:
    """SQLite on an 8 MB tmpfs, served by one gunicorn: fill the disk, answer, free it."""
    mount = Path(tempfile.mkdtemp(prefix="survey-diskfull-"))
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], check=True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        print("disk full: cannot mount a tmpfs here (needs root): not run")
        return os.environ.get("CI") is None
    port = args.port + 1
    env = {
        "DATABASE_URL": f"sqlite:///{mount}/survey.sqlite",
        "SECRET_KEY": "fault-test-" + "x" * 32,
        "SURVEY_BASE_URL": f"http://127.0.0.1:{port}",
    }
    server = None
    try:
        flask = [str(ROOT / ".venv/bin/flask"), "--app", "survey_app"]
        run(*flask, "init-db", env=env)
        run(*flask, "load-questionnaire", f"questionnaires/{SURVEY}.yaml", env=env)
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-c",
                "gunicorn.conf.py",
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--no-control-socket",
                "survey_app:create_app()",
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        answers = page_answers(env["DATABASE_URL"])
        filler = mount / "filler"

        def fill() -> None:
            # Unbuffered: a buffered file would raise ENOSPC again when it is closed.
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                while True:
                    os.write(fd, b"\0" * 65536)
            except OSError:
                pass
            finally:
                os.close(fd)
            time.sleep(4)
            filler.unlink()

        def keys() -> list[str]:
            import sqlite3

            conn = sqlite3.connect(f"{mount}/survey.sqlite")
            try:
                query = "SELECT key FROM response WHERE status = 'complete'"
                return [r[0] for r in conn.execute(query)]
            finally:
                conn.close()

        before = set(keys())
        tally = customers_while(port, answers, 4, fill, args.seconds)
        good = report("disk full for 4 s (SQLite)", tally, before, keys())
        return good and tally.acknowledged > 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        subprocess.run(["umount", str(mount)], check=False)
        shutil.rmtree(mount, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
