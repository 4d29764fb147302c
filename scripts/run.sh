#!/usr/bin/env bash
# Start a Celery worker in the background and the web server in the foreground; stop both on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var
# -B: the periodic checks (CELERY_BEAT_SCHEDULE, e.g. re-queueing jobs whose worker was lost) run here too.
$PY -m celery -A config worker -B -s var/celerybeat-schedule -Q default,training -c 2 -l info --without-gossip --without-mingle \
  > var/celery-worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true; wait $WORKER 2>/dev/null || true' EXIT INT TERM
echo
echo "FormLab is starting at http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/docs/)"
echo "Celery worker log: var/celery-worker.log"
echo "Demo logins:"
cat var/demo-users.txt
echo
$PY manage.py runserver "$HOST:$PORT" --noreload
