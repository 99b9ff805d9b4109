#!/usr/bin/env bash
# Stop Parley gracefully: running answers get a moment to finish and are saved.
set -euo pipefail
cd "$(dirname "$0")"
PID_FILE=".parley/parley.pid"
if [ ! -f "$PID_FILE" ]; then
  echo "Parley is not running (no $PID_FILE)."
  exit 0
fi
pid="$(cat "$PID_FILE")"
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "Parley did not stop within 30 s; killing it." >&2
    kill -KILL "$pid"
  fi
fi
rm -f "$PID_FILE"
echo "Parley stopped."
