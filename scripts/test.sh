#!/usr/bin/env bash
# Install what the tests need and run them all: lint, then pytest on SQLite and on a
# real PostgreSQL server (started on loopback), browser tests in Debian's Chromium, and
# the analysis compared with R (psych, lavaan...) rerun on the shipped reference data.
# System packages come from apt when run as root (or with sudo); otherwise the tests
# that need them are skipped locally (under CI=true they fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql chromium fonts-noto-cjk
    r-base-core r-cran-psych r-cran-lavaan r-cran-gparotation
    r-cran-jsonlite r-cran-sandwich r-cran-car r-cran-mass
    r-cran-haven pspp)
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo"
fi
can_install() { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && can_install; then
    echo "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test,oracle]"

# PostgreSQL on loopback, unless the caller gives its own TEST_POSTGRES_URL.
if [ -z "${TEST_POSTGRES_URL:-}" ] && command -v pg_lsclusters >/dev/null && can_install; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
        $SUDO pg_createcluster "$version" main >/dev/null
    fi
    $SUDO pg_ctlcluster "$version" main start 2>/dev/null || true
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 && break
        sleep 1
    done
    as_postgres() { $SUDO runuser -u postgres -- "$@"; }
    if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'survey'")" != "1" ]; then
        as_postgres psql -qc "CREATE ROLE survey LOGIN PASSWORD 'survey' CREATEDB"
    fi
    if [ "$(as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'survey_test'")" != "1" ]; then
        as_postgres createdb -O survey survey_test
    fi
    export TEST_POSTGRES_URL="postgresql://survey:survey@127.0.0.1:5432/survey_test"
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# One test process per core (TEST_PROCESSES=0: everything in this process, e.g. for pdb)
.venv/bin/python -m pytest -n "${TEST_PROCESSES:-auto}" "$@"

# Faults under load through the production stack (nginx, gunicorn, PostgreSQL, Redis):
# nothing acknowledged lost, nothing stored twice. Needs root for its packages and a
# tmpfs; CI always runs it, elsewhere RUN_FAULTS=1 asks for it.
if { [ -n "${CI:-}" ] || [ "${RUN_FAULTS:-}" = 1 ]; } && can_install; then
    .venv/bin/python benchmarks/faults.py
fi
