#!/usr/bin/env bash
# Install what is missing, build the frontend and start Parley in the background.
# Settings come from PARLEY_* variables (see `parley serve --help`).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/install.sh

RUN_DIR="$REPO_ROOT/.parley"
PID_FILE="$RUN_DIR/parley.pid"
LOG_FILE="$RUN_DIR/parley.log"
mkdir -p "$RUN_DIR"

if [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
  echo "Parley is already running (pid $(cat "$PID_FILE")); ./stop_all.sh stops it."
  exit 0
fi

ensure_python
ensure_llamacpp
ensure_frontend

export PARLEY_HOST="${PARLEY_HOST:-127.0.0.1}"
export PARLEY_PORT="${PARLEY_PORT:-8000}"
export HF_HUB_OFFLINE=1
say "starting Parley (log: $LOG_FILE)"
nohup "$VENV/bin/parley" serve >>"$LOG_FILE" 2>&1 &
echo $! >"$PID_FILE"

url="http://$PARLEY_HOST:$PARLEY_PORT"
for _ in $(seq 1 120); do
  if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    echo "Parley exited during start-up; the end of its log:" >&2
    tail -n 30 "$LOG_FILE" >&2
    rm -f "$PID_FILE"
    exit 1
  fi
  if curl -fsS "$url/health" >/dev/null 2>&1; then
    echo "Parley is running at $url  (the model loads in the background; ./stop_all.sh stops it)"
    exit 0
  fi
  sleep 0.5
done
echo "Parley did not answer at $url within 60 s; see $LOG_FILE" >&2
exit 1
