"""What the production stack promises, checked through its nginx (``faults.py`` runs these
right after ``up``, before its faults; CI runs ``faults.py``).

- ``up`` took less than 180 s and, on a fresh database (as in CI), loaded the shipped
  questionnaires, which nginx then serves;
  ``status`` exits 0 with one line and pid per process; a second ``up`` with the same
  arguments keeps every master (same pids);
- nginx serves ``/static/`` and plotly.js itself, with expiry headers and its ``Server``
  header, and gzips HTML, CSS and JS when asked; a body over its size limit gets 413;
- ``up`` on a server named by ``DATABASE_URL`` starts no PostgreSQL, and ``down`` leaves
  that server running (``faults.py`` runs this one after its faults, on the test server);
- two instances, round robin: a staff login, its session and a survey form's CSRF token
  work whichever instance answers, and a rate limit counts the posts both instances
  answered (one count, in Redis).

Each check prints ``label: yes`` or ``label: NO`` with what was seen.
"""

from __future__ import annotations

import gzip
import http.client
import http.cookies
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / "instance" / "production"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]*)"')
PAGE_FIELDS = re.compile(r'<input[^>]*name="(csrf_token|rk|page)"[^>]*value="([^"]*)"')


class Browser:
    """Cookies, and the request id of every answer (to find the process that answered)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.request_ids: list[str] = []

    def request(
        self, method: str, path: str, form: dict | None = None, headers: dict | None = None
    ) -> tuple[int, Any, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        sent.update(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        self.request_ids.append(response.headers.get("X-Request-ID", ""))
        return response.status, response.headers, data

    def text(self, path: str) -> str:
        return self.request("GET", path)[2].decode("utf-8", "replace")


def answered_by(request_ids: list[str]) -> list[str]:
    """The process whose log holds each request id ("1", "2", "reports"; "" if none)."""
    time.sleep(0.5)  # gunicorn writes the access line after the answer
    logs = {
        log.stem.removeprefix("gunicorn-"): log.read_text(errors="replace")
        for log in sorted((STATE / "log").glob("gunicorn-*.log"))
    }
    return [
        next((name for name, text in logs.items() if rid and rid in text), "")
        for rid in request_ids
    ]


def check_processes(stack: Any, first_up: tuple[float, str]) -> list[tuple[str, bool, str]]:
    up_seconds, up_output = first_up
    browser = Browser(stack.port)
    shipped = sorted(path.stem for path in (ROOT / "questionnaires").glob("*.yaml"))
    loaded = re.findall(r"^production: survey: \S+/s/(\S+)$", up_output, re.M)
    served = {name: browser.request("GET", f"/s/{name}")[0] for name in loaded}
    code, listing = stack.status()
    names = dict(re.findall(r"^(\S+) (\d+)$", listing, re.M))
    masters = (stack.masters(), stack.reports_master(), names.get("nginx"))
    stack.up()
    again = (stack.masters(), stack.reports_master(), stack.status()[1])
    wanted = ["nginx", "gunicorn-1", "gunicorn-2", "reports", "postgresql"]
    if not os.environ.get("RATELIMIT_STORAGE_URI"):  # else up starts no Redis of its own
        wanted.append("redis")
    return [
        (f"up took {up_seconds:.0f} s (goal < 180 s)", up_seconds < 180, ""),
        (
            "a fresh database: up loaded the shipped questionnaires, nginx serves them"
            if loaded
            else "the database held surveys already: up loaded none (not checked here)",
            not loaded or (loaded == shipped and set(served.values()) == {200}),
            f"loaded {loaded}, served {served}",
        ),
        (
            "status exits 0, one line with a pid per process",
            code == 0 and all(name in names for name in wanted),
            listing.strip().replace("\n", "; "),
        ),
        (
            "a second up keeps every master (same pids)",
            again[:2] == masters[:2] and f"nginx {masters[2]}" in again[2],
            f"{masters[:2]} -> {again[:2]}",
        ),
    ]


def served_by_nginx(headers: Any) -> bool:
    """nginx answered from the disk: its Server header and expiry headers, and no request
    id (every answer of the app carries one)."""
    return (
        headers.get("Server", "").startswith("nginx")
        and "X-Request-ID" not in headers
        and headers.get("Expires") is not None
        and "max-age=" in headers.get("Cache-Control", "")
        and headers.get("Last-Modified") is not None
    )


def check_nginx(port: int) -> list[tuple[str, bool, str]]:
    import plotly

    # the URL the report pages ask for (templates/reports/base.html)
    plotly_path = f"/reports/assets/plotly.min.js?v={plotly.__version__}"
    installed = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    browser = Browser(port)
    zipped = {"Accept-Encoding": "gzip"}
    css_status, css, css_body = browser.request("GET", "/static/style.css", headers=zipped)
    js_status, js, js_body = browser.request("GET", plotly_path, headers=zipped)
    plain_status, _, plain_js = browser.request("GET", plotly_path)
    html_status, html, html_body = browser.request("GET", "/s/servqual-22", headers=zipped)
    findings = [
        (
            "/static/ served by nginx itself, Expires and max-age",
            css_status == 200 and served_by_nginx(css),
            f"{css_status} {dict(css)}",
        ),
        (
            f"plotly.js ({plotly_path}) served by nginx itself, from the installed package",
            js_status == plain_status == 200
            and served_by_nginx(js)
            and plain_js == installed.read_bytes(),
            f"{js_status} {dict(js)}",
        ),
        (
            "gzip when asked: HTML, CSS, JS",
            all(h.get("Content-Encoding") == "gzip" for h in (html, css, js))
            and gzip.decompress(js_body) == plain_js
            and html_status == 200
            and b"csrf_token" in gzip.decompress(html_body),
            ", ".join(f"{h.get('Content-Encoding')}" for h in (html, css, js)),
        ),
    ]
    # a body over client_max_body_size: refused from its Content-Length, not read
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", "/s/servqual-22")
        connection.putheader("Content-Type", "application/octet-stream")
        connection.putheader("Content-Length", str(300 * 1024 * 1024))
        connection.endheaders()
        connection.send(b"x" * 1024)
        too_large = connection.getresponse()
        too_large.read()
    finally:
        connection.close()
    findings.append(
        ("a 300 MB body refused by nginx (413)", too_large.status == 413, str(too_large.status))
    )
    return findings


def check_scale_out(stack: Any, port: int, first_page: dict) -> list[tuple[str, bool, str]]:
    email = f"stack-check-{secrets.token_hex(4)}@example.org"
    password = secrets.token_urlsafe(16)
    created = subprocess.run(
        ["bash", "scripts/production.sh", "flask", "create-user", email]
        + ["--role", "manager", "--unit", "default"],
        input=password + "\n",
        cwd=ROOT,
        text=True,
        capture_output=True,
    )
    findings = [
        (
            "an account made with production.sh flask create-user",
            created.returncode == 0,
            created.stdout + created.stderr,
        )
    ]

    # a login, then its session on both instances
    staff = Browser(port)
    token = CSRF.search(staff.text("/login")).group(1)
    login = staff.request(
        "POST", "/login", {"csrf_token": token, "email": email, "password": password}
    )
    pages = [staff.request("GET", "/staff/")[0] for _ in range(4)]
    by = answered_by(staff.request_ids)
    findings.append(
        (
            "a login, then its session on both instances",
            login[0] == 302 and pages == [200] * 4 and {"1", "2"} <= set(by[2:]),
            f"login {login[0]}, pages {pages}, answered by {by}",
        )
    )

    # a survey form from one instance, posted to the other
    crossed, seen = False, []
    for _ in range(6):
        customer = Browser(port)
        page = customer.text("/s/servqual-22")
        fields = dict(PAGE_FIELDS.findall(page))
        posted = customer.request("POST", "/s/servqual-22", {**fields, **first_page, "nav": "next"})
        by = answered_by(customer.request_ids)
        seen.append((by, posted[0]))
        if by[0] and by[1] and by[0] != by[1]:
            crossed = posted[0] == 302 and "/s/servqual-22" in posted[1].get("Location", "")
            break
    findings.append(("a form's CSRF token accepted by the other instance", crossed, str(seen)))

    # one count of a rate limit: 10 login posts a minute per address, whichever answers
    # (the login above was the first post of this address's minute)
    attacker = Browser(port)
    token = CSRF.search(attacker.text("/login")).group(1)
    statuses = [
        attacker.request(
            "POST", "/login", {"csrf_token": token, "email": "nobody@example.org", "password": "x"}
        )[0]
        for _ in range(11)
    ]
    by = answered_by(attacker.request_ids[1:])
    findings.append(
        (
            "a rate limit counts the posts of both instances (10th refused, 429)",
            statuses == [200] * 9 + [429] * 2 and {"1", "2"} <= set(by),
            f"{statuses}, answered by {by}",
        )
    )
    return findings


def check_external_database(server_url: str, port: int) -> list[tuple[str, bool, str]]:
    """``up`` with ``DATABASE_URL`` naming a server it did not start (a new database there,
    its own state directory and ports): migrations and questionnaires on that server, no
    PostgreSQL of its own; ``down`` leaves the server running with what was stored."""
    psql = str(sorted(Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1])
    name = f"stack_check_{secrets.token_hex(4)}"
    url = server_url.rsplit("/", 1)[0] + "/" + name
    state = tempfile.mkdtemp(prefix="survey-external-")
    env = {
        **{k: v for k, v in os.environ.items() if k != "RATELIMIT_STORAGE_URI"},
        "DATABASE_URL": url,
        "SURVEY_STATE_DIR": state,
        "SURVEY_APP_PORT_BASE": str(port + 200),
    }

    def script(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "scripts/production.sh", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )

    def surveys() -> str:
        done = subprocess.run(
            [psql, url, "-qAtc", "SELECT count(*) FROM survey"], capture_output=True, text=True
        )
        return done.stdout.strip() or done.stderr.strip()

    subprocess.run([psql, server_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        up = script("up", "--port", str(port))
        served = Browser(port).request("GET", "/s/servqual-22")[0] if up.returncode == 0 else 0
        status = script("status")
        down = script("down")
        after = surveys()
        shipped = len(list((ROOT / "questionnaires").glob("*.yaml")))
        return [
            (
                "up on an external DATABASE_URL: migrated, questionnaires loaded, served",
                up.returncode == 0 and served == 200,
                f"up {up.returncode}, /s/servqual-22 {served}: {up.stderr[-500:]}",
            ),
            (
                "status lists no PostgreSQL of its own",
                status.returncode == 0 and "postgresql" not in status.stdout,
                status.stdout,
            ),
            (
                "down leaves the server running, with what was stored",
                down.returncode == 0 and after == str(shipped),
                f"down {down.returncode}; surveys after down: {after}",
            ),
        ]
    finally:
        script("down")
        subprocess.run([psql, server_url, "-qc", f"DROP DATABASE IF EXISTS {name}"])
        shutil.rmtree(state, ignore_errors=True)


def run_checks(stack: Any, port: int, first_up: tuple[float, str], first_page: dict) -> bool:
    """Print every finding; whether all hold. ``first_up``: the seconds the first ``up``
    took and what it printed; ``first_page``: form data answering the first page of
    servqual-22 (loaded)."""
    return print_checks(
        [
            ("processes", lambda: check_processes(stack, first_up)),
            ("nginx", lambda: check_nginx(port)),
            ("two instances", lambda: check_scale_out(stack, port, first_page)),
        ]
    )


def print_checks(groups: list[tuple[str, Callable[[], list[tuple[str, bool, str]]]]]) -> bool:
    ok = True
    for title, check in groups:
        print(f"{time.strftime('%H:%M:%S')} the stack: {title}")
        for label, good, seen in check():
            print(f"{'':9s}{label}: {'yes' if good else 'NO'}")
            if not good:
                print(f"{'':9s}  (seen: {seen})")
            ok &= good
    return ok
