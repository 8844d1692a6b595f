#!/usr/bin/env bash
# Install the project into .venv, load the shipped questionnaires with demo responses
# into SQLite (instance/survey.sqlite) and serve it on http://127.0.0.1:${PORT:-5000}.
# Safe to run again: nothing is loaded twice and responses already given are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

PORT=${PORT:-5000}
# Links the app prints and shows (resume, invitations) start with this address.
export SURVEY_BASE_URL=${SURVEY_BASE_URL:-http://127.0.0.1:$PORT}
flask() { .venv/bin/flask --app survey_app "$@"; }
flask init-db
flask load-questionnaire questionnaires/*.yaml
for survey in $(flask surveys | cut -f1); do
    flask seed-demo "$survey" --responses "${DEMO_RESPONSES:-300}" --if-empty
done
flask surveys
flask demo-accounts   # one account per role, new random passwords at every start
echo "Customers: $SURVEY_BASE_URL/   (Ctrl-C stops the service)"
exec .venv/bin/flask --app survey_app run --host 127.0.0.1 --port "$PORT"
