#!/usr/bin/env bash
# One command for a production stack on this machine, from Debian packages:
# PostgreSQL (a local cluster, unless DATABASE_URL names another server), the
# migrations, N gunicorn instances, one gunicorn process for the reports and nginx in
# front; Redis for shared rate limits when N > 1.
#
#   bash scripts/production.sh up [--instances N] [--port P] [--replica]
#                                      # start (again: keeps what runs); --replica: a streaming
#                                      # replica of the local cluster that reports read
#   bash scripts/production.sh status                          # exit 0 while the stack runs
#   bash scripts/production.sh down                            # stop what `up` started
#   bash scripts/production.sh backup FILE                     # pg_dump, custom format
#   bash scripts/production.sh restore FILE                    # into an empty database
#   bash scripts/production.sh flask COMMAND ...               # the app's CLI on the stack
#
# Everything this checkout starts lives in instance/production/ (configuration, pids,
# logs, the local cluster's data). Settings come from the environment (README table).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
STATE=${SURVEY_STATE_DIR:-$ROOT/instance/production}
PG_PORT=${SURVEY_PG_PORT:-5433}
REPLICA_PORT=${SURVEY_REPLICA_PORT:-$((PG_PORT + 1))}
REDIS_PORT=${SURVEY_REDIS_PORT:-6380}
APP_PORT_BASE=${SURVEY_APP_PORT_BASE:-8100}  # the reports' process; instance i on BASE + i
REPORT_THREADS=${REPORT_THREADS:-8}

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    SUDO="sudo"
fi
can_install() { [ "$(id -u)" -eq 0 ] || [ -n "$SUDO" ]; }
say() { echo "production: $*"; }
die() { echo "production: error: $*" >&2; exit 1; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
# (no check first: nginx removes its pid file as it exits, between a check and the read)
pid_of() { { tr -dc '0-9' <"$1"; } 2>/dev/null || true; }

# -- installing ------------------------------------------------------------------------
install_packages() {
    local missing=() pkg
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    can_install || die "missing Debian packages: ${missing[*]} (install them, or run as root)"
    say "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_python() {
    [ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
    # the dependencies of pyproject.toml as installed last time: pip is skipped (it took
    # about 90 s under load on every up, a second up and an instance restart included)
    local stamp=.venv/.production-installed want
    want=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
        && .venv/bin/python -c 'import gunicorn, survey_app' 2>/dev/null; then
        say "python packages: installed (pyproject.toml unchanged)"
        return 0
    fi
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[production]"
    echo "$want" >"$stamp"
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1; }
as_pg() {  # PostgreSQL refuses to run as root: the cluster belongs to the postgres user
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# -- PostgreSQL ----------------------------------------------------------------------------
start_postgres() {
    local bin data="$STATE/pgdata" password_file="$STATE/db_password" super="$STATE/pg_superuser"
    bin=$(pg_bin)
    [ -s "$super" ] || (umask 077; head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$super")
    if [ ! -s "$data/PG_VERSION" ]; then
        say "creating a PostgreSQL cluster in $data"
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$data" "$STATE/run"
        chmod 700 "$data"
        local pwfile="$STATE/run/.initdb-password"
        cp "$super" "$pwfile"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$pwfile"
        as_pg "$bin/initdb" -D "$data" -U postgres -A scram-sha-256 --pwfile="$pwfile" \
            -E UTF8 --locale=C.UTF-8 >"$STATE/log/initdb.log"
        rm -f "$pwfile"
        cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$STATE/run'
max_connections = 200
shared_buffers = 256MB
CONF
    fi
    if ! alive "$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"; then
        as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
    fi
    if [ ! -s "$password_file" ]; then
        (umask 077; head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 >"$password_file")
    fi
    local password
    password=$(cat "$password_file")
    PGPASSWORD=$(cat "$super") "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qAt \
        -v ON_ERROR_STOP=1 -v pw="$password" >/dev/null <<'SQL'
SELECT 'CREATE ROLE survey LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'survey')
\gexec
ALTER ROLE survey PASSWORD :'pw';
SELECT 'CREATE DATABASE survey OWNER survey' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'survey')
\gexec
SQL
    DATABASE_URL=$(local_database_url)
    export DATABASE_URL
    echo "local" >"$STATE/postgres.mode"
}

# A hot standby of the local cluster (pg_basebackup -R: streaming replication), on its
# own port; reports and exports read it (REPORTS_DATABASE_URL). Its replication slot
# keeps the WAL it still needs while it is stopped (down, then up again);
# hot_standby_feedback keeps the primary's vacuum from cancelling a long export's
# snapshot on the standby.
SLOT=survey_replica
pg_super() {
    PGPASSWORD=$(cat "$STATE/pg_superuser") "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 -c "$1"
}

start_replica() {
    local bin data="$STATE/pgreplica" super="$STATE/pg_superuser"
    bin=$(pg_bin)
    if [ ! -s "$data/PG_VERSION" ]; then
        say "making a streaming replica in $data (pg_basebackup)"
        pg_super "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
        chmod 700 "$data"
        # the password goes to the standby's primary_conninfo (in its data folder, 0600)
        as_pg env PGPASSWORD="$(cat "$super")" "$bin/pg_basebackup" -h 127.0.0.1 -p "$PG_PORT" \
            -U postgres -D "$data" -R -X stream -C -S "$SLOT" -c fast \
            >"$STATE/log/basebackup.log" 2>&1 \
            || die "pg_basebackup failed: $(tail -n 3 "$STATE/log/basebackup.log")"
        cat >>"$data/postgresql.conf" <<CONF
port = $REPLICA_PORT
hot_standby = on
hot_standby_feedback = on
CONF
    fi
    if ! alive "$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"; then
        as_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
    fi
    export REPORTS_DATABASE_URL="postgresql://survey:$(cat "$STATE/db_password")@127.0.0.1:$REPLICA_PORT/survey"
    echo "replica" >"$STATE/replica.mode"
}

stop_replica() {
    if [ -s "$STATE/pgreplica/PG_VERSION" ]; then
        as_pg "$(pg_bin)/pg_ctl" -D "$STATE/pgreplica" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
}

remove_replica() {  # `up` without --replica: the copy and its slot go (no WAL kept for it)
    [ -d "$STATE/pgreplica" ] || [ -f "$STATE/replica.mode" ] || return 0
    say "removing the replica (up without --replica)"
    stop_replica
    pg_super "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
    rm -rf "$STATE/pgreplica" "$STATE/replica.mode"
}

# -- Redis, gunicorn, nginx --------------------------------------------------------------
start_redis() {
    if ! alive "$(pid_of "$STATE/run/redis.pid")"; then
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
            --appendonly no --pidfile "$STATE/run/redis.pid" --logfile "$STATE/log/redis.log" \
            --dir "$STATE"
        for _ in $(seq 1 50); do alive "$(pid_of "$STATE/run/redis.pid")" && break; sleep 0.1; done
    fi
    export RATELIMIT_STORAGE_URI="redis://127.0.0.1:$REDIS_PORT"
}

# One gunicorn master with the checkout as working directory: run/$1.pid and run/$1.ctl,
# log/gunicorn-$2.log, process name survey-$2, port $3, $4 worker processes; the other
# arguments are more gunicorn options. A running master is kept (a second `up`).
# NUMPY_MADVISE_HUGEPAGE=0: numpy asks the kernel for huge pages for every large array, and
# where transparent huge pages are on `madvise` with `defrag` on `madvise` (this machine's
# /sys/kernel/mm/transparent_hugepage) each fresh one may wait while the kernel compacts
# memory: at 1M responses an append's copy of the report frame took 1.1-1.6 s instead of
# 0.2 s, a filter's copy of 400k rows 0.3-0.6 s instead of 0.1 s (set it to 1 to keep them).
start_master() {
    local run=$1 name=$2 port=$3 workers=$4 pidfile="$STATE/run/$1.pid"
    shift 4
    alive "$(pid_of "$pidfile")" && return 0
    rm -f "$pidfile" "$STATE/run/$run.ctl"
    NUMPY_MADVISE_HUGEPAGE=${NUMPY_MADVISE_HUGEPAGE:-0} \
        WEB_CONCURRENCY=$workers BIND="127.0.0.1:$port" .venv/bin/gunicorn \
        -c "$ROOT/gunicorn.conf.py" --chdir "$ROOT" --daemon --pid "$pidfile" \
        --error-logfile "$STATE/log/gunicorn-$name.log" --capture-output \
        --control-socket "$STATE/run/$run.ctl" --name "survey-$name" "$@" \
        "survey_app:create_app()"
}

start_instances() {
    local n=$1 cores workers i pidfile
    cores=$(nproc)
    workers=${WEB_CONCURRENCY:-$(( (2 * cores + n - 1) / n ))}
    for i in $(seq 1 "$n"); do
        start_master "gunicorn-$i" "$i" $((APP_PORT_BASE + i)) "$workers"
    done
    # instances beyond N from an earlier `up` are stopped
    for pidfile in "$STATE"/run/gunicorn-*.pid; do
        [ -e "$pidfile" ] || continue
        i=${pidfile##*-}; i=${i%.pid}
        if [ "$i" -gt "$n" ]; then stop_pid "$pidfile" TERM 30; fi
    done
}

# The reports (pages, data.json, the API's analysis) go to one process per machine: one
# copy of a survey's analysis frame in memory and one computation per report, instead of
# one in every worker of every instance (at 1M responses: 0.5 GB and a second of CPU
# each). nginx sends them to the instances only while this process is down.
start_reports() {
    start_master reports reports "$APP_PORT_BASE" 1 --worker-class gthread --threads "$REPORT_THREADS"
}

write_nginx_conf() {
    local n=$1 port=$2 upstreams="" backups="" i plotly_js plotly_block=""
    for i in $(seq 1 "$n"); do
        upstreams+="        server 127.0.0.1:$((APP_PORT_BASE + i)) max_fails=1 fail_timeout=2s;"$'\n'
        backups+="        server 127.0.0.1:$((APP_PORT_BASE + i)) backup;"$'\n'
    done
    local reports="        server 127.0.0.1:$APP_PORT_BASE max_fails=1 fail_timeout=2s;"$'\n'"$backups"
    plotly_js=$(.venv/bin/python -c 'import plotly, pathlib; p = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"; print(p if p.exists() else "")')
    if [ -n "$plotly_js" ]; then
        # the URL the report pages ask for (the app serves it too, without nginx); the
        # pages add ?v=<plotly version>, so a new plotly is fetched anew
        plotly_block="        location = /reports/assets/plotly.min.js {
            alias $plotly_js;
            expires 365d;
        }"
    fi
    STATE="$STATE" ROOT="$ROOT" LISTEN="$port" UPSTREAMS="$upstreams" REPORTS="$reports" \
        PLOTLY="$plotly_block" .venv/bin/python - "$ROOT/scripts/production/nginx.conf.template" "$STATE/nginx.conf" <<'PY'
import os, sys
text = open(sys.argv[1]).read()
for key in ("STATE", "ROOT", "LISTEN", "UPSTREAMS", "REPORTS", "PLOTLY"):
    text = text.replace(f"@{key}@", os.environ[key].rstrip("\n"))
open(sys.argv[2], "w").write(text)
PY
}

start_nginx() {
    mkdir -p "$STATE"/nginx/{body,proxy,fastcgi,uwsgi,scgi} "$STATE/nginx.d"
    nginx -t -q -c "$STATE/nginx.conf" -p "$STATE" 2>"$STATE/log/nginx-test.log" \
        || die "nginx configuration: $(cat "$STATE/log/nginx-test.log")"
    if alive "$(pid_of "$STATE/run/nginx.pid")"; then
        nginx -c "$STATE/nginx.conf" -p "$STATE" -s reload
    else
        nginx -c "$STATE/nginx.conf" -p "$STATE"
    fi
}

# Every instance's own port (the reports' too), then nginx's, then the pid files. nginx is
# asked last: asked while the instances still boot, it marks them failed, and the first
# customers after `up` got 502 "no live upstreams" (nginx lets one request at a time try
# a failed server again).
wait_healthy() {
    local port=$1 n=$2 i target
    for target in $(for i in $(seq 0 "$n"); do echo $((APP_PORT_BASE + i)); done) "$port"; do
        for _ in $(seq 1 240); do
            curl -fs -o /dev/null "http://127.0.0.1:$target/healthz" && break
            sleep 0.5
        done
        curl -fs -o /dev/null "http://127.0.0.1:$target/healthz" \
            || die "the service did not answer on port $target (logs in $STATE/log)"
    done
    for i in $(seq 1 "$n"); do
        for _ in $(seq 1 100); do alive "$(pid_of "$STATE/run/gunicorn-$i.pid")" && break; sleep 0.1; done
    done
}

stop_pid() {  # pidfile signal seconds
    local pid
    pid=$(pid_of "$1")
    if alive "$pid"; then
        kill "-$2" "$pid" 2>/dev/null || true
        for _ in $(seq 1 $(($3 * 10))); do alive "$pid" || break; sleep 0.1; done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

# -- commands --------------------------------------------------------------------------------
cmd_up() {
    local n=1 port=8000 replica=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --instances) n=$2; shift 2 ;;
            --port) port=$2; shift 2 ;;
            --replica) replica=1; shift ;;
            *) die "unknown option $1 (up [--instances N] [--port P] [--replica])" ;;
        esac
    done
    if [ "$replica" -eq 1 ] && [ -n "${DATABASE_URL:-}" ]; then
        die "--replica makes a replica of the local cluster; with DATABASE_URL, name your replica in REPORTS_DATABASE_URL"
    fi
    [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "--instances takes a number from 1 to 99"
    [[ "$port" =~ ^[0-9]+$ ]] || die "--port takes a port number"
    mkdir -p "$STATE/run" "$STATE/log"
    chmod 755 "$STATE" "$STATE/run"
    local packages=(nginx curl)
    [ -z "${DATABASE_URL:-}" ] && packages+=(postgresql)
    # Redis of its own for N > 1, unless RATELIMIT_STORAGE_URI names a shared one (the
    # machines of a scale-out count in one Redis)
    local own_redis=0
    [ "$n" -gt 1 ] && [ -z "${RATELIMIT_STORAGE_URI:-}" ] && own_redis=1
    [ "$own_redis" -eq 1 ] && packages+=(redis-server)
    install_packages "${packages[@]}"
    install_python
    # instances read the replica's URL when they start: a change restarts them
    local had=0 pidfile
    [ -f "$STATE/replica.mode" ] && had=1
    if [ "$had" -ne "$replica" ]; then
        for pidfile in "$STATE"/run/gunicorn-*.pid "$STATE/run/reports.pid"; do
            [ -e "$pidfile" ] && stop_pid "$pidfile" TERM 20
        done
    fi
    if [ -z "${DATABASE_URL:-}" ]; then
        start_postgres
        if [ "$replica" -eq 1 ]; then start_replica; else remove_replica; fi
    else
        echo "external" >"$STATE/postgres.mode"
    fi
    if [ "$own_redis" -eq 1 ]; then start_redis; fi
    export SURVEY_BASE_URL=${SURVEY_BASE_URL:-http://127.0.0.1:$port}
    export BEHIND_PROXY=1 LOG_FORMAT=${LOG_FORMAT:-json}
    .venv/bin/flask --app survey_app init-db >/dev/null
    load_first_questionnaires
    start_instances "$n"
    start_reports
    write_nginx_conf "$n" "$port"
    start_nginx
    printf 'instances=%s\nport=%s\n' "$n" "$port" >"$STATE/stack.conf"
    wait_healthy "$port" "$n"
    say "serving on $SURVEY_BASE_URL ($n instance(s) and the reports' process); logs in $STATE/log"
    cmd_status
}

# The first up, on a database without any survey, loads the shipped questionnaires, so that
# a new machine serves a survey at once; SURVEY_QUESTIONNAIRES names other files (a glob
# or a list; empty: none). Later ups load nothing: `flask load-questionnaire` does that.
load_first_questionnaires() {
    [ -n "$(.venv/bin/flask --app survey_app surveys)" ] && return 0
    local files
    # shellcheck disable=SC2206  # the setting is a glob or a list of paths
    files=(${SURVEY_QUESTIONNAIRES-questionnaires/*.yaml})
    [ ${#files[@]} -eq 0 ] && return 0
    .venv/bin/flask --app survey_app load-questionnaire "${files[@]}" \
        >/dev/null 2>>"$STATE/log/questionnaires.log" \
        || die "loading ${files[*]} failed (see $STATE/log/questionnaires.log)"
    local id
    for id in $(.venv/bin/flask --app survey_app surveys | cut -f1); do
        say "survey: $SURVEY_BASE_URL/s/$id"
    done
}

cmd_status() {
    [ -f "$STATE/stack.conf" ] || { say "not running (no stack started from this checkout)"; return 3; }
    local ok=0 pidfile name pid n i expected
    n=$(sed -n 's/^instances=//p' "$STATE/stack.conf")
    # what `up` started: a master that exited (its pid file gone) is listed as not running
    expected=("$STATE/run/nginx.pid")
    for i in $(seq 1 "${n:-1}"); do expected+=("$STATE/run/gunicorn-$i.pid"); done
    expected+=("$STATE/run/reports.pid")
    for pidfile in "${expected[@]}" "$STATE/run/redis.pid"; do
        name=$(basename "$pidfile" .pid)
        if [ ! -e "$pidfile" ]; then
            [ "$name" = redis ] || { echo "$name (not running)"; ok=1; }
            continue
        fi
        pid=$(pid_of "$pidfile")
        if alive "$pid"; then echo "$name $pid"; else echo "$name $pid (not running)"; ok=1; fi
    done
    if [ "$(cat "$STATE/postgres.mode" 2>/dev/null)" = "local" ]; then
        pid=$(head -n1 "$STATE/pgdata/postmaster.pid" 2>/dev/null || true)
        if alive "$pid"; then echo "postgresql $pid"; else echo "postgresql (not running)"; ok=1; fi
    fi
    if [ -f "$STATE/replica.mode" ]; then
        pid=$(head -n1 "$STATE/pgreplica/postmaster.pid" 2>/dev/null || true)
        if alive "$pid"; then echo "postgresql-replica $pid"; else echo "postgresql-replica (not running)"; ok=1; fi
    fi
    alive "$(pid_of "$STATE/run/nginx.pid")" || ok=1
    return $ok
}

cmd_down() {
    [ -d "$STATE" ] || { say "nothing to stop"; return 0; }
    if alive "$(pid_of "$STATE/run/nginx.pid")"; then
        nginx -c "$STATE/nginx.conf" -p "$STATE" -s quit 2>/dev/null || true
    fi
    stop_pid "$STATE/run/nginx.pid" QUIT 10
    local pidfile
    for pidfile in "$STATE"/run/gunicorn-*.pid "$STATE/run/reports.pid"; do
        [ -e "$pidfile" ] && stop_pid "$pidfile" TERM 20
    done
    stop_pid "$STATE/run/redis.pid" TERM 10
    stop_replica
    if [ "$(cat "$STATE/postgres.mode" 2>/dev/null)" = "local" ] && [ -s "$STATE/pgdata/PG_VERSION" ]; then
        as_pg "$(pg_bin)/pg_ctl" -D "$STATE/pgdata" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -f "$STATE/stack.conf"
    say "stopped"
}

database_url() {
    if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; return; fi
    [ -s "$STATE/db_password" ] || die "no DATABASE_URL and no local cluster (run up first)"
    local_database_url
}

local_database_url() {
    echo "postgresql://survey:$(cat "$STATE/db_password")@127.0.0.1:$PG_PORT/survey"
}

# The app's command line against the stack's database and settings, e.g.
#   bash scripts/production.sh flask load-questionnaire questionnaires/airport.yaml
cmd_flask() {
    [ -f "$STATE/postgres.mode" ] || die "no stack started from this checkout (run up first)"
    if [ "$(cat "$STATE/postgres.mode")" = local ]; then
        DATABASE_URL=$(local_database_url)
        export DATABASE_URL
    fi
    [ -n "${DATABASE_URL:-}" ] || die "the stack uses an external database: set DATABASE_URL"
    local port
    port=$(sed -n 's/^port=//p' "$STATE/stack.conf" 2>/dev/null || true)
    export SURVEY_BASE_URL=${SURVEY_BASE_URL:-http://127.0.0.1:${port:-8000}}
    exec .venv/bin/flask --app survey_app "$@"
}

cmd_backup() {
    [ $# -eq 1 ] || die "backup FILE"
    local bin
    bin=$(pg_bin)
    "$bin/pg_dump" --format=custom --no-owner --file="$1" "$(database_url)"
    say "backup written to $1 ($(du -h "$1" | cut -f1))"
}

cmd_restore() {
    [ $# -eq 1 ] || die "restore FILE"
    [ -s "$1" ] || die "no backup file $1"
    local bin url tables
    bin=$(pg_bin)
    url=$(database_url)
    tables=$("$bin/psql" "$url" -qAt -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
    [ "$tables" = "0" ] || die "the database is not empty ($tables tables): restore into an empty one"
    "$bin/pg_restore" --no-owner --exit-on-error --single-transaction --dbname="$url" "$1"
    say "restored $1"
}

command=${1:-}
shift || true
case "$command" in
    up) cmd_up "$@" ;;
    down) [ $# -eq 0 ] || die "down takes no arguments"; cmd_down ;;
    status) [ $# -eq 0 ] || die "status takes no arguments"; cmd_status ;;
    backup) cmd_backup "$@" ;;
    restore) cmd_restore "$@" ;;
    flask) cmd_flask "$@" ;;
    *) die "usage: production.sh up [--instances N] [--port P] [--replica] | down | status | backup FILE | restore FILE | flask COMMAND..." ;;
esac
